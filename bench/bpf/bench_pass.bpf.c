// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The benchmark's provider: no work but what every provider does, count and hand on. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nmr_provider.h"

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
