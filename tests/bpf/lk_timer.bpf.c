// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Linker test provider, unmodified: a bpf_timer with a callback (set, never
 * started: the callback's address must carry its BTF in the chain); counts
 * its runs and the timer calls that succeeded; passes.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CLOCK_MONOTONIC 1

struct timer_val {
	struct bpf_timer t;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct timer_val);
} lk_timers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} lk_timer_runs SEC(".maps");

static int on_timer(void *map, __u32 *key, struct timer_val *v)
{
	return 0;
}

SEC("xdp")
int lk_timer(struct xdp_md *ctx)
{
	__u32 k = 0, ok = 1;
	struct timer_val *t = bpf_map_lookup_elem(&lk_timers, &k);
	__u64 *runs = bpf_map_lookup_elem(&lk_timer_runs, &k);
	__u64 *oks = bpf_map_lookup_elem(&lk_timer_runs, &ok);

	if (runs)
		*runs += 1;
	if (t && !bpf_timer_set_callback(&t->t, on_timer) && oks)
		*oks += 1;
	if (t)
		bpf_timer_init(&t->t, &lk_timers, CLOCK_MONOTONIC);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
