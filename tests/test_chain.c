// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Provider chains: order, continue-on verdicts, the tail-call limit, provider
 * replacement, missed tail calls; live frames and BPF_PROG_TEST_RUN.
 * The stamp provider writes its id into each frame, so a received frame says
 * which providers ran on it and in which order.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "helpers.h"

/* Each test starts with NPI demo (xdp) and client c0 on veth0. */
TestSuite(chain, .init = env_setup_demo, .fini = env_teardown, .timeout = 180);

#define XDP_ABORTED 0
#define XDP_DROP 1
#define XDP_PASS 2
#define XDP_TX 3

/* Registers the stamp provider NAME with extra args, and gives its binding on c0 an id. */
static void stamp(const char *name, __u8 id, const char *args)
{
	struct cli_result r;
	char binding[64];

	cr_assert_eq(cli(&r, "provider register %s --npi demo --name %s %s", test_obj("stamp"),
			 name, args), 0, "%s", r.err);
	snprintf(binding, sizeof(binding), "c0:%s", name);
	cr_assert_eq(set_binding_context(binding, id, -1), 0, "%s", nmr_last_error());
}

/*
 * Receives the frames sent (waiting up to 2 s for the count expected, then
 * whatever else is there); each must carry the trace want[0..n). Returns the count.
 */
static int expect_traces(int rx, const __u8 *want, int n, int expected)
{
	unsigned char frame[256];
	double end = mono_now() + 2;
	int got = 0, len;

	while ((len = got < expected ? rx_next_wait(rx, frame, sizeof(frame), end - mono_now())
				     : rx_next(rx, frame, sizeof(frame))) > 0) {
		cr_assert_geq(len, TRACE_OFF + 32);
		for (int i = 0; i < n; i++)
			cr_assert_eq(frame[TRACE_OFF + i], want[i],
				     "frame %d: trace[%d] is 0x%02x, not 0x%02x", got, i,
				     frame[TRACE_OFF + i], want[i]);
		cr_assert_eq(frame[TRACE_OFF + n], 0, "frame %d: more than %d stamps", got, n);
		got++;
	}
	return got;
}

static struct nmr_binding_counts counts_of(const char *binding)
{
	struct nmr_registry *reg = open_registry();
	struct nmr_binding_counts c;
	struct nmr_binding_record b;

	cr_assert_eq(nmr_binding_find(reg, binding, &b), 0, "%s", nmr_last_error());
	cr_assert_eq(nmr_binding_counts(reg, &b, &c), 0);
	nmr_registry_close(reg);
	return c;
}

Test(chain, three_providers_run_in_priority_order)
{
	const __u8 want[] = { STAMP(1, 2), STAMP(1, 3), STAMP(1, 1) };
	int rx;

	/* registered 1, 2, 3; priorities put them 2, 3, 1 */
	stamp("s1", 1, "--priority 30");
	stamp("s2", 2, "--priority 10");
	stamp("s3", 3, "--priority 20");
	rx = rx_open("veth0");
	cr_assert_eq(send_frames("veth1", 40), 40);
	cr_assert_eq(expect_traces(rx, want, 3, 40), 40);
	cr_assert_eq(counts_of("c0:s1").packets, 40);
	cr_assert_eq(counts_of("c0:s2").verdicts[NMR_VERDICT_INDEX(XDP_PASS)], 40);
}

/* The chain links a provider's subprograms and keeps its own words clear of its stack. */
Test(chain, a_provider_with_subprograms_and_stack_is_linked_in_line)
{
	const __u8 want[] = { STAMP(1, 1), STAMP(1, 5), STAMP(1, 2) };
	struct nmr_registry *reg;
	struct nmr_client_record before, after;
	struct cli_result r;
	char binding[32];
	int rx, fd;

	stamp("s1", 1, "--priority 10");
	stamp("s2", 2, "--priority 30");
	reg = open_registry();
	cr_assert_eq(nmr_client_find(reg, "c0", &before), 0);
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name sub --priority 20",
			 test_obj("subprog")), 0, "%s", r.err);
	snprintf(binding, sizeof(binding), "c0:sub");
	cr_assert_eq(set_binding_context(binding, 5, -1), 0, "%s", nmr_last_error());
	rx = rx_open("veth0");
	cr_assert_eq(send_frames("veth1", 20), 20);
	cr_assert_eq(expect_traces(rx, want, 3, 20), 20);
	cr_assert_eq(counts_of("c0:sub").verdicts[NMR_VERDICT_INDEX(XDP_PASS)], 20);
	cr_assert_eq(counts_of("c0:s2").packets, 20);
	/* the new chain is in the table, the dispatcher unchanged; the chain before is released */
	cr_assert_eq(nmr_client_find(reg, "c0", &after), 0);
	cr_assert_eq(after.dispatcher_prog_id, before.dispatcher_prog_id);
	cr_assert_eq(after.dispatcher_prog_id, xdp_prog_on("veth0"));
	cr_assert_neq(after.chain_prog_id, before.chain_prog_id);
	cr_assert_eq(chain_table_prog("c0"), after.chain_prog_id);
	fd = bpf_prog_get_fd_by_id(before.chain_prog_id);
	cr_assert_lt(fd, 0, "the previous chain program is still loaded");
	nmr_registry_close(reg);
}

