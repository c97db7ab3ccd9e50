// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Two plain XDP programs (no nmr-bpf header): for --prog and for foreign attachments. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int plain_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int plain_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
