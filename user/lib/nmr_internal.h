/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Internal interfaces of libnmrbpf. */
#ifndef NMR_INTERNAL_H
#define NMR_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include "libnmrbpf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Registry directories under the root; one per object, named by GUID. */
#define NMR_PROVIDERS_DIR	"provider"
#define NMR_CLIENTS_DIR		"client"
#define NMR_BINDINGS_DIR	"binding"

/* Binding slot 0 is never given to a binding: provider templates count there. */
#define NMR_TEMPLATE_SLOT	0

struct registry_bpf;

struct nmr_registry {
	char root[PATH_MAX - 64];
	int root_fd;			/* flock()ed to serialize registrars */
	__u32 meta_id;			/* the meta map opened: still pinned while live */
	unsigned int flags;
	bool empty;			/* read-only open of a root with no registry */
	int lock_depth;
	pthread_mutex_t mutex;		/* serializes the threads of this process */
	struct registry_bpf *maps;	/* the pinned registry maps */
	int meta_fd, npis_fd, providers_fd, clients_fd, bindings_fd;
	int binding_contexts_fd;
	__u64 last_swap_ns;		/* the one write that made the last chain live */
	/* live modules of this process (module.c) */
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

/* ---- errors: the one place messages are made ---- */
int nmr_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds "<what>: " in front of the current message (for context from callers). */
int nmr_error_prefix(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- registry.c ---- */
int nmr_lock(struct nmr_registry *reg, bool exclusive);
void nmr_unlock(struct nmr_registry *reg);
int nmr_path(const struct nmr_registry *reg, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int nmr_next_number(struct nmr_registry *reg, __u64 *number);
/* A failed registration puts the registration counter back as it was. */
int nmr_meta_save(struct nmr_registry *reg, struct nmr_registry_meta *meta);
void nmr_meta_restore(struct nmr_registry *reg, const struct nmr_registry_meta *meta);
/* Reads every value of a hash map of records into a malloc'd array. */
int nmr_records_read(int map_fd, size_t value_size, size_t max, void **out, size_t *count);
int nmr_record_find(struct nmr_registry *reg, int map_fd, size_t value_size, size_t name_off,
		    const char *kind, const char *ident, void *out);
int nmr_record_unique(struct nmr_registry *reg, int map_fd, size_t value_size, size_t name_off,
		      const char *kind, const struct nmr_guid *id, const char *name);
int nmr_name_check(const char *kind, const char *name);
/* Locked: all records in registration order; one record by GUID or name. */
int nmr_records_list(struct nmr_registry *reg, int map_fd, size_t size, size_t max,
		     size_t number_off, void **out, size_t *count);
int nmr_records_lookup(struct nmr_registry *reg, int map_fd, size_t size, size_t name_off,
		       const char *kind, const char *ident, void *out);
int nmr_wait_for_readers(void);
int nmr_unpin_tree(const char *path);
int nmr_mkdir(const char *path);

/* ---- record_check.c ---- */
/*
 * Checks a record read back from a registry map (its kind told by size): ends its strings
 * within their fields and puts counts in range, in place, so it is safe to print; returns
 * -EBADMSG when it was damaged (a record to refuse, not to act on).
 */
int nmr_record_check(void *rec, size_t size);

/* ---- characteristics.c ---- */
int nmr_attach_decision(const struct nmr_client_record *client, size_t bound,
			const struct nmr_provider_record *provider, char *reason, size_t len);
int nmr_frags_check(const struct nmr_client_record *client,
		    const struct nmr_provider_record *provider);

/* ---- chain.c: a client's providers linked into one program ---- */
/* A binding's code: its instance's instructions, maps named by id. */
struct nmr_code_header {
	__u32 magic;
	__u32 insn_cnt;
	__u32 main_len;		/* the main function; subprograms follow */
	__u32 stack;		/* bytes of stack the main function uses */
	__u32 gpl;		/* GPL-compatible license */
	__u32 pad;
};
struct bpf_insn;
struct nmr_code {
	struct nmr_code_header hdr;
	struct bpf_insn *insns;
};
struct bpf_program;
int nmr_code_from_prog(const struct bpf_program *prog, struct nmr_code *out);
int nmr_code_store(const char *path, const struct nmr_code *code);
int nmr_code_load(const char *path, struct nmr_code *out);
void nmr_code_free(struct nmr_code *code);

struct nmr_chain_link {
	const struct nmr_code *code;
	__u32 continue_on;	/* NMR_VERDICT_BIT() set */
	__u32 column;		/* the binding's counters */
};
/* Links the chain and loads it: returns its program fd or an error. */
int nmr_chain_load(struct nmr_registry *reg, const struct nmr_client_record *client,
		   const struct nmr_chain_link *links, size_t n);
/* The client's switch: on its hook while a change goes live (binding.c). */
struct nmr_switch {
	int prog_fd;
	int slots_fd;		/* prog array: the running chain, the new chain */
	int armed_fd;		/* one word: 0 runs the running chain, 1 the new one */
};
#define NMR_SWITCH_INIT { .prog_fd = -1, .slots_fd = -1, .armed_fd = -1 }
enum { NMR_SWITCH_RUNNING = 0, NMR_SWITCH_NEW = 1 };
int nmr_switch_load(struct nmr_registry *reg, const struct nmr_client_record *client,
		    struct nmr_switch *out);
void nmr_switch_close(struct nmr_switch *sw);
int nmr_chain_stats_create(struct nmr_registry *reg);
int nmr_chain_stats_read(int fd, struct nmr_chain_stats *sum, struct nmr_chain_events *ev);
int nmr_chain_stats_reset(int fd, __u32 column);

/* ---- instance.c: program instances of a provider ---- */
struct nmr_instance {
	int prog_fd;
	int dispatch_fd;	/* the provider's dispatch table: a program per NPI slot */
	__u32 prog_id;
	struct nmr_code code;	/* what the client's chain links in */
};
#define NMR_INSTANCE_INIT { .prog_fd = -1, .dispatch_fd = -1 }
/* A byte string kept in a frozen array map pinned at path. */
int nmr_blob_store(const char *path, const void *buf, size_t size);
int nmr_blob_load(const char *path, void **buf, size_t *size);
/* The blob in buf (total bytes as read): moved to buf's start, its size in *size; or -EINVAL. */
int nmr_blob_parse(void *buf, size_t total, size_t *size);
/* Keeps the ELF object in the registry as provider/<id>/<leaf> ("object"). */
int nmr_object_store(struct nmr_registry *reg, const struct nmr_provider_record *prov,
		     const char *leaf, const void *buf, size_t size);
int nmr_object_load(struct nmr_registry *reg, const struct nmr_provider_record *prov,
		    void **buf, size_t *size);
int nmr_instance_load(struct nmr_registry *reg, const struct nmr_provider_record *prov,
		      const void *obj, size_t obj_size, __u32 slot, bool template,
		      struct nmr_instance *inst, char *log, size_t log_size);
void nmr_instance_close(struct nmr_instance *inst);
__u32 nmr_prog_id(int prog_fd);

/* ---- object_file.c: a provider's object file, untrusted ---- */
#define NMR_OBJECT_MAX_SIZE	(64 << 20)
#define NMR_INSPECT_TIMEOUT_MS	10000
/* Reads a regular file whole (never waits on a FIFO); call it before taking the lock. */
int nmr_object_read(const char *path, void **buf, size_t *size);
/*
 * Which program of the object the provider is, of which type, with the SDK or not: fills
 * rec's prog_name, slot_progs and flags. nmr_object_inspect parses the object in a child
 * process (a crash or a hang there is "malformed BPF object"); _here in this one.
 */
int nmr_object_inspect(const void *buf, size_t size, const char *path, const char *want,
		       const struct nmr_npi_record *npi, const char *const *slot_progs,
		       struct nmr_provider_record *rec);
int nmr_object_inspect_here(const void *buf, size_t size, const char *path, const char *want,
			    const struct nmr_npi_record *npi, const char *const *slot_progs,
			    struct nmr_provider_record *rec);

/* ---- binding.c ---- */
/* A provider whose bindings are rebuilt from another object (provider replace). */
struct nmr_replacement {
	struct nmr_provider_record rec;	/* the record as it is to be */
	const void *obj;
	size_t size;
};
/* Rebuilds, client by client in one step each, every binding of the replaced providers. */
int nmr_rebuild_bindings(struct nmr_registry *reg, const struct nmr_replacement *repl,
			 size_t nrepl);
int nmr_bind_client(struct nmr_registry *reg, const struct nmr_client_record *client);
int nmr_bind_one(struct nmr_registry *reg, const struct nmr_client_record *client,
		 const struct nmr_provider_record *prov, struct nmr_binding_record *out);
int nmr_decline_one(struct nmr_registry *reg, const struct nmr_client_record *client,
		    const struct nmr_provider_record *prov, const char *reason);
int nmr_unbind_pair(struct nmr_registry *reg, const struct nmr_guid *client,
		    const struct nmr_guid *provider);
int nmr_bind_provider(struct nmr_registry *reg, const struct nmr_provider_record *prov);
int nmr_unbind_client(struct nmr_registry *reg, const struct nmr_client_record *client);
int nmr_unbind_provider(struct nmr_registry *reg, const struct nmr_provider_record *prov);
int nmr_bindings_of(struct nmr_registry *reg, const struct nmr_guid *client,
		    const struct nmr_guid *provider, struct nmr_binding_record **out, size_t *count);

/* ---- hook.c: the chain on a device ---- */
/* The client's directory and first chain on its device; default_fd: its default action. */
int nmr_hook_attach(struct nmr_registry *reg, struct nmr_client_record *client, bool force,
		    int default_fd);
/* Puts new_fd on the client's hook in place of old_fd, in one step. */
int nmr_hook_replace(struct nmr_registry *reg, const struct nmr_client_record *client,
		     int old_fd, int new_fd);
int nmr_hook_detach(struct nmr_registry *reg, const struct nmr_client_record *client);
/* The client's switch, from its pins. */
int nmr_switch_open(struct nmr_registry *reg, const struct nmr_client_record *client,
		    struct nmr_switch *sw);

/* ---- client.c ---- */
/* client/<id>/<leaf>, or the client's directory when leaf is NULL. */
int nmr_client_path(struct nmr_registry *reg, const struct nmr_client_record *client,
		    const char *leaf, char *buf, size_t len);

/* ---- registration with an owner (live modules) and a default action ---- */
int nmr_client_register_owned(struct nmr_registry *reg, const struct nmr_client_opts *opts,
			      bool live, bool persistent, int default_fd,
			      struct nmr_client_record *out);
int nmr_provider_register_owned(struct nmr_registry *reg, const struct nmr_provider_opts *opts,
				bool live, bool persistent, struct nmr_provider_record *out);

/* ---- module.c: live modules ---- */
/* Whether a module is live: its owner process runs (pid 0: declarative). */
bool nmr_owner_live(const struct nmr_owner *owner);
/* This process as an owner. */
int nmr_owner_self(struct nmr_owner *owner, bool persistent);
/* Attaches this process's live modules to the peers they have not met yet. */
void nmr_reconcile(struct nmr_registry *reg);
void nmr_modules_close(struct nmr_registry *reg);
/* Deregisters the modules a process owned (the watchdog, once it ended). */
int nmr_reap_owner(struct nmr_registry *reg, __u32 pid, __u64 start_time);
/* Deregisters the modules of owners that ended with their watchdog (on opening a registry). */
void nmr_reap_orphans(struct nmr_registry *reg);

/* ---- netns.c ---- */
struct nmr_netns_guard {
	int saved_fd;
};
int nmr_netns_enter(const char *name, struct nmr_netns_guard *guard);
/* 0, or an error when this thread could not go back (it then is not where it was). */
int nmr_netns_leave(struct nmr_netns_guard *guard);
int nmr_netns_ino(const char *name, __u64 *ino);

#endif /* NMR_INTERNAL_H */
