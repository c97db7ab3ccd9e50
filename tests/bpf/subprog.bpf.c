// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A provider whose work is in a subprogram and on its stack, to check that
 * the chain links a provider's subprograms and keeps clear of its stack. It
 * stamps the trace like stamp.bpf.c, with the id in byte 0 of its binding
 * context, and passes.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nmr_provider.h"

#define TRACE_OFF 24
#define TRACE_LEN 32

static __attribute__((noinline)) int stamp_trace(struct xdp_md *ctx, __u8 mark)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u8 *trace = data + TRACE_OFF;

	if ((void *)(trace + TRACE_LEN) > end)
		return 0;
	for (int i = 0; i < TRACE_LEN; i++) {
		if (!trace[i]) {
			trace[i] = mark;
			return 1;
		}
	}
	return 0;
}

SEC("xdp")
int subprog(struct xdp_md *ctx)
{
	struct nmr_binding_context *bctx = nmr_binding_context();
	volatile __u8 scratch[64];

	for (int i = 0; i < 64; i++)
		scratch[i] = i;
	scratch[7] = bctx ? bctx->data[0] : 0;
	stamp_trace(ctx, (1 << 6) | (scratch[7] & 0x3f));
	return scratch[63] == 63 ? XDP_PASS : XDP_ABORTED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
