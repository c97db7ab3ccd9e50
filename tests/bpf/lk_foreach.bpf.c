// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Linker test provider, unmodified: stores the frame's byte 0 into slot
 * (byte 1 & 7) of a map, then a bpf_for_each_map_elem callback sums the
 * slots into lk_fe_total; passes.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} lk_fe_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lk_fe_total SEC(".maps");

static long add_slot(void *map, __u32 *key, __u64 *val, __u64 *sum)
{
	*sum += *val;
	return 0;
}

SEC("xdp")
int lk_foreach(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u64 sum = 0, *v;
	__u32 k;

	if (data + 2 > end)
		return XDP_ABORTED;
	k = data[1] & 7;
	v = bpf_map_lookup_elem(&lk_fe_slots, &k);
	if (v)
		*v = data[0];
	bpf_for_each_map_elem(&lk_fe_slots, add_slot, &sum, 0);
	k = 0;
	v = bpf_map_lookup_elem(&lk_fe_total, &k);
	if (v)
		*v = sum;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