Test(chain, equal_priorities_run_in_registration_order)
{
	const __u8 want[] = { STAMP(1, 7), STAMP(1, 8), STAMP(1, 9) };
	struct cli_result r;
	int rx;

	stamp("a", 7, "");
	stamp("b", 8, "");
	stamp("c", 9, "");
	rx = rx_open("veth0");
	cr_assert_eq(send_frames("veth1", 10), 10);
	cr_assert_eq(expect_traces(rx, want, 3, 10), 10);
	cr_assert_eq(cli(&r, "-j binding list --client c0"), 0);
	cr_assert(strstr(r.out, "\"name\":\"c0:a\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"state\":\"bound\",\"position\":0"), "%s", r.out);
}

Test(chain, continue_on_verdicts_decide_whether_the_next_provider_runs)
{
	const __u8 both[] = { STAMP(1, 1), STAMP(1, 2) };
	int rx;

	stamp("s1", 1, "--priority 1 --continue-on pass,drop");
	stamp("s2", 2, "--priority 2");
	rx = rx_open("veth0");

	/* s1 drops, but drop is in its continue-on set: s2 runs and passes */
	cr_assert_eq(set_binding_context("c0:s1", 1, XDP_DROP), 0);
	cr_assert_eq(send_frames("veth1", 10), 10);
	cr_assert_eq(expect_traces(rx, both, 2, 10), 10);

	/* s1 aborts, not in its set: final, s2 never sees the frame */
	cr_assert_eq(set_binding_context("c0:s1", 1, XDP_ABORTED), 0);
	cr_assert_eq(send_frames("veth1", 10), 10);
	cr_assert_eq(rx_count(rx), 0);
	cr_assert_eq(counts_of("c0:s2").packets, 10);

	/* s1 passes, s2 (the last) drops: the last verdict is final */
	cr_assert_eq(set_binding_context("c0:s1", 1, XDP_PASS), 0);
	cr_assert_eq(set_binding_context("c0:s2", 2, XDP_DROP), 0);
	cr_assert_eq(send_frames("veth1", 10), 10);
	cr_assert_eq(rx_count(rx), 0);

	struct nmr_binding_counts c1 = counts_of("c0:s1"), c2 = counts_of("c0:s2");

	cr_assert_eq(c1.verdicts[NMR_VERDICT_INDEX(XDP_DROP)], 10);
	cr_assert_eq(c1.verdicts[NMR_VERDICT_INDEX(XDP_ABORTED)], 10);
	cr_assert_eq(c1.verdicts[NMR_VERDICT_INDEX(XDP_PASS)], 10);
	cr_assert_eq(c2.verdicts[NMR_VERDICT_INDEX(XDP_PASS)], 10);
	cr_assert_eq(c2.verdicts[NMR_VERDICT_INDEX(XDP_DROP)], 10);
}

/* Client c0's pinned LEAF, opened. */
static int c0_pin(const char *leaf)
{
	const char *path = client_pin("c0", leaf);
	int fd = bpf_obj_get(path);

	cr_assert_geq(fd, 0, "c0's %s (%s): %s", leaf, path, strerror(errno));
	return fd;
}

/* c0's program LEAF, run on one frame with BPF_PROG_TEST_RUN. */
static int test_run_leaf(const char *leaf, unsigned char *frame, __u32 *retval)
{
	unsigned char out[256];
	int fd = c0_pin(leaf), err;

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = 64,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	err = bpf_prog_test_run_opts(fd, &opts);
	close(fd);
	memcpy(frame, out, 64);
	*retval = opts.retval;
	return err;
}

static int test_run(unsigned char *frame, __u32 *retval)
{
	return test_run_leaf("dispatcher", frame, retval);
}

