// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests: GUIDs, names of hooks and verdicts, characteristics matching. */
#include <criterion/criterion.h>
#include <string.h>
#include "libnmrbpf.h"
#include "nmr_internal.h"

Test(guid, parse_and_format_round_trip)
{
	struct nmr_guid g;
	char s[NMR_GUID_STR_LEN];

	cr_assert_eq(nmr_guid_parse("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", &g), 0);
	cr_assert_eq(g.data1, 0x0a1b2c3d);
	cr_assert_eq(g.data2, 0x4e5f);
	cr_assert_eq(g.data3, 0x6071);
	cr_assert_eq(g.data4[0], 0x82);
	cr_assert_eq(g.data4[7], 0xf9);
	nmr_guid_format(&g, s);
	cr_assert_str_eq(s, "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");
}

Test(guid, braces_and_upper_case_accepted)
{
	struct nmr_guid a, b;

	cr_assert_eq(nmr_guid_parse("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}", &a), 0);
	cr_assert_eq(nmr_guid_parse("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", &b), 0);
	cr_assert(nmr_guid_equal(&a, &b));
}

Test(guid, malformed_rejected)
{
	struct nmr_guid g;
	const char *bad[] = {
		"", "0a1b2c3d", "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f", /* short */
		"0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f90",		 /* long */
		"0a1b2c3d_4e5f-6071-8293-a4b5c6d7e8f9",			 /* separator */
		"0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8fg",			 /* not hex */
		"{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",		 /* one brace */
		"0a1b2c3d4-e5f-6071-8293-a4b5c6d7e8f9",			 /* dash moved */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_neq(nmr_guid_parse(bad[i], &g), 0, "accepted '%s'", bad[i]);
}

Test(guid, generated_are_version_4_and_distinct)
{
	struct nmr_guid a, b;

	cr_assert_eq(nmr_guid_generate(&a), 0);
	cr_assert_eq(nmr_guid_generate(&b), 0);
	cr_assert_not(nmr_guid_equal(&a, &b));
	cr_assert_eq(a.data3 >> 12, 4);
	cr_assert_eq(a.data4[0] & 0xc0, 0x80);
	cr_assert_not(nmr_guid_is_null(&a));
}

Test(names, hooks_parse_and_print)
{
	enum nmr_hook h;

	cr_assert_eq(nmr_hook_parse("tc-egress", &h), 0);
	cr_assert_eq(h, NMR_HOOK_TC_EGRESS);
	cr_assert_str_eq(nmr_hook_name(NMR_HOOK_XDP), "xdp");
	cr_assert_neq(nmr_hook_parse("tc", &h), 0);
}

Test(names, xdp_verdicts_parse_into_mask)
{
	__u32 mask;
	char buf[64];

	cr_assert_eq(nmr_verdicts_parse(NMR_HOOK_XDP, "pass,drop", &mask), 0);
	cr_assert_eq(mask, NMR_VERDICT_BIT(2) | NMR_VERDICT_BIT(1));
	cr_assert_str_eq(nmr_verdicts_format(NMR_HOOK_XDP, mask, buf, sizeof(buf)), "drop,pass");
	cr_assert_eq(nmr_default_continue_on(NMR_HOOK_XDP), NMR_VERDICT_BIT(2));
}

Test(names, tc_verdicts_include_unspec_and_pass_alias)
{
	__u32 mask;
	char buf[64];

	cr_assert_eq(nmr_verdicts_parse(NMR_HOOK_TC_INGRESS, "unspec,pass,shot", &mask), 0);
	cr_assert_eq(mask, NMR_VERDICT_BIT(-1) | NMR_VERDICT_BIT(0) | NMR_VERDICT_BIT(2));
	cr_assert_str_eq(nmr_verdicts_format(NMR_HOOK_TC_INGRESS, mask, buf, sizeof(buf)),
			 "unspec,ok,shot");
}

Test(names, unknown_verdict_names_the_valid_ones)
{
	__u32 mask;

	cr_assert_neq(nmr_verdicts_parse(NMR_HOOK_XDP, "pass,shot", &mask), 0);
	cr_assert(strstr(nmr_last_error(), "unknown xdp verdict 'shot'"));
	cr_assert(strstr(nmr_last_error(), "redirect"));
}

static struct nmr_provider_characteristics prov_chars(__u32 min, __u32 max)
{
	struct nmr_provider_characteristics p = { .version_min = min, .version_max = max };

	return p;
}

Test(characteristics, version_range_decides)
{
	struct nmr_client_characteristics c = { .require_version = 3 };
	struct nmr_provider_characteristics p = prov_chars(2, 4);
	char why[NMR_REASON_LEN];

	cr_assert(nmr_characteristics_match(&c, &p, why, sizeof(why)));
	p = prov_chars(1, 2);
	cr_assert_not(nmr_characteristics_match(&c, &p, why, sizeof(why)));
	cr_assert_str_eq(why, "version: provider implements 1-2, client requires 3");
	c.require_version = 0;	/* any */
	cr_assert(nmr_characteristics_match(&c, &p, why, sizeof(why)));
}

Test(characteristics, address_families_and_tags)
{
	struct nmr_client_characteristics c = { .af_mask = NMR_AF_INET6 };
	struct nmr_provider_characteristics p = prov_chars(1, 1);
	char why[NMR_REASON_LEN];

	p.af_mask = NMR_AF_INET;
	cr_assert_not(nmr_characteristics_match(&c, &p, why, sizeof(why)));
	cr_assert(strstr(why, "address families"));
	p.af_mask = NMR_AF_INET | NMR_AF_INET6;
	cr_assert(nmr_characteristics_match(&c, &p, why, sizeof(why)));

	strcpy(c.require_tags[0], "ddos");
	cr_assert_not(nmr_characteristics_match(&c, &p, why, sizeof(why)));
	cr_assert_str_eq(why, "tags: provider lacks required tag 'ddos'");
	strcpy(p.tags[2], "ddos");
	cr_assert(nmr_characteristics_match(&c, &p, why, sizeof(why)));
}

Test(characteristics, exclusive_max_and_frags_decisions)
{
	struct nmr_client_record c = { .hook = NMR_HOOK_XDP };
	struct nmr_provider_record p = { .chars = prov_chars(1, 1) };
	char why[NMR_REASON_LEN];

	cr_assert_eq(nmr_attach_decision(&c, 5, &p, why, sizeof(why)), 1);
	c.chars.flags = NMR_CHARS_F_EXCLUSIVE;
	cr_assert_eq(nmr_attach_decision(&c, 0, &p, why, sizeof(why)), 1);
	cr_assert_eq(nmr_attach_decision(&c, 1, &p, why, sizeof(why)), 0);
	cr_assert(strstr(why, "exclusive"));
	c.chars.flags = 0;
	c.chars.max_providers = 2;
	cr_assert_eq(nmr_attach_decision(&c, 2, &p, why, sizeof(why)), 0);
	cr_assert_str_eq(why, "client takes at most 2 providers");
}

Test(characteristics, frags_mismatch_is_an_error_not_a_decline)
{
	struct nmr_client_record c = { .hook = NMR_HOOK_XDP, .name = "c" };
	struct nmr_provider_record p = { .flags = NMR_PROVIDER_F_FRAGS, .name = "p" };

	cr_assert_neq(nmr_frags_check(&c, &p), 0);
	cr_assert(strstr(nmr_last_error(), "register the client with --xdp-frags"));
	c.flags = NMR_CLIENT_F_FRAGS;
	cr_assert_eq(nmr_frags_check(&c, &p), 0);
	p.flags = 0;
	cr_assert_lt(nmr_frags_check(&c, &p), 0, "a plain provider bound to a frags client");
	cr_assert(strstr(nmr_last_error(), "build the provider with SEC(\"xdp.frags\")"), "%s",
		  nmr_last_error());
	c.hook = NMR_HOOK_TC_INGRESS;	/* TC has no frags */
	cr_assert_eq(nmr_frags_check(&c, &p), 0);
}
