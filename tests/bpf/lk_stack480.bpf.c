// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Linker test provider, unmodified: about 480 bytes of stack in its main
 * function and nothing else; writes a checksum of them into byte 21 and
 * passes.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int lk_stack480(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	volatile __u64 buf[60];
	__u64 sum = 0;

	if (data + 22 > end)
		return XDP_ABORTED;
	for (int i = 0; i < 60; i++)
		buf[i] = data[i & 7] + i;
	for (int i = 0; i < 60; i++)
		sum += buf[i];
	data[21] = sum;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
