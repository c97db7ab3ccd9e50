// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The TC twin of stamp.bpf.c: writes (STAMP_VERSION << 6) | id into the next
 * free byte of the trace at offset 24, id being byte 0 of its binding
 * context, and hands the packet on (TC_ACT_OK).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "nmr_provider.h"

#ifndef STAMP_VERSION
#define STAMP_VERSION 1
#endif
#define TRACE_OFF 24
#define TRACE_LEN 32

SEC("tc")
int tc_stamp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct nmr_binding_context *bctx = nmr_binding_context();
	__u8 *trace = data + TRACE_OFF;
	__u8 id = bctx ? bctx->data[0] : 0;

	if ((void *)(trace + TRACE_LEN) <= end) {
		for (int i = 0; i < TRACE_LEN; i++) {
			if (!trace[i]) {
				trace[i] = (STAMP_VERSION << 6) | (id & 0x3f);
				break;
			}
		}
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
