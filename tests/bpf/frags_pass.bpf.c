// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A provider built for multi-buffer XDP. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nmr_provider.h"

SEC("xdp.frags")
int frags_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
