// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A TC program: the wrong type for an XDP NPI. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_ok(struct __sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
