// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * End-to-end: NPI, provider and client registered through the CLI, live
 * frames through the dispatcher on a veth pair, the registry read back.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "helpers.h"

TestSuite(flow, .init = env_setup, .fini = env_teardown, .timeout = 120);

/* NPI "demo" (xdp), provider "frame_counter", client on veth0. */
static void register_demo(void)
{
	struct cli_result r;

	demo_npi_client("xdp", "veth0", "");
	cr_assert_eq(cli(&r, "provider register %s --npi demo", bpf_obj("frame_counter")), 0,
		     "%s", r.err);
}

Test(flow, live_frames_are_counted_by_the_bound_provider)
{
	struct nmr_registry *reg;
	struct nmr_binding_record b;
	struct nmr_binding_counts counts;

	register_demo();
	cr_assert_neq(xdp_prog_on("veth0"), 0, "no XDP program on veth0");
	cr_assert_eq(send_frames("veth1", 100), 100);

	/* The provider's own map, shared by its instances, pinned in its directory. */
	cr_assert_eq(pinned_u64(provider_map("frame_counter", "frame_counts"), 0), 100);
	/* The binding's per-CPU counters: 100 runs, all XDP_PASS. */
	reg = open_registry();
	cr_assert_eq(nmr_binding_find(reg, "c0:frame_counter", &b), 0, "%s", nmr_last_error());
	cr_assert_eq(nmr_binding_counts(reg, &b, &counts), 0);
	cr_assert_eq(counts.packets, 100);
	cr_assert_eq(counts.verdicts[NMR_VERDICT_INDEX(2)], 100);
	nmr_registry_close(reg);
}

Test(flow, dispatcher_passes_frames_when_no_provider_is_bound)
{
	int rx;

	demo_npi_client("xdp", "veth0", "");
	rx = rx_open("veth0");
	cr_assert_eq(send_frames("veth1", 20), 20);
	cr_assert_eq(rx_wait(rx, 20, 2.0), 20, "frames did not pass the empty dispatcher");
	/* ... and the chain saw them: its empty-chain counter, with BTF for bpftool */
	cr_assert_eq(sh("bpftool map lookup pinned %s/client/*/stats key 0 0 0 0 | "
			"grep -q '\"no_provider\": [1-9]'", env.root), 0);
}

Test(flow, registry_outlives_the_cli_and_a_new_process_reads_it)
{
	struct cli_result r;
	struct nmr_registry *reg;
	struct nmr_client_record *clients;
	struct nmr_provider_record *provs;
	size_t nc, np;

	register_demo();
	/* Each cli() is its own process: these read what earlier ones wrote. */
	cr_assert_eq(cli(&r, "-j provider list"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"name\":\"frame_counter\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"npi\":\"demo\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"priority\":50"), "%s", r.out);
	cr_assert_eq(cli(&r, "-j client list"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"dev\":\"veth0\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"hook\":\"xdp\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"mode\":\"native\""), "%s", r.out);
	cr_assert_eq(cli(&r, "-j binding list"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"client\":\"c0\",\"provider\":\"frame_counter\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"position\":0"), "%s", r.out);

	/* And the library, in this process, reads the same registry. */
	reg = open_registry();
	cr_assert_eq(nmr_client_list(reg, &clients, &nc), 0);
	cr_assert_eq(nmr_provider_list(reg, &provs, &np), 0);
	cr_assert_eq(nc, 1);
	cr_assert_eq(np, 1);
	cr_assert_str_eq(clients[0].dev, "veth0");
	cr_assert_eq(clients[0].dispatcher_prog_id, xdp_prog_on("veth0"));
	free(clients);
	free(provs);
	nmr_registry_close(reg);

	/* The dispatcher keeps running with no registrar process alive. */
	cr_assert_eq(send_frames("veth1", 10), 10);
	cr_assert_eq(pinned_u64(provider_map("frame_counter", "frame_counts"), 0), 10);
}

Test(flow, client_deregister_leaves_no_program_on_the_device)
{
	struct cli_result r;

	register_demo();
	cr_assert_neq(xdp_prog_on("veth0"), 0);
	cr_assert_eq(cli(&r, "client deregister c0"), 0, "%s", r.err);
	cr_assert_eq(xdp_prog_on("veth0"), 0, "a program is still attached to veth0");
	cr_assert_eq(sh("test -z \"$(find %s/client %s/binding -mindepth 1)\"", env.root, env.root), 0,
		     "client or binding pins left");
	cr_assert_eq(cli(&r, "-j binding list"), 0);
	cr_assert_str_eq(r.out, "[]\n");
	/* The provider stays registered, unbound. */
	cr_assert_eq(cli(&r, "-j provider show frame_counter"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"bindings\":0"), "%s", r.out);
}

