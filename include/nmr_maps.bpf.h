/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nmr_maps.bpf.h - BPF map definitions of the registry, used by the registry
 * object (which creates and pins them) and the provider SDK (whose copy the
 * registrar replaces with the pinned map before load). Defined once here so
 * that the two always agree.
 */
#ifndef NMR_MAPS_BPF_H
#define NMR_MAPS_BPF_H

#include "nmr_abi.h"

#define NMR_DEFINE_BINDING_CONTEXTS_MAP(name, ...)			\
	struct {							\
		__uint(type, BPF_MAP_TYPE_ARRAY);			\
		__uint(max_entries, NMR_MAX_BINDINGS);			\
		__type(key, __u32);					\
		__type(value, struct nmr_binding_context);		\
		__VA_ARGS__						\
	} name SEC(".maps")

/* The type source of a client's counters: one CPU's parts (nmr_abi.h). */
#define NMR_DEFINE_CHAIN_STATS_MAP(name, ...)				\
	struct {							\
		__uint(type, BPF_MAP_TYPE_ARRAY);			\
		__uint(max_entries, 1);					\
		__type(key, __u32);					\
		__type(value, struct nmr_chain_parts);			\
		__VA_ARGS__						\
	} name SEC(".maps")

#endif /* NMR_MAPS_BPF_H */
