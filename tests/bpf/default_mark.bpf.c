// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A client's default action (slot 0 of its dispatch table): runs after the
 * last provider hands the frame on; marks the trace with 0x3f and passes.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TRACE_OFF 24
#define TRACE_LEN 32

SEC("xdp")
int default_mark(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u8 *trace = data + TRACE_OFF;

	if ((void *)(trace + TRACE_LEN) <= end) {
		for (int i = 0; i < TRACE_LEN; i++) {
			if (!trace[i]) {
				trace[i] = 0x3f;
				break;
			}
		}
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
