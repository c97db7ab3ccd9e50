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
#define NMR_NPIS_DIR		"npi"	/* only NPIs that define their own characteristics */

/* Binding slot 0 is never given to a binding: provider templates count there. */
#define NMR_TEMPLATE_SLOT	0

/* Pins under client/<id>/ (hook.c). */
#define NMR_PIN_DISPATCHER	"dispatcher"	/* the fixed program on the hook */
#define NMR_PIN_CHAIN_TABLE	"chain_table"	/* prog array: slot 0 holds the chain */
#define NMR_PIN_STATS		"stats"		/* the client's counters */
#define NMR_PIN_CLIENT_DISPATCH	"client_dispatch" /* NMR client dispatch table: default action */
#define NMR_PIN_LINK		"link"		/* XDP or TCX link */

/* Pins under npi/<id>/ (npi_chars.c): hash maps keyed by module GUID, with the NPI's BTF. */
#define NMR_PIN_PROVIDER_CHARS	"provider_chars"	/* value: struct provider_characteristics */
#define NMR_PIN_CLIENT_CHARS	"client_chars"		/* value: struct client_characteristics */
#define NMR_PIN_CLIENT_REQUIRES	"client_requires"	/* value: struct nmr_npi_requires */

struct registry_bpf;
struct nmr_replacement;

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
	__u64 last_swap_ns;		/* the one write that made the last chain live */
	bool wait_owed;			/* code left a chain: wait before the lock is let go */
	bool unfinished;		/* leave the registry marked: the next command recovers */
	bool force_relink;		/* registry check --repair: relink an unchanged chain */
	bool batch;			/* provider changes wait for nmr_batch_settle() */
	__u64 seen_generation;		/* the registry's, as far as this process has met it */
	__u64 generation_at_lock;
	struct nmr_replacement *batch_repl;
	size_t nbatch_repl;
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

/* ---- sha256.c ---- */
#define NMR_SHA256_HEX_LEN	65
void nmr_sha256_hex(const void *data, size_t len, char out[NMR_SHA256_HEX_LEN]);

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

/* ---- generation.c ---- */
/* After a change: the registry's generation, and client's when not NULL, go up by one. */
int nmr_generation_bump(struct nmr_registry *reg, const struct nmr_guid *client);

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

/* ---- chain.c: a client's providers linked into one program ---- */
/*
 * A binding's code: its instance's instructions (maps named by id), with
 * what linking needs to give the chain BTF: one func_info per function
 * (insn_off in instructions of this code, type_id in btf) and line_info
 * (string offsets in btf), and the program's BTF itself, raw.
 */
struct nmr_code_header {
	__u32 magic;
	__u32 insn_cnt;
	__u32 main_len;		/* the main function; subprograms follow */
	__u32 stack;		/* bytes of stack the main function uses (the verifier's) */
	__u32 gpl;		/* GPL-compatible license */
	__u32 flags;		/* NMR_CODE_F_* */
	__u32 nfunc;		/* func_info records */
	__u32 nline;		/* line_info records */
	__u32 btf_size;		/* bytes of raw BTF; 0: none */
	__u32 frames;		/* all its functions' frames, each rounded up to 32 bytes:
				 * at least what its deepest call path needs */
};
#define NMR_CODE_F_CALLS	(1U << 0)	/* calls subprograms or refers to callbacks */
#define NMR_CODE_F_LD_ABS	(1U << 1)	/* legacy packet loads, whose failure exits */
#define NMR_CODE_F_TAIL_CALL	(1U << 2)	/* bpf_tail_call() */
#define NMR_CODE_F_STACK	(1U << 3)	/* stack is the verifier's figure */
struct bpf_insn;
struct bpf_func_info;
struct bpf_line_info;
struct nmr_code {
	struct nmr_code_header hdr;
	struct bpf_insn *insns;
	struct bpf_func_info *func;
	struct bpf_line_info *line;
	void *btf;
};
struct bpf_program;
struct bpf_object;
/* stats: the verifier's statistics of the program's load (BPF_LOG_STATS), or NULL. */
int nmr_code_from_prog(const struct bpf_object *obj, const struct bpf_program *prog,
		       const void *elf, size_t elf_size, const char *stats, struct nmr_code *out);
int nmr_code_store(const char *path, const struct nmr_code *code);
int nmr_code_load(const char *path, struct nmr_code *out);
/* The same from and to memory, checked: a damaged blob is refused, never read past. */
int nmr_code_encode(const struct nmr_code *code, void **buf, size_t *size);
int nmr_code_decode(const void *buf, size_t size, struct nmr_code *out);
void nmr_code_free(struct nmr_code *code);
/* How many frames deep its calls go (MAX_CALL_FRAMES is 8), or a negative errno. */
int nmr_code_call_depth(const struct bpf_insn *insns, __u32 cnt);
/* Refuses by name what the linker cannot move; sets NMR_CODE_F_* in *flags. */
int nmr_code_check(const char *name, const struct bpf_insn *insns, __u32 cnt, __u32 *flags);