Test(flow, provider_deregister_unbinds_and_frames_still_pass)
{
	struct cli_result r;
	int rx;

	register_demo();
	cr_assert_eq(cli(&r, "provider deregister frame_counter"), 0, "%s", r.err);
	cr_assert_eq(sh("test -z \"$(find %s/provider %s/binding -mindepth 1)\"", env.root, env.root), 0);
	/* The client keeps its dispatcher; with an empty chain it counts no_provider. */
	cr_assert_neq(xdp_prog_on("veth0"), 0);
	rx = rx_open("veth0");
	cr_assert_eq(send_frames("veth1", 7), 7);
	cr_assert_eq(rx_wait(rx, 7, 2.0), 7, "frames did not pass the client with no provider");
	cr_assert_eq(cli(&r, "-j binding list"), 0);
	cr_assert_str_eq(r.out, "[]\n");
}

Test(flow, bpftool_dumps_the_registry_with_field_names)
{
	char cmd[512];

	register_demo();
	snprintf(cmd, sizeof(cmd), "bpftool map dump pinned %s/providers > %s/dump", env.root,
		 env.tmp);
	cr_assert_eq(sh("%s", cmd), 0);
	cr_assert_eq(sh("grep -q '\"name\": \"frame_counter\"' %s/dump", env.tmp), 0);
	cr_assert_eq(sh("grep -q '\"priority\": 50' %s/dump", env.tmp), 0);
	cr_assert_eq(sh("grep -q '\"version_min\": 1' %s/dump", env.tmp), 0);
	cr_assert_eq(sh("bpftool map dump pinned %s/clients | grep -q '\"dev\": \"veth0\"'",
			env.root), 0);
	cr_assert_eq(sh("bpftool map dump pinned %s/npis | grep -q '\"name\": \"demo\"'",
			env.root), 0);
	cr_assert_eq(sh("bpftool map dump pinned %s/bindings | grep -q '\"position\": 0'",
			env.root), 0);
	cr_assert_eq(sh("bpftool map dump pinned %s/client/*/stats | grep -q verdicts",
			env.root), 0);
	/* The hook runs the dispatcher; its chain table holds the chain, linked from the code. */
	cr_assert_eq(sh("bpftool prog show pinned %s/client/*/dispatcher | grep -q nmr_dispatcher",
			env.root), 0);
	cr_assert_eq(sh("set -- $(bpftool map dump pinned %s/client/*/chain_table | "
			"sed -n 's/.*value: //p') && "
			"bpftool prog show id $((0x$4$3$2$1)) | grep -q nmr_chain", env.root), 0);
	cr_assert_eq(sh("test -e %s/binding/*/*/code", env.root), 0);
}

Test(flow, concurrent_registrars_lose_no_update)
{
	struct cli_result r;
	char cmd[1024];
	int n = 8;

	register_demo();
	/* n processes at once, each registering a provider under its own name. */
	snprintf(cmd, sizeof(cmd), "for i in $(seq %d); do %s/nmr-bpf --root %s provider "
		 "register %s --npi demo --name p$i >/dev/null 2>&1 & done; wait", n, env.bin,
		 env.root, bpf_obj("frame_counter"));
	cr_assert_eq(sh("%s", cmd), 0);
	cr_assert_eq(cli(&r, "-j provider list"), 0);
	for (int i = 1; i <= n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "\"name\":\"p%d\"", i);
		cr_expect(strstr(r.out, name), "provider p%d lost", i);
	}
	cr_assert_eq(cli(&r, "-j client show c0"), 0);
	cr_assert(strstr(r.out, "\"providers\":9"), "%s", r.out);
	/* every provider in the chain sees every frame: all continue on pass */
	cr_assert_eq(send_frames("veth1", 5), 5);
	cr_assert_eq(pinned_u64(provider_map("p8", "frame_counts"), 0), 5);
	cr_assert_eq(pinned_u64(provider_map("frame_counter", "frame_counts"), 0), 5);
}

Test(flow, skb_mode_attaches_in_generic_xdp)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register demo --hook xdp"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi demo", bpf_obj("frame_counter")), 0);
	cr_assert_eq(cli(&r, "client register --npi demo --dev veth0 --netns %s --mode skb",
			 env.netns), 0, "%s", r.err);
	cr_assert_eq(sh("ip -n %s link show veth0 | grep -q 'xdpgeneric'", env.netns), 0);
	cr_assert_eq(send_frames("veth1", 30), 30);
	/* generic XDP runs on veth0's backlog, after veth0 counted the frames */
	cr_assert_eq(pinned_u64_wait(provider_map("frame_counter", "frame_counts"), 0, 30), 30);
}

Test(flow, registry_destroy_removes_everything_it_created)
{
	struct cli_result r;

	register_demo();
	cr_assert_eq(cli(&r, "registry destroy"), 0, "%s", r.err);
	cr_assert_eq(xdp_prog_on("veth0"), 0);
	cr_assert_eq(access(env.root, F_OK), -1, "%s still exists", env.root);
}

