/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The store: the registry root on bpffs. Every pin path and leaf name, the
 * records (typed find and list), blobs, the lock and its intent mark, owners.
 * It knows what is kept, not what it means: recovery behind the lock is the
 * engine's (a hook given at open), changes are told to the live layer through
 * an observer.
 */
#ifndef NMR_STORE_H
#define NMR_STORE_H

#include <pthread.h>
#include "base/base.h"

/* Registry directories under the root; one per object, named by GUID. */
#define NMR_PROVIDERS_DIR	"provider"
#define NMR_CLIENTS_DIR		"client"
#define NMR_BINDINGS_DIR	"binding"
#define NMR_NPIS_DIR		"npi"	/* only NPIs that define their own characteristics */

/* Pins under client/<id>/ (bpf/hook.c makes them). */
#define NMR_PIN_DISPATCHER	"dispatcher"	/* the fixed program on the hook */
#define NMR_PIN_CHAIN_TABLE	"chain_table"	/* prog array: slot 0 holds the chain */
#define NMR_PIN_STATS		"stats"		/* the client's counters */
#define NMR_PIN_CLIENT_DISPATCH	"client_dispatch" /* NMR client dispatch table: default action */
#define NMR_PIN_LINK		"link"		/* XDP or TCX link */
/* Pins under provider/<id>/. */
#define NMR_PIN_OBJECT		"object"	/* the provider's ELF object, a blob */
#define NMR_PIN_MAPS		"maps"		/* directory: the maps its instances share */
/* Pins under binding/<id>/<prog id>/: one instance of the provider's program. */
#define NMR_PIN_PROG		"prog"		/* the instance */
#define NMR_PIN_DISPATCH	"dispatch"	/* the provider's dispatch table for it */
#define NMR_PIN_CODE		"code"		/* what the chain links in, a blob */

/* Pins under npi/<id>/ (engine/npi_chars.c): hash maps keyed by module GUID, with the NPI's BTF. */
#define NMR_PIN_PROVIDER_CHARS	"provider_chars"	/* value: struct provider_characteristics */
#define NMR_PIN_CLIENT_CHARS	"client_chars"		/* value: struct client_characteristics */
#define NMR_PIN_CLIENT_REQUIRES	"client_requires"	/* value: struct nmr_npi_requires */

/* Binding slot 0 is never given to a binding: provider templates count there. */
#define NMR_TEMPLATE_CONTEXT	0

struct registry_bpf;
struct nmr_replacement;
struct nmr_registry;

/* The engine's recovery, run by the lock when a holder died (nmr_store_open). */
typedef int (*nmr_recover_fn)(struct nmr_registry *reg);

/* What the live layer is told; set by it when this process registers a live module. */
struct nmr_observer {
	void (*changed)(struct nmr_registry *reg);	/* this process changed the registry */
	void (*closing)(struct nmr_registry *reg);	/* the handle is about to close */
};

struct nmr_registry {
	char root[PATH_MAX - 64];
	int root_fd;			/* flock()ed to serialize registrars */
	__u32 meta_id;			/* the meta map opened: still pinned while live */
	unsigned int flags;
	bool empty;			/* read-only open of a root with no registry */
	int lock_depth;
	bool lock_exclusive;
	pthread_mutex_t mutex;		/* serializes the threads of this process */
	struct registry_bpf *maps;	/* the pinned registry maps */
	int meta_fd, npis_fd, providers_fd, clients_fd, bindings_fd;
	int binding_contexts_fd;
	nmr_recover_fn recover;
	const struct nmr_observer *observer;
	__u64 last_swap_ns;		/* the one write that made the last chain live */
	bool wait_owed;			/* code left a chain: wait before the lock is let go */
	bool unfinished;		/* leave the registry marked: the next command recovers */
	bool force_relink;		/* registry check --repair: relink an unchanged chain */
	bool batch;			/* provider changes wait for nmr_batch_settle() */
	__u64 seen_generation;		/* the registry's, as far as this process has met it */
	__u64 generation_at_lock;
	struct nmr_replacement *batch_repl;
	size_t nbatch_repl;
	/* the live layer's: modules of this process (live/module.c) */
	struct nmr_module *modules;
	struct nmr_binding *live;	/* their bindings, attaching, bound or detaching */
	pthread_t watcher;
	bool watching;
	int inotify_fd, stop_fd;
	int watchdog_pid;
	pthread_mutex_t wait_mutex;
	pthread_cond_t wait_cond;	/* a live binding finished */
	__u64 wait_gen;			/* bindings finished; under wait_mutex */
};

