// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Example provider: counts the frames and bytes it sees, then hands the frame
 * on (its verdict is XDP_PASS, which by default continues the chain).
 * Its map is the provider's own state: shared by all of its bindings and
 * pinned under the provider's registry directory.
 *
 * Built on the uapi headers, not vmlinux.h: context fields need no CO-RE, and
 * an object without CO-RE relocations loads without libbpf parsing the
 * kernel's BTF, which makes every bind of it several times cheaper.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nmr_provider.h"

struct frame_count {
	__u64 frames;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frame_count);
} frame_counts SEC(".maps");

SEC("xdp")
int frame_counter(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct frame_count *count = bpf_map_lookup_elem(&frame_counts, &key);

	if (count) {
		__sync_fetch_and_add(&count->frames, 1);
		__sync_fetch_and_add(&count->bytes, ctx->data_end - ctx->data);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
