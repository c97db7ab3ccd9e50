// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The dispatcher: the one program nmr-bpf attaches to a client's hook. It
 * tail-calls, with a constant key, into the client's dispatch table (a
 * one-slot prog array, "root"), whose entry is the first provider of the
 * chain. The JIT turns a constant-key tail call into a direct jump, so the
 * dispatcher costs about nothing; changing the chain is one write of a slot,
 * never a relink of this program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "nmr_maps.bpf.h"

#define TC_ACT_UNSPEC (-1)	/* TCX_NEXT: let the rest of the TC hook decide */

NMR_DEFINE_HOP_MAP(nmr_root);
NMR_DEFINE_CLIENT_STATS_MAP(nmr_client_stats);

const volatile __u32 client_slot = 0;

static __always_inline int dispatch(void *ctx, int empty_chain_verdict)
{
	bpf_tail_call_static(ctx, &nmr_root, 0);

	/* Only reached when no provider is bound. */
	__u32 slot = client_slot;
	struct nmr_client_stats *stats = bpf_map_lookup_elem(&nmr_client_stats, &slot);

	if (stats)
		stats->no_provider++;
	return empty_chain_verdict;
}

SEC("xdp")
int nmr_xdp_dispatcher(struct xdp_md *ctx)
{
	return dispatch(ctx, XDP_PASS);
}

SEC("xdp.frags")
int nmr_xdp_frags_dispatcher(struct xdp_md *ctx)
{
	return dispatch(ctx, XDP_PASS);
}

SEC("tc")
int nmr_tc_dispatcher(struct __sk_buff *skb)
{
	return dispatch(skb, TC_ACT_UNSPEC);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
