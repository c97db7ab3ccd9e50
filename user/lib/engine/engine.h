/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The engine: policy (which pairs are bound, characteristics, declines) and
 * commit (one client's change as one transaction that ends in one swap), and
 * recovery, which finishes or undoes what a killed command left.
 */
#ifndef NMR_ENGINE_H
#define NMR_ENGINE_H

#include "bpf/nmr_bpf.h"

/* ---- characteristics.c ---- */
int nmr_attach_decision(const struct nmr_client_record *client, size_t bound,
			const struct nmr_provider_record *provider, char *reason, size_t len);
int nmr_frags_check(const struct nmr_client_record *client,
		    const struct nmr_provider_record *provider);

/* ---- npi_chars.c: NPI-defined characteristics (BTF) ---- */
/* The NPI's structs from opts (before the lock): *out NULL when it defines none. */
struct nmr_npi_btf;
int nmr_npi_btf_import(const struct nmr_npi_opts *opts, struct nmr_npi_btf **out);
void nmr_npi_btf_free(struct nmr_npi_btf *nb);
/* npi/<id>/ and its maps; undone by nmr_npi_chars_destroy(). */
int nmr_npi_chars_create(struct nmr_registry *reg, const struct nmr_npi_record *npi,
			 const struct nmr_npi_btf *nb);
void nmr_npi_chars_destroy(struct nmr_registry *reg, const struct nmr_guid *npi);
/*
 * A module's values, checked and made (under the lock, before its record): *out a
 * malloc'd struct of *size bytes, or NULL when the NPI defines none (then none may be
 * given). requires (clients only) is filled from opts' conditions.
 */
int nmr_npi_chars_make(struct nmr_registry *reg, const struct nmr_npi_record *npi,
		       enum nmr_module_kind kind, const char *module, const void *chars,
		       size_t chars_size, const char *const *fields, void **out, __u32 *size);
int nmr_npi_requires_make(struct nmr_registry *reg, const struct nmr_npi_record *npi,
			  const char *client, const char *const *conds,
			  struct nmr_npi_requires *out);
/* Written or removed with the module's record (value NULL: nothing to write). */
int nmr_npi_chars_store(struct nmr_registry *reg, const struct nmr_guid *npi,
			enum nmr_module_kind kind, const struct nmr_guid *module, const void *value,
			const struct nmr_npi_requires *requires);
void nmr_npi_chars_remove(struct nmr_registry *reg, const struct nmr_guid *npi,
			  enum nmr_module_kind kind, const struct nmr_guid *module);
/* A declarative client's conditions on the provider's struct: 1 accept, 0 decline (reason). */
int nmr_npi_decision(struct nmr_registry *reg, const struct nmr_client_record *client,
		     const struct nmr_provider_record *prov, char *reason, size_t len);
/*
 * Fills ri's npi_characteristics from the peer's entry (ri->kind, module_id, npi_id);
 * returns the buffer to free() after the callback, or NULL.
 */
void *nmr_npi_chars_instance(struct nmr_registry *reg, struct nmr_registration_instance *ri);


/* ---- commit.c: one change of one client's chain, a transaction ---- */
/* A provider whose bindings are rebuilt from another object (provider replace). */
struct nmr_replacement {
	struct nmr_provider_record rec;	/* the record as it is to be */
	const void *obj;
	size_t size;
};
/*
 * Makes want[0..n) the client's chain: new bindings (state
 * NMR_BINDING_ATTACHING) get their instances, replaced providers new ones,
 * the chain is linked and loaded, then swapped in with one write of the
 * client's chain table. Bindings that left it are removed. On failure nothing
 * has changed. client is updated to the record as written.
 */
int nmr_chain_commit(struct nmr_registry *reg, struct nmr_client_record *client,
		     struct nmr_binding_record *want, size_t n,
		     const struct nmr_replacement *repl, size_t nrepl);
/* A client's change in flight, finished or undone (recover.c, after a kill). */
int nmr_chain_finish(struct nmr_registry *reg, struct nmr_client_record *client);
int nmr_chain_undo(struct nmr_registry *reg, struct nmr_client_record *client);
/* The records of the client's running chain, in order. */
int nmr_chain_records(struct nmr_registry *reg, const struct nmr_client_record *client,
		      struct nmr_binding_record **out, size_t *count);

/* ---- pairs.c: which pairs are bound (NMR attach and detach) ---- */
/* The one binding id of a client and provider pair. */
void nmr_binding_id(const struct nmr_guid *client, const struct nmr_guid *provider,
		    struct nmr_guid *out);
int nmr_bind_client(struct nmr_registry *reg, struct nmr_client_record *client);
int nmr_bind_one(struct nmr_registry *reg, const struct nmr_client_record *client,
		 const struct nmr_provider_record *prov, struct nmr_binding_record *out);
int nmr_decline_one(struct nmr_registry *reg, const struct nmr_client_record *client,
		    const struct nmr_provider_record *prov, const char *reason);
/* The pair's record in a state that holds no binding: declined, offered, accepted. */
int nmr_pair_note(struct nmr_registry *reg, const struct nmr_client_record *client,
		  const struct nmr_provider_record *prov, enum nmr_binding_state state,
		  const char *reason);
int nmr_unbind_pair(struct nmr_registry *reg, const struct nmr_guid *client,
		    const struct nmr_guid *provider);
int nmr_bind_provider(struct nmr_registry *reg, const struct nmr_provider_record *prov);
int nmr_unbind_client(struct nmr_registry *reg, const struct nmr_client_record *client);
int nmr_unbind_provider(struct nmr_registry *reg, const struct nmr_provider_record *prov);
/* Rebuilds, client by client in one swap each, every binding of the replaced providers. */
int nmr_rebuild_bindings(struct nmr_registry *reg, const struct nmr_replacement *repl,
			 size_t nrepl);
int nmr_bindings_of(struct nmr_registry *reg, const struct nmr_guid *client,
		    const struct nmr_guid *provider, struct nmr_binding_record **out, size_t *count);
/* Whether the pair has a record, bound or declined. */
bool nmr_pair_known(struct nmr_registry *reg, const struct nmr_guid *client,
		    const struct nmr_guid *provider);

/* A batch (apply): provider changes touch records; the settle swaps each client once. */
void nmr_batch_begin(struct nmr_registry *reg);
int nmr_batch_replace(struct nmr_registry *reg, const struct nmr_replacement *r);
int nmr_batch_settle(struct nmr_registry *reg);
/* Every declarative client's chain made what the records say, one commit each. */
int nmr_settle(struct nmr_registry *reg, const struct nmr_replacement *repl, size_t nrepl);

/* ---- recover.c: the next command after a kill ---- */
/* The store's recovery hook: finishes or undoes what a killed holder of the lock left. */
int nmr_recover(struct nmr_registry *reg);
/* Directories and instances no record names: removed, or with found each reported only. */
typedef void (*nmr_orphan_fn)(const char *path, void *ctx);
void nmr_orphans(struct nmr_registry *reg, nmr_orphan_fn found, void *ctx);
/* In npi/<id>/, characteristics entries no record names (npi_chars.c). */
void nmr_npi_chars_orphan_entries(struct nmr_registry *reg, const char *dir, nmr_orphan_fn found,
				  void *ctx);

#endif /* NMR_ENGINE_H */
