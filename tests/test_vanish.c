// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The world moves under the registry: a client's device or network
 * namespace is deleted while providers are bound to it, a namespace is made
 * again under the same name with another tool's filter where ours was. And a
 * pair that cannot be attached is that pair's decline, never its peer's
 * failure.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"

TestSuite(vanish, .init = env_setup, .fini = env_teardown, .timeout = 120);

/* NPI demo, clients c0 on veth0 and cz on z0 (a second pair), provider p bound to both. */
static void two_clients(const char *hook, const char *extra)
{
	struct cli_result r;

	cr_assert_eq(veth_add(env.netns, "z0", "z1", true), 0);
	demo_npi_client(hook, "veth0", extra);
	cr_assert_eq(cli(&r, "client register --npi demo --dev z0 --netns %s --name cz %s",
			 env.netns, extra), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name p --continue-on %s",
			 test_obj(strcmp(hook, "xdp") ? "tc_count" : "stamp"),
			 strcmp(hook, "xdp") ? "ok" : "pass"), 0, "%s", r.err);
}

Test(vanish, a_deleted_device_blocks_nothing_and_its_client_deregisters)
{
	struct cli_result r;

	two_clients("xdp", "");
	cr_assert_eq(sh("ip -n %s link del z0", env.netns), 0);
	/* nothing of the other client's or the NPI's is blocked */
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name q", bpf_obj("frame_counter")),
		     0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider deregister p"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "registry check"), 1, "check did not see the device gone");
	cr_assert(strstr(r.out, "client cz: device z0") && strstr(r.out, "is gone"), "%s", r.out);
	/* the client whose device is gone deregisters */
	cr_assert_eq(cli(&r, "client deregister cz"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "registry check"), 0, "%s%s", r.out, r.err);
	cr_assert_eq(send_frames("veth1", 4), 4);
	cr_assert_eq(pinned_u64(provider_map("q", "frame_counts"), 0), 4);
}

Test(vanish, check_repair_deregisters_a_client_whose_device_is_gone)
{
	struct cli_result r;

	two_clients("xdp", "");
	cr_assert_eq(sh("ip -n %s link del z0", env.netns), 0);
	cr_assert_eq(cli(&r, "registry check --repair"), 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "(repaired)"), "%s", r.out);
	cr_assert_neq(cli(&r, "client show cz"), 0, "cz is still registered");
	cr_assert_eq(cli(&r, "client show c0"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "registry check"), 0, "%s%s", r.out, r.err);
}

/* The whole namespace goes; then one of the same name comes back with another tool's filter. */
Test(vanish, a_recreated_netns_keeps_another_tools_filter)
{
	struct cli_result r;
	char ns[64];

	snprintf(ns, sizeof(ns), "%sb", env.netns);
	cr_assert_eq(sh("ip netns add %s && ip -n %s link add veth0 type veth peer name veth1 && "
			"ip -n %s link set veth0 up", ns, ns, ns), 0);
	cr_assert_eq(cli(&r, "npi register t --hook tc-ingress"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi t --dev veth0 --netns %s --name cn "
			 "--tc-netlink", ns), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi t --continue-on ok",
			 test_obj("tc_count")), 0, "%s", r.err);
	/* gone, and made again by someone else, with a filter at our handle and priority */
	cr_assert_eq(sh("ip netns exec %s tc filter show dev veth0 ingress | "
			"grep -q 'pref 49152 .*handle 0x1 nmr_dispatcher'", ns), 0);
	cr_assert_eq(sh("ip netns del %s && ip netns add %s && ip -n %s link add veth0 type veth "
			"peer name veth1 && ip -n %s link set veth0 up && "
			"ip netns exec %s tc qdisc add dev veth0 clsact && "
			"ip netns exec %s tc filter add dev veth0 ingress pref 49152 handle 1 bpf da "
			"obj %s sec tc", ns, ns, ns, ns, ns, ns, test_obj("tc_ok")), 0);
	cr_assert_eq(cli(&r, "client deregister cn"), 0, "%s", r.err);
	cr_assert_eq(sh("ip netns exec %s tc filter show dev veth0 ingress | grep -q tc_ok", ns), 0,
		     "the other tool's filter was removed");
	sh("ip netns del %s", ns);
}

/* A provider no client could link registers; a client that comes later binds the others. */
Test(vanish, a_provider_that_cannot_attach_is_its_pairs_decline_only)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register demo --hook xdp"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name plain",
			 bpf_obj("frame_counter")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name fr", test_obj("frags_pass")),
		     0, "%s", r.err);
	/* a plain client: fr cannot be in its chain; registering it still works */
	cr_assert_eq(cli(&r, "client register --npi demo --dev veth0 --netns %s --name c0",
			 env.netns), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "binding show c0:fr"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "declined") && strstr(r.out, "xdp.frags"), "%s", r.out);
	cr_assert_eq(cli(&r, "binding show c0:plain"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "bound"), "%s", r.out);
	cr_assert_eq(send_frames("veth1", 5), 5);
	cr_assert_eq(pinned_u64(provider_map("plain", "frame_counts"), 0), 5);
}

/* 33 providers before the client: it binds 32 in one swap and declines the last, saying why. */
Test(vanish, a_client_meeting_more_providers_than_a_chain_holds_declines_the_rest)
{
	struct nmr_registry *reg;
	struct nmr_client_record c;
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register demo --hook xdp"), 0, "%s", r.err);
	for (int i = 1; i <= NMR_MAX_CHAIN + 1; i++)
		cr_assert_eq(cli(&r, "provider register %s --npi demo --name p%d --priority %d",
				 bpf_obj("frame_counter"), i, i), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi demo --dev veth0 --netns %s --name c0",
			 env.netns), 0, "%s", r.err);
	reg = open_registry();
	cr_assert_eq(nmr_client_find(reg, "c0", &c), 0);
	cr_assert_eq(c.nchain, NMR_MAX_CHAIN);
	cr_assert_eq(c.generation, 1, "the chain was swapped more than once");
	nmr_registry_close(reg);
	cr_assert_eq(cli(&r, "binding show c0:p%d", NMR_MAX_CHAIN + 1), 0, "%s", r.err);
	cr_assert(strstr(r.out, "declined") && strstr(r.out, "chain full"), "%s", r.out);
}
