// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * NPI-defined characteristics: an NPI registered with its own structs (from
 * the BTF of tests/bpf/npi_chars.bpf.o, types in tests/bpf/npi_chars.h), its
 * providers' and clients' values given by --char and by the library, shown by
 * nmr-bpf and by bpftool with the NPI's field names, bad values refused by
 * name, a live client's callback that receives the provider's struct and
 * declines on a field, declarative conditions (--require), and the maps'
 * entries and directories gone with their objects.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "helpers.h"
#include "nmr_internal.h"
#include "bpf/npi_chars.h"

TestSuite(npi_chars, .init = env_setup, .fini = env_teardown, .timeout = 120);

static void npi_with_chars(const char *name)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register %s --hook xdp --version 3 --characteristics %s", name,
			 test_obj("npi_chars")), 0, "%s", r.err);
}

static const char *npi_map(const char *npi, const char *leaf)
{
	static char path[512];
	struct nmr_registry *reg = open_registry();
	struct nmr_npi_record n;
	char guid[NMR_GUID_STR_LEN];

	cr_assert_eq(nmr_npi_find(reg, npi, &n), 0, "%s", nmr_last_error());
	nmr_guid_format(&n.id, guid);
	snprintf(path, sizeof(path), "%s/npi/%s/%s", env.root, guid, leaf);
	nmr_registry_close(reg);
	return path;
}

static const char *guid_of_provider(const char *name)
{
	static char guid[NMR_GUID_STR_LEN];
	struct nmr_registry *reg = open_registry();
	struct nmr_provider_record p;

	cr_assert_eq(nmr_provider_find(reg, name, &p), 0, "%s", nmr_last_error());
	nmr_guid_format(&p.id, guid);
	nmr_registry_close(reg);
	return guid;
}

/*
 * bpftool's JSON dump of a pinned map ("formatted": by the map's BTF), parsed: python
 * checks that the entry of the
 * module (its GUID's data1) holds value[field] == expected for each "field=json" given.
 */
static int bpftool_has(const char *map, const char *guid, const char *checks)
{
	unsigned long data1 = strtoul(guid, NULL, 16);

	return sh("bpftool -j map dump pinned %s | python3 -c '\n"
		  "import json, sys\n"
		  "d = [e[\"formatted\"] for e in json.load(sys.stdin)\n"
		  "     if e[\"formatted\"][\"key\"][\"data1\"] == %lu]\n"
		  "assert len(d) == 1, d\n"
		  "v = d[0][\"value\"]\n"
		  "for c in sys.argv[1:]:\n"
		  "    k, want = c.split(\"=\", 1)\n"
		  "    got = v\n"
		  "    for part in k.split(\".\"):\n"
		  "        got = got[part]\n"
		  "    assert got == json.loads(want), (k, got, want)\n"
		  "' %s", map, data1, checks);
}

