// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Linker test provider, unmodified (no nmr-bpf header): a bpf_loop callback
 * sums the first 16 bytes of the frame into a map and writes the sum's low
 * byte into byte 20; passes when the sum is even, drops otherwise.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} lk_loop_sum SEC(".maps");

struct loop_ctx {
	struct xdp_md *xdp;
	__u64 sum;
};

static long add_byte(__u32 i, void *arg)
{
	struct loop_ctx *c = arg;
	__u8 *data = (void *)(long)c->xdp->data, *end = (void *)(long)c->xdp->data_end;

	if (i >= 16 || data + i + 1 > end)
		return 1;
	c->sum += data[i & 15];
	return 0;
}

SEC("xdp")
int lk_loop(struct xdp_md *ctx)
{
	struct loop_ctx c = { .xdp = ctx };
	__u32 k = 0, runs = 1;
	__u8 *data, *end;
	__u64 *v;

	bpf_loop(16, add_byte, &c, 0);
	v = bpf_map_lookup_elem(&lk_loop_sum, &k);
	if (v)
		*v = c.sum;
	v = bpf_map_lookup_elem(&lk_loop_sum, &runs);
	if (v)
		*v += 1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + 21 > end)
		return XDP_ABORTED;
	data[20] = c.sum;
	return c.sum & 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
