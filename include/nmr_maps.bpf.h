/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nmr_maps.bpf.h - BPF map definitions of the registry, used by the registry
 * object (which creates and pins them), the dispatcher and the provider SDK
 * (whose copies the registrar replaces with the pinned maps before load).
 * Defined once here so that the three always agree.
 */
#ifndef NMR_MAPS_BPF_H
#define NMR_MAPS_BPF_H

#include "nmr_abi.h"

/* A client's dispatch table entry point and each binding's next hop: one slot. */
#define NMR_DEFINE_HOP_MAP(name)					\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);			\
		__uint(max_entries, 1);					\
		__type(key, __u32);					\
		__type(value, __u32);					\
	} name SEC(".maps")

#define NMR_DEFINE_BINDING_STATS_MAP(name, ...)				\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);		\
		__uint(max_entries, NMR_MAX_BINDINGS);			\
		__type(key, __u32);					\
		__type(value, struct nmr_binding_stats);		\
		__VA_ARGS__						\
	} name SEC(".maps")

#define NMR_DEFINE_BINDING_CONTEXTS_MAP(name, ...)			\
	struct {							\
		__uint(type, BPF_MAP_TYPE_ARRAY);			\
		__uint(max_entries, NMR_MAX_BINDINGS);			\
		__type(key, __u32);					\
		__type(value, struct nmr_binding_context);		\
		__VA_ARGS__						\
	} name SEC(".maps")

#define NMR_DEFINE_CLIENT_STATS_MAP(name, ...)				\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);		\
		__uint(max_entries, NMR_MAX_CLIENTS);			\
		__type(key, __u32);					\
		__type(value, struct nmr_client_stats);			\
		__VA_ARGS__						\
	} name SEC(".maps")

#endif /* NMR_MAPS_BPF_H */