Test(chain, the_same_chain_under_bpf_prog_test_run)
{
	unsigned char frame[64];
	__u32 retval;

	stamp("s1", 1, "--priority 2");
	stamp("s2", 2, "--priority 1 --continue-on pass,tx");
	stamp("s3", 3, "--priority 3");

	memset(frame, 0, sizeof(frame));
	cr_assert_eq(test_run(frame, &retval), 0);
	cr_assert_eq(retval, XDP_PASS);
	cr_assert_eq(frame[TRACE_OFF], STAMP(1, 2));
	cr_assert_eq(frame[TRACE_OFF + 1], STAMP(1, 1));
	cr_assert_eq(frame[TRACE_OFF + 2], STAMP(1, 3));
	cr_assert_eq(frame[TRACE_OFF + 3], 0);

	/* s1 (second) returns TX, not in its set: the chain ends with XDP_TX */
	cr_assert_eq(set_binding_context("c0:s1", 1, XDP_TX), 0);
	memset(frame, 0, sizeof(frame));
	cr_assert_eq(test_run(frame, &retval), 0);
	cr_assert_eq(retval, XDP_TX);
	cr_assert_eq(frame[TRACE_OFF + 1], STAMP(1, 1));
	cr_assert_eq(frame[TRACE_OFF + 2], 0, "s3 ran after a final verdict");
}

Test(chain, a_bind_beyond_the_chain_limit_is_that_pairs_decline)
{
	struct cli_result r;
	__u32 chain;

	for (int i = 1; i <= NMR_MAX_CHAIN; i++)
		cr_assert_eq(cli(&r, "provider register %s --npi demo --name p%d",
				 bpf_obj("frame_counter"), i), 0, "p%d: %s", i, r.err);
	chain = chain_table_prog("c0");
	/* the provider registers; the pair is declined, saying why; the chain is untouched */
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name p33",
			 bpf_obj("frame_counter")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "binding show c0:p33"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "declined"), "%s", r.out);
	cr_assert(strstr(r.out, "chain full"), "%s", r.out);
	cr_assert_eq(chain_table_prog("c0"), chain, "the declined pair changed the chain");
	/* all 32 run: every provider counts every frame */
	cr_assert_eq(send_frames("veth1", 3), 3);
	cr_assert_eq(pinned_u64(provider_map("p1", "frame_counts"), 0), 3);
	cr_assert_eq(pinned_u64(provider_map("p32", "frame_counts"), 0), 3);
}

Test(chain, replace_keeps_position_slot_and_counters)
{
	const __u8 v1[] = { STAMP(1, 1), STAMP(1, 2), STAMP(1, 3) };
	const __u8 v2[] = { STAMP(1, 1), STAMP(2, 2), STAMP(1, 3) };
	struct nmr_registry *reg;
	struct nmr_binding_record before, after;
	struct cli_result r;
	int rx;

	stamp("s1", 1, "--priority 1");
	stamp("s2", 2, "--priority 2");
	stamp("s3", 3, "--priority 3");
	rx = rx_open("veth0");
	cr_assert_eq(send_frames("veth1", 10), 10);
	cr_assert_eq(expect_traces(rx, v1, 3, 10), 10);
	reg = open_registry();
	cr_assert_eq(nmr_binding_find(reg, "c0:s2", &before), 0);

	cr_assert_eq(cli(&r, "provider replace s2 %s", test_obj("stamp_v2")), 0, "%s", r.err);
	cr_assert_eq(send_frames("veth1", 10), 10);
	cr_assert_eq(expect_traces(rx, v2, 3, 10), 10, "the new version does not run in place");

	cr_assert_eq(nmr_binding_find(reg, "c0:s2", &after), 0);
	cr_assert(nmr_guid_equal(&before.id, &after.id));
	cr_assert_eq(after.position, before.position);
	cr_assert_eq(after.context_index, before.context_index);
	cr_assert_neq(after.prog_id, before.prog_id, "the instance was not rebuilt");
	nmr_registry_close(reg);
	cr_assert_eq(counts_of("c0:s2").packets, 20, "counters restarted");
	/* the old instance is gone from the kernel */
	cr_assert_lt(bpf_prog_get_fd_by_id(before.prog_id), 0);
}