Test(npi_chars, cli_values_shown_by_nmr_bpf_and_by_bpftool_with_the_npis_field_names)
{
	struct cli_result r;

	npi_with_chars("lb");
	cr_assert_eq(cli(&r, "npi show lb"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "struct provider_characteristics, 48 bytes, version 3"), "%s",
		  r.out);
	cr_assert(strstr(r.out, "struct client_characteristics, 12 bytes"), "%s", r.out);
	cr_assert_eq(cli(&r, "provider register %s --npi lb --name tcp --char proto=6 "
			 "--char max_mtu=9000 --char offset=-5 --char l4=L4_UDP --char ifname=eth-a "
			 "--char ports.hi=100 --char queues[2]=7 --char flags=9 --char level=3 "
			 "--char checksum=true", bpf_obj("frame_counter")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi lb --dev veth0 --netns %s --name c "
			 "--char min_mtu=1500 --char label=edge", env.netns), 0, "%s", r.err);

	/* nmr-bpf: text and JSON, by field name */
	cr_assert_eq(cli(&r, "provider show tcp"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "npi chars:    proto=6 max_mtu=9000 offset=-5 l4=L4_UDP "
			 "ifname=eth-a ports.lo=0 ports.hi=100 queues[0]=0 queues[1]=0 queues[2]=7 "
			 "queues[3]=0 flags=9 level=3 checksum=true"), "%s", r.out);
	cr_assert_eq(cli(&r, "-j provider show tcp"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"npi_characteristics\":{\"proto\":6,\"max_mtu\":9000,"
			 "\"offset\":-5,\"l4\":\"L4_UDP\",\"ifname\":\"eth-a\""), "%s", r.out);
	cr_assert_eq(cli(&r, "-j client show c"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"npi_characteristics\":{\"min_mtu\":1500,\"label\":\"edge\"}"),
		  "%s", r.out);
	cr_assert_eq(cli(&r, "binding list"), 0);
	cr_assert(strstr(r.out, "tcp"), "%s", r.out);

	/* bpftool: the maps' own BTF names the fields */
	cr_assert_eq(bpftool_has(npi_map("lb", "provider_chars"), guid_of_provider("tcp"),
				 "proto=6 max_mtu=9000 offset=-5 l4=\\\"L4_UDP\\\" "
				 "ifname=\\\"eth-a\\\" ports.hi=100 checksum=true"), 0);
	{
		struct nmr_registry *reg = open_registry();
		struct nmr_client_record c;
		char guid[NMR_GUID_STR_LEN];

		cr_assert_eq(nmr_client_find(reg, "c", &c), 0);
		nmr_guid_format(&c.id, guid);
		nmr_registry_close(reg);
		cr_assert_eq(bpftool_has(npi_map("lb", "client_chars"), guid,
					 "min_mtu=1500 label=\\\"edge\\\""), 0);
	}
}

Test(npi_chars, bad_values_are_refused_by_name_and_change_nothing)
{
	static const struct {
		const char *arg, *says;
	} bad[] = {
		{ "nosuch=3", "no field nosuch" },
		{ "proto=300", "proto is __u8 (0 to 255): 300 is out of range" },
		{ "proto=-1", "proto is __u8, an unsigned integer of 8 bits: '-1' is not a number" },
		{ "offset=abc", "offset is __s32, a signed integer of 32 bits: 'abc' is not a number" },
		{ "offset=2147483648", "offset is __s32 (-2147483648 to 2147483647)" },
		{ "l4=FOO", "l4 is enum npi_l4" },
		{ "ifname=0123456789abcdef", "ifname is a string of at most 15 characters" },
		{ "ports=1", "ports is a struct: give ports.FIELD=VALUE" },
		{ "ports.mid=1", "ports has no field mid" },
		{ "queues=1", "queues is an array of 4: give queues[I]=VALUE" },
		{ "queues[4]=1", "queues has 4 elements: [4] is beyond them" },
		{ "flags=16", "flags is a 4-bit field of __u32 (0 to 15)" },
		{ "checksum=maybe", "checksum is a bool (true or false)" },
		{ "proto", "'proto' is not FIELD=VALUE" },
	};
	struct cli_result r;
	char *before;

	npi_with_chars("lb");
	cr_assert_eq(cli(&r, "npi register plain --hook xdp"), 0);
	before = registry_snapshot();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(cli(&r, "provider register %s --npi lb --name p --char %s",
				 bpf_obj("frame_counter"), bad[i].arg), 1, "%s", bad[i].arg);
		cr_assert(strstr(r.err, bad[i].says), "--char %s: %s", bad[i].arg, r.err);
	}
	cr_assert_eq(cli(&r, "client register --npi lb --dev veth0 --netns %s --char nosuch=1",
			 env.netns), 1);
	cr_assert(strstr(r.err, "no field nosuch (struct client_characteristics of npi lb)"),
		  "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi lb --dev veth0 --netns %s --require mtu=1",
			 env.netns), 1);
	cr_assert(strstr(r.err, "condition mtu=1: no field mtu"), "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi lb --dev veth0 --netns %s "
			 "--require ifname=a..b", env.netns), 1);
	cr_assert(strstr(r.err, "a range LO..HI is for numbers"), "%s", r.err);
	/* an NPI without its own struct takes no --char */
	cr_assert_eq(cli(&r, "provider register %s --npi plain --char proto=6",
			 bpf_obj("frame_counter")), 1);
	cr_assert(strstr(r.err, "npi plain defines no struct provider_characteristics"), "%s",
		  r.err);
	/* an object without the structs, refused at npi register */
	cr_assert_eq(cli(&r, "npi register x --hook xdp --characteristics %s",
			 bpf_obj("frame_counter")), 1);
	cr_assert(strstr(r.err, "holds neither struct provider_characteristics nor struct "
			 "client_characteristics"), "%s", r.err);
	cr_assert_str_eq(registry_snapshot(), before);
}