Test(flow, plain_program_ends_the_chain_with_its_verdict)
{
	struct cli_result r;
	int rx;

	cr_assert_eq(cli(&r, "npi register demo --hook xdp"), 0);
	/* frame_counter (SDK, continues on pass) first, then a plain XDP_DROP program */
	cr_assert_eq(cli(&r, "provider register %s --npi demo --priority 1",
			 bpf_obj("frame_counter")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi demo --prog plain_drop --priority 2",
			 test_obj("two_progs")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi demo --dev veth0 --netns %s", env.netns), 0,
		     "%s", r.err);
	rx = rx_open("veth0");
	cr_assert_eq(send_frames("veth1", 25), 25);
	cr_assert_eq(pinned_u64(provider_map("frame_counter", "frame_counts"), 0), 25);
	cr_assert_eq(rx_count(rx), 0, "the plain provider's XDP_DROP was not final");
	/* a plain program's verdict goes on when in its continue-on set: pass, by default */
	cr_assert_eq(cli(&r, "provider show plain_drop"), 0);
	cr_assert(strstr(r.out, "continue-on:  pass"), "%s", r.out);
}

Test(flow, bpffs_is_mounted_when_missing)
{
	/*
	 * In a private mount namespace, so the host's /sys/fs/bpf is untouched:
	 * no bpffs there, and nmr-bpf must mount it to create the registry.
	 */
	cr_assert_eq(sh("unshare -m sh -c 'umount -l /sys/fs/bpf 2>/dev/null; "
			"! mountpoint -q /sys/fs/bpf && "
			"%s/nmr-bpf --root /sys/fs/bpf/nmr-mount-test npi register m --hook xdp "
			">/dev/null && mountpoint -q /sys/fs/bpf && "
			"test -e /sys/fs/bpf/nmr-mount-test/npis'", env.bin), 0);
}

Test(flow, root_outside_bpffs_is_refused)
{
	struct cli_result r;
	char root[128];

	snprintf(root, sizeof(root), "%s/not-bpffs", env.tmp);
	r.status = sh("%s/nmr-bpf --root %s npi register x --hook xdp 2>%s/err", env.bin, root,
		      env.tmp);
	cr_assert_neq(r.status, 0);
	cr_assert_eq(sh("grep -q 'not on a bpf filesystem' %s/err", env.tmp), 0);
}

/*
 * NMR: a provider that registers meets every client of its NPI. Sixteen
 * clients, one swap each, all bound; deregistering unbinds all sixteen.
 */
Test(flow, a_provider_binds_every_one_of_16_clients)
{
	struct nmr_registry *reg;
	struct nmr_binding_record *b = NULL;
	struct cli_result r;
	size_t n = 0, bound = 0;

	cr_assert_eq(cli(&r, "npi register demo --hook xdp"), 0, "%s", r.err);
	for (int i = 0; i < 16; i++) {
		char dev[8], peer[8];

		snprintf(dev, sizeof(dev), "m%d", i);
		snprintf(peer, sizeof(peer), "m%dp", i);
		cr_assert_eq(veth_add(env.netns, dev, peer, true), 0);
		cr_assert_eq(cli(&r, "client register --npi demo --dev m%d --netns %s --name m%d",
				 i, env.netns, i), 0, "%s", r.err);
	}
	cr_assert_eq(cli(&r, "provider register %s --npi demo", bpf_obj("frame_counter")), 0,
		     "%s", r.err);
	reg = open_registry();
	cr_assert_eq(nmr_binding_list(reg, NULL, "frame_counter", &b, &n), 0);
	for (size_t i = 0; i < n; i++)
		bound += b[i].state == NMR_BINDING_BOUND;
	free(b);
	cr_assert_eq(bound, 16, "%zu of 16 clients bound", bound);
	for (int i = 0; i < 16; i++) {
		struct nmr_client_record c;
		char name[8];

		snprintf(name, sizeof(name), "m%d", i);
		cr_assert_eq(nmr_client_find(reg, name, &c), 0);
		cr_assert_eq(c.nchain, 1, "%s", name);
		cr_assert_eq(chain_table_prog(name), c.chain_prog_id, "%s", name);
	}
	/* frames through one of them reach the provider */
	cr_assert_eq(send_frames("m7p", 10), 10);
	cr_assert_eq(pinned_u64(provider_map("frame_counter", "frame_counts"), 0), 10);
	cr_assert_eq(cli(&r, "provider deregister frame_counter"), 0, "%s", r.err);
	cr_assert_eq(nmr_binding_list(reg, NULL, NULL, &b, &n), 0);
	free(b);
	cr_assert_eq(n, 0, "%zu binding records left", n);
	nmr_registry_close(reg);
}