Test(chain, replace_with_a_bad_object_changes_nothing)
{
	struct cli_result r;
	char *before, *after;

	stamp("s1", 1, "");
	before = registry_snapshot();
	cli(&r, "provider replace s1 %s", test_obj("verifier_reject"));
	cr_assert_neq(r.status, 0);
	cr_assert(strstr(r.err, "rejected by the verifier"), "%s", r.err);
	cli(&r, "provider replace s1 %s", test_obj("tc_ok"));
	cr_assert_neq(r.status, 0, "a sched_cls program replaced an xdp provider");
	cr_assert(strstr(r.err, "is of type sched_cls"), "%s", r.err);
	after = registry_snapshot();
	cr_assert_str_eq(after, before);
	free(before);
	free(after);
}

/*
 * The hook runs the client's dispatcher, which never changes; every change
 * of the chain is what slot 0 of the client's chain table holds, read back.
 */
Test(chain, the_chain_table_holds_the_running_chain_after_every_change)
{
	struct nmr_registry *reg;
	struct nmr_client_record c;
	unsigned char frame[64];
	struct cli_result r;
	__u32 retval, dispatcher, seen[8];
	int n = 0;

	reg = open_registry();
	cr_assert_eq(nmr_client_find(reg, "c0", &c), 0);
	dispatcher = c.dispatcher_prog_id;
	cr_assert_eq(xdp_prog_on("veth0"), dispatcher);

	/* empty: the dispatcher passes and counts the packet as finding no provider */
	cr_assert_eq(chain_table_prog("c0"), 0);
	memset(frame, 0, sizeof(frame));
	cr_assert_eq(test_run(frame, &retval), 0);
	cr_assert_eq(retval, XDP_PASS);
	{
		struct nmr_client_counts cc;

		cr_assert_eq(nmr_client_counts(reg, &c, &cc), 0);
		cr_assert_eq(cc.no_provider, 1);
	}
	stamp("s1", 1, "--priority 1");					/* bind */
	seen[n++] = chain_table_prog("c0");
	stamp("s2", 2, "--priority 2");					/* bind */
	seen[n++] = chain_table_prog("c0");
	cr_assert_eq(cli(&r, "provider replace s1 %s", test_obj("stamp_v2")), 0, "%s", r.err);
	seen[n++] = chain_table_prog("c0");
	cr_assert_eq(cli(&r, "provider deregister s2"), 0, "%s", r.err);	/* unbind */
	seen[n++] = chain_table_prog("c0");
	for (int i = 0; i < n; i++) {
		cr_assert_neq(seen[i], 0, "change %d left the table empty", i);
		for (int j = 0; j < i; j++)
			cr_assert_neq(seen[i], seen[j], "changes %d and %d: the same chain", j, i);
	}
	/* the record, bpftool and the kernel agree on what runs */
	cr_assert_eq(nmr_client_find(reg, "c0", &c), 0);
	cr_assert_eq(c.chain_prog_id, seen[n - 1]);
	/* a prog array has no BTF: bpftool shows the program id as its bytes */
	cr_assert_eq(sh("bpftool map dump pinned %s/client/*/chain_table | "
			"grep -q 'value: %02x %02x %02x %02x'", env.root, seen[n - 1] & 0xff,
			(seen[n - 1] >> 8) & 0xff, (seen[n - 1] >> 16) & 0xff, seen[n - 1] >> 24), 0);
	memset(frame, 0, sizeof(frame));
	cr_assert_eq(test_run(frame, &retval), 0);
	cr_assert_eq(frame[TRACE_OFF], STAMP(2, 1), "the replaced s1 does not run");
	cr_assert_eq(frame[TRACE_OFF + 1], 0, "the deregistered s2 still runs");

	/* no provider left: a chain of none (writing a slot is cheap, emptying it is not) */
	cr_assert_eq(cli(&r, "provider deregister s1"), 0, "%s", r.err);
	cr_assert_eq(nmr_client_find(reg, "c0", &c), 0);
	cr_assert_eq(c.nchain, 0);
	cr_assert_neq(c.chain_prog_id, seen[n - 1]);
	cr_assert_eq(chain_table_prog("c0"), c.chain_prog_id);
	memset(frame, 0, sizeof(frame));
	cr_assert_eq(test_run(frame, &retval), 0);
	cr_assert_eq(retval, XDP_PASS);
	cr_assert_eq(frame[TRACE_OFF], 0);
	{
		struct nmr_client_counts cc;

		cr_assert_eq(nmr_client_counts(reg, &c, &cc), 0);
		cr_assert_eq(cc.no_provider, 2, "the empty chain did not count the packet");
	}
	cr_assert_eq(c.dispatcher_prog_id, dispatcher, "the dispatcher changed");
	cr_assert_eq(xdp_prog_on("veth0"), dispatcher);
	nmr_registry_close(reg);
}

