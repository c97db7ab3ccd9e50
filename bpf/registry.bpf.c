// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The registry: maps only, no programs. Loading this object with a pin root
 * creates (or reopens) the registry maps pinned by name under that root, with
 * BTF, so that `bpftool map dump pinned ROOT/providers` prints named fields.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "nmr_maps.bpf.h"

#define NMR_PINNED __uint(pinning, LIBBPF_PIN_BY_NAME);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nmr_registry_meta);
	NMR_PINNED
} meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NMR_MAX_NPIS);
	__type(key, struct nmr_guid);
	__type(value, struct nmr_npi_record);
	NMR_PINNED
} npis SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NMR_MAX_PROVIDERS);
	__type(key, struct nmr_guid);
	__type(value, struct nmr_provider_record);
	NMR_PINNED
} providers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NMR_MAX_CLIENTS);
	__type(key, struct nmr_guid);
	__type(value, struct nmr_client_record);
	NMR_PINNED
} clients SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NMR_MAX_BINDINGS);
	__type(key, struct nmr_guid);
	__type(value, struct nmr_binding_record);
	NMR_PINNED
} bindings SEC(".maps");

NMR_DEFINE_BINDING_CONTEXTS_MAP(binding_contexts, NMR_PINNED);

/*
 * Not pinned: the BTF source of each client's counters (client/<id>/stats),
 * an array of this value per CPU that the registrar describes with this BTF
 * so bpftool names the fields (chain.c, nmr_chain_stats_create()).
 */
NMR_DEFINE_CHAIN_STATS_MAP(chain_stats);

char LICENSE[] SEC("license") = "Dual BSD/GPL";
