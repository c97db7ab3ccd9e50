// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Linker test provider: calls go 8 frames deep, the kernel's limit, which
 * loads alone but cannot be called from a chain: refused at registration.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define LEVEL(n, next)								\
	static __attribute__((noinline)) int f##n(volatile int x)		\
	{									\
		return next(x + 1) + 1;						\
	}

static __attribute__((noinline)) int f7(volatile int x)
{
	return x;
}
LEVEL(6, f7)
LEVEL(5, f6)
LEVEL(4, f5)
LEVEL(3, f4)
LEVEL(2, f3)
LEVEL(1, f2)

SEC("xdp")
int lk_deep8(struct xdp_md *ctx)
{
	return f1(ctx->rx_queue_index) > 100 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