/* 100 changes of one client's chain: the hook's program is the same throughout. */
Test(chain, the_dispatcher_never_changes_across_100_changes)
{
	NMR_OPTS(nmr_provider_opts, po, .npi = "demo", .name = "churn");
	struct nmr_registry *reg;
	struct nmr_client_record c;
	__u32 dispatcher, last = 0;

	stamp("s1", 1, "--priority 1");
	reg = open_registry();
	cr_assert_eq(nmr_client_find(reg, "c0", &c), 0);
	dispatcher = c.dispatcher_prog_id;
	po.object_path = bpf_obj("frame_counter");
	for (int i = 0; i < 50; i++) {
		__u32 now;

		cr_assert_eq(nmr_provider_register(reg, &po, NULL), 0, "%s", nmr_last_error());
		now = chain_table_prog("c0");
		cr_assert_neq(now, last);
		cr_assert_eq(nmr_provider_deregister(reg, "churn"), 0, "%s", nmr_last_error());
		last = chain_table_prog("c0");
		cr_assert_neq(now, last);
		cr_assert_eq(xdp_prog_on("veth0"), dispatcher, "change %d", 2 * i);
	}
	cr_assert_eq(nmr_client_find(reg, "c0", &c), 0);
	cr_assert_eq(c.dispatcher_prog_id, dispatcher);
	cr_assert_eq(c.chain_prog_id, last);
	nmr_registry_close(reg);
}

Test(chain, xdp_frags_mismatch_is_that_pairs_decline)
{
	struct cli_result r;

	/* c0 (the fixture's): a plain xdp dispatcher */
	cr_assert_eq(cli(&r, "provider register %s --npi demo", test_obj("frags_pass")), 0,
		     "%s", r.err);
	cr_assert_eq(cli(&r, "binding show c0:frags_pass"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "declined"), "%s", r.out);
	cr_assert(strstr(r.out, "is xdp.frags but client c0 has a plain xdp"), "%s", r.out);
	cr_assert_eq(chain_table_prog("c0"), 0, "the declined pair is in the chain");
	cr_assert_eq(cli(&r, "provider deregister frags_pass"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "client deregister c0"), 0);
	cr_assert_eq(cli(&r, "client register --npi demo --dev veth0 --netns %s --name c1 "
			 "--xdp-frags", env.netns), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi demo", test_obj("frags_pass")), 0,
		     "%s", r.err);
	cr_assert_eq(send_frames("veth1", 5), 5);
	cr_assert_eq(counts_of("c1:frags_pass").packets, 5);
	/* and a plain provider is declined by the frags client, saying what to do */
	cr_assert_eq(cli(&r, "provider register %s --npi demo", bpf_obj("frame_counter")), 0,
		     "%s", r.err);
	cr_assert_eq(cli(&r, "binding show c1:frame_counter"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "build the provider with SEC(\"xdp.frags\")"), "%s", r.out);
}

Test(chain, force_replaces_a_foreign_program)
{
	struct cli_result r;
	struct bpf_object *obj;
	int saved;

	/* veth0 without the fixture's client, a foreign program on it instead */
	cr_assert_eq(cli(&r, "client deregister c0"), 0, "%s", r.err);
	cr_assert_eq(xdp_prog_on("veth0"), 0);
	obj = bpf_object__open_file(test_obj("two_progs"), NULL);
	cr_assert(obj && !bpf_object__load(obj));
	cr_assert_eq(netns_enter(&saved), 0);
	cr_assert_eq(bpf_xdp_attach(if_nametoindex("veth0"),
				    bpf_program__fd(bpf_object__find_program_by_name(obj,
										"plain_drop")),
				    XDP_FLAGS_DRV_MODE, NULL), 0);
	netns_leave(saved);
	bpf_object__close(obj);

	cr_assert_neq(cli(&r, "client register --npi demo --dev veth0 --netns %s", env.netns), 0);
	cr_assert_eq(cli(&r, "client register --npi demo --dev veth0 --netns %s --name c0 "
			 "--force", env.netns), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "-j client show c0"), 0);
	cr_assert(strstr(r.out, "\"dispatcher_prog_id\""), "%s", r.out);
	int rx = rx_open("veth0");

	cr_assert_eq(send_frames("veth1", 5), 5);
	cr_assert_eq(rx_wait(rx, 5, 2.0), 5, "the foreign XDP_DROP program still runs");
}
