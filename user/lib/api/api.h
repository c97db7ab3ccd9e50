/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The api layer: the public declarative calls (npi, provider, client, binding,
 * registry, apply, dump, metrics, monitor) on top of the engine. It never calls
 * the live layer: live modules are told of changes through the store's observer.
 */
#ifndef NMR_API_H
#define NMR_API_H

#include "engine/engine.h"

/* ---- registration with an owner (live modules) and a default action ---- */
int nmr_client_register_owned(struct nmr_registry *reg, const struct nmr_client_opts *opts,
			      bool live, bool persistent, int default_fd,
			      struct nmr_client_record *out);
int nmr_provider_register_owned(struct nmr_registry *reg, const struct nmr_provider_opts *opts,
				bool live, bool persistent, struct nmr_provider_record *out);

/* ---- reap.c: deregistering modules by owner ---- */
typedef bool (*nmr_owner_match_fn)(const struct nmr_owner *owner, const void *ctx);
void nmr_deregister_where(struct nmr_registry *reg, nmr_owner_match_fn match, const void *ctx,
			  struct nmr_problems *r);
/* Deregisters the modules a process owned (its watchdog, once it ended). */
int nmr_reap_owner(struct nmr_registry *reg, __u32 pid, __u64 start_time);
/* Deregisters the modules of owners that ended with their watchdog (on opening a registry). */
void nmr_reap_orphans(struct nmr_registry *reg);

/* ---- snapshot.c: the records at one generation, read under one lock ---- */
struct nmr_snapshot {
	__u64 generation;
	struct nmr_npi_record *npis;
	struct nmr_provider_record *provs;
	struct nmr_client_record *clients;
	struct nmr_binding_record *binds;
	size_t nn, np, nc, nb;
};
int nmr_snapshot_take(struct nmr_registry *reg, struct nmr_snapshot *s);
void nmr_snapshot_free(struct nmr_snapshot *s);

#endif /* NMR_API_H */
