/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nmr_provider.h - the provider SDK: include it in a BPF program that is to
 * run as an NPI provider in an nmr-bpf chain, and end the program with
 *
 *	return nmr_provider_return(ctx, verdict);
 *
 * If the verdict is in the binding's continue-on set (nmr-bpf provider register
 * --continue-on, default "pass") the packet goes on to the next provider of the
 * client's chain by a constant-key tail call, which the JIT turns into a
 * direct jump; otherwise, or after the last provider, the verdict is final.
 *
 * A program that does not use this header still works as a provider: it ends
 * the chain with its own verdict.
 *
 * nmr_binding_context() gives the program its binding context: per-binding
 * data that user space reads and writes too (libnmrbpf.h).
 */
#ifndef NMR_PROVIDER_H
#define NMR_PROVIDER_H

#include <bpf/bpf_helpers.h>
#include "nmr_maps.bpf.h"

/* Replaced by the registrar, per binding, with the binding's own next hop. */
NMR_DEFINE_HOP_MAP(nmr_next);
/* Replaced by the registry's pinned maps. */
NMR_DEFINE_BINDING_STATS_MAP(nmr_binding_stats);
NMR_DEFINE_BINDING_CONTEXTS_MAP(nmr_binding_contexts);

/* Filled by the registrar for each program instance, frozen before load. */
const volatile struct nmr_instance_config nmr_instance SEC(".rodata.nmr") = {};

static __always_inline struct nmr_binding_context *nmr_binding_context(void)
{
	__u32 slot = nmr_instance.binding_slot;

	return bpf_map_lookup_elem(&nmr_binding_contexts, &slot);
}

static __always_inline int nmr_provider_return(void *ctx, int verdict)
{
	__u32 slot = nmr_instance.binding_slot;
	struct nmr_binding_stats *stats = bpf_map_lookup_elem(&nmr_binding_stats, &slot);

	if (stats)
		stats->verdicts[NMR_VERDICT_INDEX(verdict)]++;
	if (nmr_instance.continue_on & NMR_VERDICT_BIT(verdict)) {
		bpf_tail_call_static(ctx, &nmr_next, 0);
		/*
		 * Only reached when the next slot is empty: the end of the chain,
		 * or a miss if the registrar says a next hop is bound.
		 */
		struct nmr_binding_context *bctx = nmr_binding_context();

		if (stats && bctx && bctx->has_next)
			stats->missed++;
	}
	return verdict;
}

#endif /* NMR_PROVIDER_H */