/* The NPI registered through the library from raw BTF bytes, values given as the struct. */
static void library_npi(struct nmr_registry *reg, const char *name)
{
	struct btf *btf = btf__parse(test_obj("npi_chars"), NULL);
	const void *raw;
	__u32 size;

	cr_assert(btf);
	raw = btf__raw_data(btf, &size);
	NMR_OPTS(nmr_npi_opts, o, .name = name, .hook = NMR_HOOK_XDP, .version = 3,
		 .characteristics_btf = raw, .characteristics_btf_size = size);
	cr_assert_eq(nmr_npi_register(reg, &o, NULL), 0, "%s", nmr_last_error());
	btf__free(btf);
}

static void library_provider(struct nmr_registry *reg, const char *npi, const char *name,
			     const struct provider_characteristics *pc)
{
	NMR_OPTS(nmr_provider_opts, o, .object_path = bpf_obj("frame_counter"), .npi = npi,
		 .name = name, .npi_chars = pc, .npi_chars_size = sizeof(*pc));

	cr_assert_eq(nmr_provider_register(reg, &o, NULL), 0, "%s", nmr_last_error());
}

Test(npi_chars, library_values_as_the_struct)
{
	struct nmr_registry *reg = open_registry();
	struct provider_characteristics pc = { .proto = 17, .max_mtu = 1500, .l4 = L4_SCTP,
					       .ifname = "lib0", .ports = { 10, 20 },
					       .queues = { 1, 2, 3, 4 }, .flags = 5, .level = 2 },
					back = {};
	__u32 size = 0;

	library_npi(reg, "lib");
	cr_assert_eq(nmr_npi_chars_size(reg, "lib", NMR_MODULE_PROVIDER, &size), 0);
	cr_assert_eq(size, sizeof(pc));
	library_provider(reg, "lib", "p", &pc);
	cr_assert_eq(nmr_npi_chars_read(reg, NMR_MODULE_PROVIDER, "p", &back, sizeof(back), &size),
		     0, "%s", nmr_last_error());
	cr_assert_eq(size, sizeof(pc));
	cr_assert_arr_eq(&back, &pc, sizeof(pc));
	cr_assert_eq(bpftool_has(npi_map("lib", "provider_chars"), guid_of_provider("p"),
				 "proto=17 max_mtu=1500 l4=\\\"L4_SCTP\\\" ifname=\\\"lib0\\\" "
				 "ports.lo=10 ports.hi=20 queues=[1,2,3,4]"), 0);

	/* the struct, then fields on top of it */
	{
		const char *fields[] = { "proto=6", NULL };
		NMR_OPTS(nmr_provider_opts, o, .object_path = bpf_obj("frame_counter"),
			 .npi = "lib", .name = "q", .npi_chars = &pc, .npi_chars_size = sizeof(pc),
			 .npi_char_fields = fields);

		cr_assert_eq(nmr_provider_register(reg, &o, NULL), 0, "%s", nmr_last_error());
		cr_assert_eq(nmr_npi_chars_read(reg, NMR_MODULE_PROVIDER, "q", &back,
						sizeof(back), NULL), 0);
		cr_assert_eq(back.proto, 6);
		cr_assert_eq(back.max_mtu, 1500);
	}
	/* a struct of another size is refused */
	{
		NMR_OPTS(nmr_provider_opts, o, .object_path = bpf_obj("frame_counter"),
			 .npi = "lib", .name = "r", .npi_chars = &pc, .npi_chars_size = 12);

		cr_assert_eq(nmr_provider_register(reg, &o, NULL), -EINVAL);
		cr_assert(strstr(nmr_last_error(), "npi_chars_size is 12, but npi lib's struct "
				 "provider_characteristics is 48 bytes"), "%s", nmr_last_error());
	}
	/* nmr_npi_chars_parse: one field into a struct, checked the same way */
	memset(&back, 0, sizeof(back));
	cr_assert_eq(nmr_npi_chars_parse(reg, "lib", NMR_MODULE_PROVIDER, "level=7", &back,
					 sizeof(back)), 0, "%s", nmr_last_error());
	cr_assert_eq(back.level, 7);
	cr_assert_eq(nmr_npi_chars_parse(reg, "lib", NMR_MODULE_PROVIDER, "max_mtu=70000", &back,
					 sizeof(back)), -EINVAL);
	cr_assert(strstr(nmr_last_error(), "max_mtu is __u16 (0 to 65535)"), "%s",
		  nmr_last_error());
	nmr_registry_close(reg);
}

