// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Linker test provider, unmodified: bpf_redirect_map() into a devmap (the
 * kernel marks every devmap BPF_F_RDONLY_PROG); with no device in the slot
 * the verdict is the fallback, XDP_PASS. Counts its runs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} lk_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} lk_ports_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lk_redirects SEC(".maps");

SEC("xdp")
int lk_redirect(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&lk_redirects, &k);

	if (v)
		*v += 1;
	if (ctx->rx_queue_index == 99)
		return bpf_redirect_map(&lk_ports_hash, 1, XDP_PASS);
	return bpf_redirect_map(&lk_ports, 1, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
