// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A provider that writes its signature into the frame: the next free byte of
 * a trace at offset 24 gets (STAMP_VERSION << 6) | id, id being byte 0 of its
 * binding context. Byte 1 of the context, when set, is the verdict + 1 it
 * returns (default XDP_PASS). A received frame thus tells which providers ran
 * on it, in which order, and from which version of the object.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nmr_provider.h"

#ifndef STAMP_VERSION
#define STAMP_VERSION 1
#endif
#define TRACE_OFF 24
#define TRACE_LEN 32

SEC("xdp")
int stamp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct nmr_binding_context *bctx = nmr_binding_context();
	__u8 *trace = data + TRACE_OFF;
	int verdict = XDP_PASS;
	__u8 id = 0;

	if (bctx) {
		id = bctx->data[0];
		if (bctx->data[1])
			verdict = bctx->data[1] - 1;
	}
	if ((void *)(trace + TRACE_LEN) <= end) {
		for (int i = 0; i < TRACE_LEN; i++) {
			if (!trace[i]) {
				trace[i] = (STAMP_VERSION << 6) | (id & 0x3f);
				break;
			}
		}
	}
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