/* Whether a binding record holds a binding context (bound, or being bound by a commit). */
static inline bool nmr_binding_holds_context(const struct nmr_binding_record *b)
{
	return b->state == NMR_BINDING_BOUND || b->state == NMR_BINDING_ATTACHING;
}

/* ---- registry.c: the root, its maps, the lock ---- */
int nmr_store_open(const char *root, unsigned int flags, nmr_recover_fn recover,
		   struct nmr_registry **out);
void nmr_store_close(struct nmr_registry *reg);
/* The BTF of the registry's maps (their record and counter types). */
const struct btf *nmr_registry_btf(const struct nmr_registry *reg);
int nmr_lock(struct nmr_registry *reg, bool exclusive);
void nmr_unlock(struct nmr_registry *reg);
/* The lock let go for a wait on another process, and taken back as deep. */
struct nmr_lock_held {
	int depth;
	bool exclusive;
};
void nmr_lock_let_go(struct nmr_registry *reg, struct nmr_lock_held *held);
void nmr_lock_retake(struct nmr_registry *reg, const struct nmr_lock_held *held);
/* This process changed the registry: the observer (live modules) is told. */
void nmr_changed(struct nmr_registry *reg);
int nmr_path(const struct nmr_registry *reg, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Problems met on the way, kept so that a removal goes on and reports them all. */
struct nmr_problems {
	int err;
	int count;
	char msg[768];
};
void nmr_problem(struct nmr_problems *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Whether root may be destroyed (a directory on bpffs); else an error. */
int nmr_store_destroyable(const char *root);
/* Removes the registry's maps and every name it made (under the exclusive lock). */
void nmr_store_remove(struct nmr_registry *reg, struct nmr_problems *r);

/* ---- intent.c: what the exclusive holder is doing ---- */
/* Marks the registry busy with op; a command that finds it busy recovers first. */
int nmr_intent_begin(struct nmr_registry *reg, enum nmr_intent_op op, const struct nmr_guid *id);
/* The command that set op is done; the lock's holder goes on with others. */
void nmr_intent_done(struct nmr_registry *reg, enum nmr_intent_op op);
void nmr_intent_end(struct nmr_registry *reg);

/* ---- meta.c: the registry meta, generations ---- */
int nmr_meta_get(struct nmr_registry *reg, struct nmr_registry_meta *meta);
int nmr_meta_put(struct nmr_registry *reg, const struct nmr_registry_meta *meta);
int nmr_next_number(struct nmr_registry *reg, __u64 *number);
/* A failed registration puts the registration counter back as it was. */
int nmr_meta_save(struct nmr_registry *reg, struct nmr_registry_meta *meta);
void nmr_meta_restore(struct nmr_registry *reg, const struct nmr_registry_meta *meta);
/* After a change: the registry's generation, and client's when not NULL, go up by one. */
int nmr_generation_bump(struct nmr_registry *reg, const struct nmr_guid *client);
/* Rings the registry's doorbell (every bump does): watchers of any process wake. */
void nmr_doorbell(struct nmr_registry *reg);
/* Binding-context slots: a bit each in the registry meta. */
int nmr_context_alloc(struct nmr_registry *reg, __u32 *slot);
void nmr_context_free(struct nmr_registry *reg, __u32 slot);

/* ---- records.c ---- */
/* Reads every value of a hash map of records into a malloc'd array. */
int nmr_records_read(int map_fd, size_t value_size, size_t max, void **out, size_t *count);
int nmr_record_find(struct nmr_registry *reg, int map_fd, size_t value_size, size_t name_off,
		    const char *kind, const char *ident, void *out);
int nmr_record_unique(struct nmr_registry *reg, int map_fd, size_t value_size, size_t name_off,
		      const char *kind, const struct nmr_guid *id, const char *name);
/* Locked: all records in registration order; one record by GUID or name. */
int nmr_records_list(struct nmr_registry *reg, int map_fd, size_t size, size_t max,
		     size_t number_off, void **out, size_t *count);
int nmr_records_lookup(struct nmr_registry *reg, int map_fd, size_t size, size_t name_off,
		       const char *kind, const char *ident, void *out);

/* ---- record_check.c ---- */
/*
 * Checks a record read back from a registry map (its kind told by size): ends its strings
 * within their fields and puts counts in range, in place, so it is safe to print; returns
 * -EBADMSG when it was damaged (a record to refuse, not to act on).
 */
int nmr_record_check(void *rec, size_t size);

/* ---- paths.c: every path of the registry on bpffs ---- */
/* provider/<id>[/leaf], client/<id>[/leaf], binding/<id>[/<prog_id>][/leaf]. */
int nmr_provider_path(struct nmr_registry *reg, const struct nmr_guid *id, const char *leaf,
		      char *buf, size_t len);
int nmr_client_path(struct nmr_registry *reg, const struct nmr_client_record *client,
		    const char *leaf, char *buf, size_t len);
int nmr_binding_path(struct nmr_registry *reg, const struct nmr_guid *id, __u32 prog_id,
		     const char *leaf, char *buf, size_t len);
/* npi/<id>[/leaf] */
int nmr_npi_path(struct nmr_registry *reg, const struct nmr_guid *id, const char *leaf,
		 char *buf, size_t len);
/* The pinned object opened: its fd, or an error naming its path. */
int nmr_client_pin_open(struct nmr_registry *reg, const struct nmr_client_record *client,
			const char *leaf);
int nmr_binding_pin_open(struct nmr_registry *reg, const struct nmr_guid *id, __u32 prog_id,
			 const char *leaf);

/* ---- blob.c: byte strings kept as frozen array maps ---- */
#define NMR_OBJECT_MAX_SIZE	(64 << 20)	/* a provider's object, at most */
int nmr_blob_store(const char *path, const void *buf, size_t size);
int nmr_blob_load(const char *path, void **buf, size_t *size);
/* The blob in buf (total bytes as read): moved to buf's start, its size in *size; or -EINVAL. */
int nmr_blob_parse(void *buf, size_t total, size_t *size);
/* The provider's ELF object, kept as provider/<id>/<leaf> (NMR_PIN_OBJECT, or a staged name). */
int nmr_object_store(struct nmr_registry *reg, const struct nmr_provider_record *prov,
		     const char *leaf, const void *buf, size_t size);
int nmr_object_load(struct nmr_registry *reg, const struct nmr_provider_record *prov,
		    void **buf, size_t *size);

/* ---- staged.c: a provider's new version beside the live one (provider replace) ---- */
/* provider/<id>/<leaf>_new */
int nmr_staged_path(struct nmr_registry *reg, const struct nmr_guid *provider, const char *leaf,
		    char *buf, size_t len);
int nmr_staged_pin(struct nmr_registry *reg, const struct nmr_guid *provider, const char *leaf,
		   int fd);
/* Whether the provider has a staged object: a replace that did not finish. */
bool nmr_staged(struct nmr_registry *reg, const struct nmr_guid *provider);
int nmr_staged_promote(struct nmr_registry *reg, const struct nmr_guid *provider);
void nmr_staged_drop(struct nmr_registry *reg, const struct nmr_guid *provider);
/* A directory's names as "\nname1\nname2\n", and the pins added since (removed). */
char *nmr_dir_names(const char *path);
void nmr_remove_new_pins(const char *dir, const char *before);

/* ---- owner.c: who registered a live module ---- */
/* This process as an owner. */
int nmr_owner_self(struct nmr_owner *owner, bool persistent);
/* Whether a module is live: its owner process runs (pid 0: declarative). */
bool nmr_owner_live(const struct nmr_owner *owner);
/* A live module whose owner ended without its watchdog removing it. */
bool nmr_owner_orphaned(const struct nmr_owner *owner);
/* A process's start time (clock ticks since boot), 0 if it is gone. */
__u64 nmr_owner_start_time(__u32 pid);

#endif /* NMR_STORE_H */
