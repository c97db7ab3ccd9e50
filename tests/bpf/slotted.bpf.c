// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A provider of an NPI with two slots: main_path is what a client's chain
 * runs (it hands frames on); aux_path is its second function, reached
 * through the provider's dispatch table (it answers XDP_TX).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nmr_provider.h"

SEC("xdp")
int main_path(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int aux_path(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
