// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* TC clients: ingress and egress, through TCX links and through netlink (clsact + cls_bpf). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"

TestSuite(tc, .init = env_setup, .fini = env_teardown, .timeout = 120);

/* Registers a tc NPI, a client of it on dev and two counting providers. */
static void tc_setup(const char *hook, const char *dev, const char *extra)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register t --hook %s", hook), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi t --dev %s --netns %s --name c0 %s", dev,
			 env.netns, extra), 0, "%s", r.err);
	/* tc_count accepts (TC_ACT_OK): handed on only when told, unlike TC_ACT_UNSPEC */
	cr_assert_eq(cli(&r, "provider register %s --npi t --continue-on ok",
			 test_obj("tc_count")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi t --name second --priority 60",
			 test_obj("tc_count")), 0, "%s", r.err);
}

/* Ingress runs on veth0's backlog, after send_frames() returned: polled. */
static void expect_both_counted(int n)
{
	cr_assert_eq(pinned_u64_wait(provider_map("tc_count", "tc_frames"), 0, n), n);
	cr_assert_eq(pinned_u64_wait(provider_map("second", "tc_frames"), 0, n), n,
		     "the second provider of the chain did not run");
}

static void expect_detached(const char *dev, const char *dir)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "client deregister c0"), 0, "%s", r.err);
	cr_assert_eq(sh("test -z \"$(ip netns exec %s tc filter show dev %s %s)\"", env.netns,
			dev, dir), 0, "a cls_bpf filter is left on %s %s", dev, dir);
	cr_assert_eq(tcx_prog_count(dev, !strcmp(dir, "ingress")), 0,
		     "a program is still attached to %s's TCX %s hook", dev, dir);
}

Test(tc, ingress_through_tcx_with_live_frames)
{
	struct cli_result r;

	tc_setup("tc-ingress", "veth0", "");
	cr_assert_eq(cli(&r, "-j client show c0"), 0);
	cr_assert(strstr(r.out, "\"mode\":\"tcx\""), "%s", r.out);
	cr_assert_eq(strstr(r.out, "\"link_id\":0,"), NULL, "no TCX link: %s", r.out);
	cr_assert_eq(tcx_prog_count("veth0", true), 1);
	cr_assert_eq(send_frames("veth1", 15), 15);
	expect_both_counted(15);
	expect_detached("veth0", "ingress");
}

Test(tc, egress_through_tcx_with_live_frames)
{
	tc_setup("tc-egress", "veth1", "");
	/* frames sent on veth1 leave through its egress hook */
	cr_assert_eq(send_frames("veth1", 12), 12);
	expect_both_counted(12);
	expect_detached("veth1", "egress");
}

Test(tc, ingress_through_netlink_fallback)
{
	struct cli_result r;

	tc_setup("tc-ingress", "veth0", "--tc-netlink");
	cr_assert_eq(cli(&r, "-j client show c0"), 0);
	cr_assert(strstr(r.out, "\"mode\":\"netlink\""), "%s", r.out);
	cr_assert_eq(sh("ip netns exec %s tc filter show dev veth0 ingress | "
			"grep -q 'nmr_dispatcher.*direct-action'", env.netns), 0);
	cr_assert_eq(send_frames("veth1", 9), 9);
	expect_both_counted(9);
	expect_detached("veth0", "ingress");
}

Test(tc, egress_through_netlink_fallback)
{
	tc_setup("tc-egress", "veth1", "--tc-netlink");
	cr_assert_eq(send_frames("veth1", 11), 11);
	expect_both_counted(11);
	expect_detached("veth1", "egress");
}

Test(tc, tc_verdict_names_for_continue_on)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register t --hook tc-ingress"), 0);
	cr_assert_eq(cli(&r, "-j provider register %s --npi t --continue-on ok,unspec,pipe",
			 test_obj("tc_count")), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"continue_on\":[\"unspec\",\"ok\",\"pipe\"]"), "%s", r.out);
	cr_assert_neq(cli(&r, "provider register %s --npi t --name x --continue-on tx",
			  test_obj("tc_count")), 0);
	cr_assert(strstr(r.err, "unknown tc-ingress verdict 'tx'"), "%s", r.err);
}

/* The clsact qdisc nmr-bpf made goes with its last filter; one holding another's stays. */
Test(tc, the_clsact_nmr_bpf_made_goes_with_its_filter_unless_another_is_there)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register t --hook tc-ingress"), 0, "%s", r.err);
	cr_assert_neq(sh("ip netns exec %s tc qdisc show dev veth0 | grep -q clsact", env.netns), 0);
	cr_assert_eq(cli(&r, "client register --npi t --dev veth0 --netns %s --name c0 "
			 "--tc-netlink", env.netns), 0, "%s", r.err);
	cr_assert_eq(sh("ip netns exec %s tc qdisc show dev veth0 | grep -q clsact", env.netns), 0);
	cr_assert_eq(cli(&r, "client deregister c0"), 0, "%s", r.err);
	cr_assert_neq(sh("ip netns exec %s tc qdisc show dev veth0 | grep -q clsact", env.netns), 0,
		      "the clsact nmr-bpf made is still there");

	/* made by nmr-bpf, but another tool's filter joined it: it stays */
	cr_assert_eq(cli(&r, "client register --npi t --dev veth0 --netns %s --name c1 "
			 "--tc-netlink", env.netns), 0, "%s", r.err);
	cr_assert_eq(sh("ip netns exec %s tc filter add dev veth0 egress pref 7 bpf da obj %s sec tc",
			env.netns, test_obj("tc_ok")), 0);
	cr_assert_eq(cli(&r, "client deregister c1"), 0, "%s", r.err);
	cr_assert_eq(sh("ip netns exec %s tc filter show dev veth0 egress | grep -q tc_ok",
			env.netns), 0, "another tool's filter went with the clsact");
}