/* A live client: the provider's struct in its registration instance; declines non-TCP. */
static struct {
	int calls;
	__u32 size, version;
	struct provider_characteristics last;
} seen;

static int tcp_only(struct nmr_binding *b, void *client_context,
		    const struct nmr_registration_instance *provider)
{
	const struct provider_characteristics *pc = provider->npi_characteristics;
	char why[64];

	seen.calls++;
	seen.size = provider->npi_characteristics_size;
	seen.version = provider->npi_characteristics_version;
	if (!pc || provider->npi_characteristics_size < sizeof(*pc)) {
		nmr_binding_decline(b, "no characteristics");
		return NMR_STATUS_NOINTERFACE;
	}
	seen.last = *pc;
	if (pc->proto != L4_TCP) {
		snprintf(why, sizeof(why), "proto %u: this client takes TCP only", pc->proto);
		nmr_binding_decline(b, why);
		return NMR_STATUS_NOINTERFACE;
	}
	return nmr_client_attach_provider(b, NULL, NULL, NULL);
}

Test(npi_chars, a_live_clients_callback_receives_the_struct_and_declines_on_a_field)
{
	struct nmr_registry *reg = open_registry();
	struct provider_characteristics tcp = { .proto = 6, .max_mtu = 9000, .ifname = "t" },
					udp = { .proto = 17, .max_mtu = 1500 };
	NMR_OPTS(nmr_client_opts, c, .npi = "live", .dev = "veth0", .netns = env.netns,
		 .name = "lc");
	NMR_OPTS(nmr_client_module_opts, o, .client = &c, .attach_provider = tcp_only);
	struct nmr_module *m = NULL;
	struct cli_result r;

	library_npi(reg, "live");
	cr_assert_eq(nmr_client_module_register(reg, &o, &m), 0, "%s", nmr_last_error());
	library_provider(reg, "live", "ptcp", &tcp);
	cr_assert_eq(seen.calls, 1);
	cr_assert_eq(seen.size, sizeof(struct provider_characteristics));
	cr_assert_eq(seen.version, 3);
	cr_assert_eq(seen.last.max_mtu, 9000);
	cr_assert_str_eq(seen.last.ifname, "t");
	library_provider(reg, "live", "pudp", &udp);
	cr_assert_eq(seen.calls, 2);
	/* and one by the command line, in another process: the watcher thread meets it */
	cr_assert_eq(cli(&r, "provider register %s --npi live --name pcli --char proto=132",
			 bpf_obj("frame_counter")), 0, "%s", r.err);
	for (int i = 0; i < 300 && seen.calls < 3; i++)
		usleep(10000);
	cr_assert_eq(seen.calls, 3);
	cr_assert_eq(seen.last.proto, 132);

	cr_assert_eq(cli(&r, "-j binding list --client lc"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"provider\":\"ptcp\""), "%s", r.out);
	cr_assert(strstr(r.out, "proto 17: this client takes TCP only"), "%s", r.out);
	cr_assert(strstr(r.out, "proto 132: this client takes TCP only"), "%s", r.out);
	cr_assert_eq(cli(&r, "binding show lc:ptcp"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "bound"), "%s", r.out);
	cr_assert_eq(nmr_module_deregister(m), 0, "%s", nmr_last_error());
	cr_assert_eq(nmr_module_wait(m), 0);
	nmr_registry_close(reg);
}

