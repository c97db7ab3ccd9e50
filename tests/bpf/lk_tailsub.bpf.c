// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Linker test provider, unmodified: a tail call made in a subprogram (into
 * an empty table: it falls through), and a global function; the verdict is
 * the global function's: TX when byte 0 is 0x02, else pass.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} lk_jmp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lk_tail_missed SEC(".maps");

static __attribute__((noinline)) int try_tail(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v;

	bpf_tail_call(ctx, &lk_jmp, 0);
	v = bpf_map_lookup_elem(&lk_tail_missed, &k);
	if (v)
		*v += 1;
	return 0;
}

__attribute__((noinline)) int lk_global_verdict(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (!ctx || data + 1 > end)
		return XDP_ABORTED;
	return data[0] == 0x02 ? XDP_TX : XDP_PASS;
}

SEC("xdp")
int lk_tailsub(struct xdp_md *ctx)
{
	try_tail(ctx);
	return lk_global_verdict(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
