// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The naive chain the benchmark compares against: one prog array for the
 * whole chain and the position in a per-CPU cursor, so every hop tail-calls
 * with a key read at run time (which the JIT cannot turn into a direct jump:
 * it goes through a retpoline). Each hop counts its verdict like a provider
 * of ours does. Also two trivial programs for the link and netlink swaps.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nmr_maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cursor SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, NMR_MAX_CHAIN);
	__type(key, __u32);
	__type(value, __u32);
} naive_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nmr_binding_stats);
} naive_stats SEC(".maps");

SEC("xdp")
int naive_dispatcher(struct xdp_md *ctx)
{
	__u32 zero = 0, *pos = bpf_map_lookup_elem(&cursor, &zero);

	if (!pos)
		return XDP_PASS;
	*pos = 0;
	bpf_tail_call(ctx, &naive_table, *(volatile __u32 *)pos);
	return XDP_PASS;
}

SEC("xdp")
int naive_provider(struct xdp_md *ctx)
{
	__u32 zero = 0, *pos = bpf_map_lookup_elem(&cursor, &zero);
	struct nmr_binding_stats *stats = bpf_map_lookup_elem(&naive_stats, &zero);

	if (stats)
		stats->verdicts[NMR_VERDICT_INDEX(XDP_PASS)]++;
	if (!pos)
		return XDP_PASS;
	*pos += 1;
	bpf_tail_call(ctx, &naive_table, *(volatile __u32 *)pos);
	return XDP_PASS;
}

SEC("xdp")
int xdp_a(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_b(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The live-rate baseline: a program alone on the device that counts what it runs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} live_count SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&live_count, &zero);

	if (n)
		(*n)++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * The floor: a chain of programs that do nothing but tail-call their own
 * one-slot table with a constant key, what the kernel charges per hop.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bare_next SEC(".maps");

SEC("xdp")
int bare_hop(struct xdp_md *ctx)
{
	bpf_tail_call_static(ctx, &bare_next, 0);
	return XDP_PASS;
}