Test(npi_chars, declarative_conditions_on_the_providers_fields)
{
	struct cli_result r;

	npi_with_chars("lb");
	cr_assert_eq(cli(&r, "provider register %s --npi lb --name a --char proto=6 "
			 "--char max_mtu=9000", bpf_obj("frame_counter")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi lb --name b --char proto=17 "
			 "--char max_mtu=9000", bpf_obj("frame_counter")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi lb --dev veth0 --netns %s --name c "
			 "--require proto=6 --require max_mtu=1500..9000 --require l4=0",
			 env.netns), 0, "%s", r.err);
	/* after the client: an enum condition by name, a range not met */
	cr_assert_eq(cli(&r, "provider register %s --npi lb --name d --char proto=6 "
			 "--char max_mtu=1400", bpf_obj("frame_counter")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi lb --name e --char proto=6 "
			 "--char max_mtu=1500 --char l4=L4_TCP", bpf_obj("frame_counter")), 0, "%s",
		     r.err);
	cr_assert_eq(cli(&r, "binding list"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "npi characteristics: provider's proto is 17, client requires 6"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "npi characteristics: provider's max_mtu is 1400, client "
			 "requires 1500..9000"), "%s", r.out);
	cr_assert(strstr(r.out, "npi characteristics: provider's l4 is L4_TCP, client requires "
			 "0"), "%s", r.out);
	cr_assert_eq(cli(&r, "-j client show c"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"npi_requires\":[\"proto=6\",\"max_mtu=1500..9000\",\"l4=0\"]"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\"providers\":1"), "%s", r.out);
	cr_assert_eq(cli(&r, "binding show c:a"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "bound"), "%s", r.out);
}

Test(npi_chars, entries_and_maps_leave_with_their_objects_and_orphans_are_found)
{
	struct cli_result r;
	char provider_chars[512], dir[512];
	struct nmr_guid stray = { .data1 = 0x12345678 };
	int fd;

	npi_with_chars("lb");
	snprintf(provider_chars, sizeof(provider_chars), "%s", npi_map("lb", "provider_chars"));
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(provider_chars, '/') - provider_chars),
		 provider_chars);
	cr_assert_eq(cli(&r, "provider register %s --npi lb --name a --char proto=6",
			 bpf_obj("frame_counter")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi lb --dev veth0 --netns %s --name c "
			 "--char min_mtu=1 --require proto=6", env.netns), 0, "%s", r.err);
	cr_assert_eq(sh("[ $(bpftool -j map dump pinned %s | python3 -c "
			"'import json,sys; print(len(json.load(sys.stdin)))') = 1 ]", provider_chars),
		     0);
	cr_assert_eq(cli(&r, "provider deregister a"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "client deregister c"), 0, "%s", r.err);
	cr_assert_eq(sh("[ \"$(bpftool -j map dump pinned %s)\" = '[]' ]", provider_chars), 0);
	cr_assert_eq(sh("[ \"$(bpftool -j map dump pinned %s/client_chars)\" = '[]' ]", dir), 0);
	cr_assert_eq(sh("[ \"$(bpftool -j map dump pinned %s/client_requires)\" = '[]' ]", dir),
		     0);

	/* an entry no record names: reported by check, removed by --repair */
	fd = bpf_obj_get(provider_chars);
	cr_assert_geq(fd, 0);
	{
		struct provider_characteristics pc = { .proto = 1 };

		cr_assert_eq(bpf_map_update_elem(fd, &stray, &pc, BPF_ANY), 0);
	}
	cr_assert_eq(cli(&r, "registry check"), 1);
	cr_assert(strstr(r.out, "provider_chars: the entry of 12345678-0000-0000-0000-000000000000")
		  || strstr(r.err, "the entry of 12345678"), "%s%s", r.out, r.err);
	cr_assert_eq(cli(&r, "registry check --repair"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "the entry of 12345678-0000-0000-0000-000000000000: no record names it (repaired)"),
		  "%s", r.out);
	cr_assert_eq(cli(&r, "registry check"), 0, "%s%s", r.out, r.err);
	{
		struct provider_characteristics pc;

		cr_assert_neq(bpf_map_lookup_elem(fd, &stray, &pc), 0);
	}
	close(fd);

	/* the NPI's deregistration takes its maps */
	cr_assert_eq(cli(&r, "npi deregister lb"), 0, "%s", r.err);
	cr_assert_neq(access(dir, F_OK), 0, "%s is left", dir);
}
