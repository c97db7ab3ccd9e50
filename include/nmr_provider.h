/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nmr_provider.h - the provider SDK: include it in a BPF program that is to
 * run as an NPI provider in an nmr-bpf chain, and end the program with
 *
 *	return nmr_provider_return(ctx, verdict);
 *
 * The registrar links the code of every provider bound to a client into one
 * program, in chain order. If the verdict is in the binding's continue-on set
 * (nmr-bpf provider register --continue-on, default "pass") the next
 * provider's code runs on the same packet; otherwise, or after the last
 * provider, the verdict is final. The chain counts each binding's verdicts.
 *
 * A program that does not use this header still works as a provider: its
 * verdict ends the chain.
 *
 * nmr_binding_context() gives the program its binding context: per-binding
 * data that user space reads and writes too (libnmrbpf.h).
 */
#ifndef NMR_PROVIDER_H
#define NMR_PROVIDER_H

#include <bpf/bpf_helpers.h>
#include "nmr_maps.bpf.h"

/* Replaced by the registry's pinned map. */
NMR_DEFINE_BINDING_CONTEXTS_MAP(nmr_binding_contexts);

/*
 * Filled by the registrar for each program instance, frozen before load. Its
 * section also tells the registrar that the program uses the SDK.
 */
const volatile struct nmr_instance_config nmr_instance SEC(".rodata.nmr")
	__attribute__((used)) = {};

static __always_inline struct nmr_binding_context *nmr_binding_context(void)
{
	__u32 slot = nmr_instance.binding_slot;

	return bpf_map_lookup_elem(&nmr_binding_contexts, &slot);
}

/* Hands the packet on with this verdict (see the top of this file). */
static __always_inline int nmr_provider_return(void *ctx, int verdict)
{
	(void)ctx;
	return verdict;
}

#endif /* NMR_PROVIDER_H */