struct nmr_chain_link {
	const struct nmr_code *code;
	__u32 continue_on;	/* NMR_VERDICT_BIT() set */
	__u32 column;		/* the binding's counters */
	const char *name;	/* the provider's, for errors; NULL: "provider N" */
};
/* Links the chain and loads it: returns its program fd or an error. */
int nmr_chain_load(struct nmr_registry *reg, const struct nmr_client_record *client,
		   const struct nmr_chain_link *links, size_t n);

/*
 * The linker as a pure function: codes and options in, a program out. No
 * system call: map ids stay ids (map_at lists where) until nmr_link_load().
 */
enum nmr_link_mode {
	NMR_LINK_AUTO,		/* in line when every provider is simple, else calls */
	NMR_LINK_INLINE,	/* refused when a provider is not simple */
	NMR_LINK_CALL,		/* every provider's main called as a subprogram */
};
struct nmr_link_opts {
	enum nmr_hook hook;
	bool frags;
	enum nmr_link_mode mode;
	int stats_fd;		/* the client's counters (nmr_chain_stats_create) */
	int ncpus;		/* the CPUs they hold */
	int default_fd;		/* the default action's prog array, or -1 */
};
struct btf;
struct nmr_linked {
	struct bpf_insn *insns;
	size_t n;
	struct bpf_func_info *func;
	size_t nfunc;
	struct bpf_line_info *line;
	size_t nline;
	struct btf *btf;	/* NULL: none */
	__u32 *map_at;		/* instructions whose imm is a map id */
	size_t nmap;
	int *origin;		/* per instruction: its link, or -1 for the chain's own */
	__u32 *origin_insn;	/* and its index in that link's code */
	bool gpl;
	bool call_mode;
	__u32 stack;		/* the chain main's frame in line mode */
};
int nmr_link(const struct nmr_chain_link *links, size_t n, const struct nmr_link_opts *opts,
	     struct nmr_linked *out);
void nmr_linked_free(struct nmr_linked *l);
/* Loads a linked chain; errors name the provider, instruction and source line. */
int nmr_link_load(const struct nmr_linked *l, const struct nmr_chain_link *links, size_t n,
		  const struct nmr_link_opts *opts, const char *client_name);
/* Whether a code can be linked in line (no calls, no LD_ABS, no tail call, stack fits). */
bool nmr_code_simple(const struct nmr_code *code);

int nmr_chain_stats_create(struct nmr_registry *reg);
int nmr_chain_stats_read(int fd, struct nmr_chain_stats *sum, struct nmr_chain_events *ev);
int nmr_chain_stats_reset(int fd, __u32 column);
/* How many CPUs a client's counters hold. */
int nmr_chain_stats_cpus(int fd);

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
/* Binding-context slots: a bit each in the registry meta. */
int nmr_context_slot_alloc(struct nmr_registry *reg, __u32 *slot);
void nmr_context_slot_free(struct nmr_registry *reg, __u32 slot);

/* ---- binding.c: which pairs are bound (NMR attach and detach) ---- */
/* The one binding id of a client and provider pair. */
void nmr_binding_id(const struct nmr_guid *client, const struct nmr_guid *provider,
		    struct nmr_guid *out);
int nmr_bind_client(struct nmr_registry *reg, struct nmr_client_record *client);
int nmr_bind_one(struct nmr_registry *reg, const struct nmr_client_record *client,
		 const struct nmr_provider_record *prov, struct nmr_binding_record *out);
int nmr_decline_one(struct nmr_registry *reg, const struct nmr_client_record *client,
		    const struct nmr_provider_record *prov, const char *reason);
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
/* Marks the registry busy with op; a command that finds it busy recovers first. */
int nmr_intent_begin(struct nmr_registry *reg, enum nmr_intent_op op, const struct nmr_guid *id);
void nmr_intent_end(struct nmr_registry *reg);
/* The command that set op is done; the lock's holder goes on with others. */
void nmr_intent_done(struct nmr_registry *reg, enum nmr_intent_op op);
int nmr_recover(struct nmr_registry *reg);
/* Directories and instances no record names: removed, or with found each reported only. */
typedef void (*nmr_orphan_fn)(const char *path, void *ctx);
void nmr_orphans(struct nmr_registry *reg, nmr_orphan_fn found, void *ctx);
/* npi/ directories and characteristics entries no record names (npi_chars.c). */
void nmr_npi_chars_orphans(struct nmr_registry *reg, nmr_orphan_fn found, void *ctx);

/* ---- hook.c: the dispatcher on a device, and the client's chain table ---- */
/* The client's pins and its dispatcher on its device; default_fd: its default action. */
int nmr_hook_attach(struct nmr_registry *reg, struct nmr_client_record *client, bool force,
		    int default_fd);
int nmr_hook_detach(struct nmr_registry *reg, const struct nmr_client_record *client);
int nmr_chain_table_open(struct nmr_registry *reg, const struct nmr_client_record *client);
int nmr_chain_table_running(int table_fd, __u32 *prog_id);
/* The swap: chain_fd into the table's slot; < 0 empties it. */
int nmr_chain_table_swap(int table_fd, int chain_fd);
/* What the client's hook runs: its dispatcher, something else, or the device (netns) is gone. */
enum { NMR_HOOK_OURS, NMR_HOOK_OTHER, NMR_HOOK_GONE };
int nmr_hook_state(const struct nmr_client_record *client);

/* ---- client.c ---- */

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
