// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Linker test provider, unmodified: a big stack with subprograms. Its main
 * function hands a pointer to the bottom of its 256 bytes of stack to a
 * subprogram that writes all of it, and that one calls another with 160
 * bytes of its own: 416+ bytes deep, which in a chain leaves no room for
 * anything of the chain's own on the providers' stack. Writes a checksum
 * into byte 22 and passes.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) __u64 inner(__u64 seed)
{
	volatile __u64 w[20];
	__u64 s = 0;

	for (int i = 0; i < 20; i++)
		w[i] = seed * i;
	for (int i = 0; i < 20; i++)
		s += w[i];
	return s;
}

static __attribute__((noinline)) __u64 fill(volatile __u64 *p, __u64 seed)
{
	for (int i = 0; i < 32; i++)
		p[i] = seed + i;
	return inner(seed);
}

SEC("xdp")
int lk_deep(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	volatile __u64 buf[32];
	__u64 sum;

	if (data + 23 > end)
		return XDP_ABORTED;
	sum = fill(buf, data[3]);
	for (int i = 0; i < 32; i++)
		sum += buf[i];
	data[22] = sum;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
