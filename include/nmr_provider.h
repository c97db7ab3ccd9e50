/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nmr_provider.h - binding contexts for a BPF program that runs as an NPI
 * provider in an nmr-bpf chain.
 *
 * Any XDP or TC program works as a provider without this header: the
 * registrar links the code of every provider bound to a client into one
 * program, in chain order, and hands the packet to the next provider when a
 * provider's verdict is in its continue-on set (nmr-bpf provider register
 * --continue-on; by default XDP_PASS for XDP, TC_ACT_UNSPEC for TC).
 *
 * Include it for nmr_binding_context(): per-binding data that user space
 * reads and writes too (libnmrbpf.h).
 */
#ifndef NMR_PROVIDER_H
#define NMR_PROVIDER_H

#include <bpf/bpf_helpers.h>
#include "nmr_maps.bpf.h"

/* Replaced by the registry's pinned map. */
NMR_DEFINE_BINDING_CONTEXTS_MAP(nmr_binding_contexts);

/* Filled by the registrar for each program instance, frozen before load. */
const volatile struct nmr_instance_config nmr_instance SEC(".rodata.nmr")
	__attribute__((used)) = {};

static __always_inline struct nmr_binding_context *nmr_binding_context(void)
{
	__u32 index = nmr_instance.context_index;

	return bpf_map_lookup_elem(&nmr_binding_contexts, &index);
}

#endif /* NMR_PROVIDER_H */
