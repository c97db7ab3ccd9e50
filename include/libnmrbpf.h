/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libnmrbpf - the Network Module Registrar for eBPF.
 *
 * A registry lives in bpffs under a root directory. NPIs, providers (BPF
 * programs), clients (XDP/TC hooks on interfaces) and bindings are records in
 * pinned BPF maps (nmr_abi.h); each client's dispatch table is a chain of
 * program instances joined by constant-key tail calls.
 *
 * Conventions: every function that can fail returns 0 or a negative errno;
 * nmr_last_error() then says "<what failed>: <why>" for this thread. A failed
 * call leaves the registry as it was. Calls that change the registry hold an
 * exclusive lock on the root, so concurrent processes are serialized.
 */
#ifndef LIBNMRBPF_H
#define LIBNMRBPF_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "nmr_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version; nmr_libnmrbpf_version() gives the one a program runs with. */
#define LIBNMRBPF_MAJOR_VERSION 0
#define LIBNMRBPF_MINOR_VERSION 2
#define LIBNMRBPF_PATCH_VERSION 0

/* Marks the public API: the only symbols the shared library exports. */
#ifndef NMR_API
#define NMR_API __attribute__((visibility("default")))
#endif

/*
 * Options structs start with their own size, so that fields can be added at
 * their end without breaking programs built against an older header: the
 * library reads only the first sz bytes of an older, smaller struct, and
 * refuses a newer, larger one whose extra bytes it does not know are not
 * zero. Declare them with NMR_OPTS(), which zeroes the struct and sets sz:
 *
 *	NMR_OPTS(nmr_npi_opts, opts, .name = "filters", .hook = NMR_HOOK_XDP);
 */
#define NMR_OPTS(TYPE, NAME, ...)						\
	struct TYPE NAME = ({							\
		memset(&NAME, 0, sizeof(struct TYPE));				\
		(struct TYPE) {							\
			.sz = sizeof(struct TYPE),				\
			__VA_ARGS__						\
		};								\
	})

#define NMR_DEFAULT_ROOT	"/sys/fs/bpf/nmr"
#define NMR_ROOT_ENV		"NMR_BPF_ROOT"
#define NMR_GUID_STR_LEN	37	/* 36 characters and the NUL */
#define NMR_DEFAULT_PRIORITY	50

struct nmr_registry;

/* ---- errors and ids ---------------------------------------------------- */

/* "MAJOR.MINOR.PATCH" of the library the program runs with. */
NMR_API const char *nmr_libnmrbpf_version(void);

/* "<what failed>: <why>" of the last failed call in this thread. */
NMR_API const char *nmr_last_error(void);

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", braces optional. */
NMR_API int nmr_guid_parse(const char *str, struct nmr_guid *guid);
NMR_API void nmr_guid_format(const struct nmr_guid *guid, char buf[NMR_GUID_STR_LEN]);
NMR_API int nmr_guid_generate(struct nmr_guid *guid);
NMR_API bool nmr_guid_is_null(const struct nmr_guid *guid);
NMR_API bool nmr_guid_equal(const struct nmr_guid *a, const struct nmr_guid *b);

/* ---- names of hooks, modes and verdicts ---------------------------------- */

NMR_API const char *nmr_hook_name(enum nmr_hook hook);		/* "xdp", "tc-ingress", ... */
NMR_API int nmr_hook_parse(const char *name, enum nmr_hook *hook);
NMR_API const char *nmr_verdict_name(enum nmr_hook hook, int verdict);
/* "pass,drop" for the hook's verdicts into an NMR_VERDICT_BIT() mask. */
NMR_API int nmr_verdicts_parse(enum nmr_hook hook, const char *list, __u32 *mask);
/* The mask back into "pass,drop"; returns buf. */
NMR_API char *nmr_verdicts_format(enum nmr_hook hook, __u32 mask, char *buf, size_t len);
/* The verdict that continues a chain by default ("pass"). */
NMR_API __u32 nmr_default_continue_on(enum nmr_hook hook);

/* ---- the registry -------------------------------------------------------- */

enum nmr_registry_flags {
	/*
	 * Do not create a registry: a root that holds none reads as empty, and
	 * finding anything in it fails with -ENOENT.
	 */
	NMR_REGISTRY_NO_CREATE = 1 << 0,
};

/*
 * Opens (creating it unless NMR_REGISTRY_NO_CREATE) the registry under root,
 * NULL meaning $NMR_BPF_ROOT or NMR_DEFAULT_ROOT. Mounts bpffs on /sys/fs/bpf
 * when it is not mounted.
 */
NMR_API int nmr_registry_open(const char *root, unsigned int flags, struct nmr_registry **reg);
NMR_API void nmr_registry_close(struct nmr_registry *reg);
NMR_API const char *nmr_registry_root(const struct nmr_registry *reg);
/*
 * How long the one write that made the last chain change live took (the
 * running chain's armed word: the atomic step itself, without the program
 * loads before it or the hook update after it).
 */
NMR_API __u64 nmr_registry_last_swap_ns(const struct nmr_registry *reg);
/*
 * Reports, one line each, where the registry's records, its pins and what the
 * kernel runs disagree (taking the registry lock already finishes or undoes a
 * command that was killed). repair: makes them agree, reporting each fix.
 * Returns how many disagreements it found, or a negative error.
 */
typedef void (*nmr_check_report_fn)(const char *problem, bool repaired, void *ctx);
NMR_API int nmr_registry_check(struct nmr_registry *reg, bool repair,
			       nmr_check_report_fn report, void *ctx);
/* Deregisters every client, provider and NPI, then removes the root itself. */
NMR_API int nmr_registry_destroy(struct nmr_registry *reg);
/*
 * For a registry that cannot be opened (another layout version): detaches
 * the clients' pinned links and removes every pin, without reading records.
 */
NMR_API int nmr_registry_purge(const char *root);

/* ---- generations ------------------------------------------------------- */
/*
 * The registry's generation goes up with every change (a registration, a
 * deregistration, a replace, a binding made or removed); a client's with
 * every change of its chain (nmr_client_record.generation).
 */
NMR_API int nmr_registry_generation(struct nmr_registry *reg, __u64 *gen);
/*
 * Holds the registry's exclusive lock across several calls (it nests in this
 * process): a check and the change it guards under one lock.
 */
NMR_API int nmr_registry_lock(struct nmr_registry *reg);
NMR_API void nmr_registry_unlock(struct nmr_registry *reg);
/*
 * 0 when the registry's generation (client NULL) or the client's is gen;
 * otherwise -ESTALE, a conflict. Under nmr_registry_lock(), nothing can
 * change between this check and the caller's change.
 */
NMR_API int nmr_expect_generation(struct nmr_registry *reg, const char *client, __u64 gen);

/* ---- NPIs ---------------------------------------------------------------- */

struct nmr_npi_opts {
	size_t sz;			/* sizeof(struct nmr_npi_opts): NMR_OPTS() */
	const char *name;
	enum nmr_hook hook;
	const struct nmr_guid *id;	/* NULL: generated */
	__u32 version;			/* 0: 1 */
	/* the provider functions it defines; none: one slot, "main" */
	const char *slots[NMR_MAX_SLOTS];
	/*
	 * Its own characteristics structs (NMR: NPI-specific characteristics), from BTF that
	 * holds struct provider_characteristics and/or struct client_characteristics: an
	 * object built with -g (or a raw BTF file) at characteristics_path, or raw BTF bytes.
	 * Their version is the NPI's version. NULL: the generic characteristics only.
	 */
	const char *characteristics_path;
	const void *characteristics_btf;
	size_t characteristics_btf_size;
};

NMR_API int nmr_npi_register(struct nmr_registry *reg, const struct nmr_npi_opts *opts,
			     struct nmr_npi_record *out);
/* Refused while providers or clients are registered for it. */
NMR_API int nmr_npi_deregister(struct nmr_registry *reg, const char *npi);
/* Finds by GUID string or by name. */
NMR_API int nmr_npi_find(struct nmr_registry *reg, const char *npi, struct nmr_npi_record *out);
/* A malloc'd array in registration order; free() it. */
NMR_API int nmr_npi_list(struct nmr_registry *reg, struct nmr_npi_record **out, size_t *count);

/* ---- providers ----------------------------------------------------------- */

struct nmr_provider_opts {
	size_t sz;			/* sizeof(struct nmr_provider_opts): NMR_OPTS() */
	const char *object_path;	/* the BPF ELF object */
	const char *npi;		/* name or GUID */
	const char *prog;		/* NULL: the object's only program */
	const char *name;		/* NULL: the program's name */
	const struct nmr_guid *id;	/* NULL: generated */
	__u32 version_min, version_max;	/* 0, 0: the NPI's version */
	__u32 priority;			/* used when priority_set */
	bool priority_set;
	__u32 continue_on;		/* NMR_VERDICT_BIT() mask, used when continue_on_set */
	bool continue_on_set;
	__u32 af_mask;
	const char *tags[NMR_MAX_TAGS];
	/* the program for each of the NPI's slots after the first (prog is slot 0's) */
	const char *slot_progs[NMR_MAX_SLOTS];
	/* Where libbpf's verifier log goes on a load failure (optional). */
	char *log_buf;
	size_t log_size;
	/*
	 * Values of the NPI's struct provider_characteristics, when the NPI defines one:
	 * the struct itself (npi_chars_size must be its size; NULL: zeros), then each
	 * "FIELD=VALUE" of npi_char_fields (NULL-terminated; nmr_npi_chars_parse()).
	 */
	const void *npi_chars;
	size_t npi_chars_size;
	const char *const *npi_char_fields;
};

/*
 * Loads and verifies the program, keeps the object in the registry, and binds
 * it to every matching client already registered (NMR: ClientAttachProvider
 * for each). Returns the new record in out.
 */
NMR_API int nmr_provider_register(struct nmr_registry *reg, const struct nmr_provider_opts *opts,
				  struct nmr_provider_record *out);
/* A new version of a registered provider's object. */
struct nmr_provider_replacement {
	const char *provider;		/* name or GUID */
	const char *object_path;
	const char *prog;		/* NULL: the object's only program */
	char *log_buf;			/* verifier log on a load failure (optional) */
	size_t log_size;
};

/*
 * Replaces the programs of n providers by new versions. Each new program is
 * verified first; then each client's chain changes in one atomic step (a
 * packet runs all old versions or all new ones), every binding keeping its
 * position, slot, counters and context. The provider's maps carry over
 * where the new object defines them alike; a changed definition is refused.
 * On failure nothing changes.
 */
NMR_API int nmr_provider_replace(struct nmr_registry *reg,
				 const struct nmr_provider_replacement *r, size_t n);
/* Unbinds it from every client, waits until no packet can run it, removes it. */
NMR_API int nmr_provider_deregister(struct nmr_registry *reg, const char *provider);
NMR_API int nmr_provider_find(struct nmr_registry *reg, const char *provider,
			      struct nmr_provider_record *out);
NMR_API int nmr_provider_list(struct nmr_registry *reg, struct nmr_provider_record **out,
			      size_t *count);

/* ---- clients ------------------------------------------------------------- */

struct nmr_client_opts {
	size_t sz;			/* sizeof(struct nmr_client_opts): NMR_OPTS() */
	const char *npi;
	const char *dev;
	const char *netns;		/* /run/netns/<netns>; NULL: the caller's */
	enum nmr_xdp_mode mode;
	const char *name;		/* NULL: "<dev>-<hook>" */
	const struct nmr_guid *id;
	__u32 require_version;		/* 0: any */
	__u32 af_mask;
	__u32 max_providers;
	bool exclusive;
	const char *require_tags[NMR_MAX_TAGS];
	bool xdp_frags;			/* dispatcher for xdp.frags providers */
	bool tc_netlink;		/* TC through clsact + cls_bpf, even where TCX works */
	bool force;			/* replace an XDP program nmr-bpf did not attach */
	/* Values of the NPI's struct client_characteristics: as nmr_provider_opts' */
	const void *npi_chars;
	size_t npi_chars_size;
	const char *const *npi_char_fields;
	/*
	 * Conditions on a provider's struct provider_characteristics, all of which a
	 * declarative client requires (NULL-terminated, at most NMR_MAX_REQUIRES):
	 * "FIELD=VALUE" (equal) or "FIELD=LO..HI" (within, inclusive; numbers only).
	 */
	const char *const *npi_requires;
};

/*
 * Attaches the dispatcher to the hook (an XDP link, pinned), and binds every
 * matching provider already registered, in priority order.
 */
NMR_API int nmr_client_register(struct nmr_registry *reg, const struct nmr_client_opts *opts,
				struct nmr_client_record *out);
/* Unbinds all, waits until no packet runs a provider, detaches, removes it. */
NMR_API int nmr_client_deregister(struct nmr_registry *reg, const char *client);
NMR_API int nmr_client_find(struct nmr_registry *reg, const char *client,
			    struct nmr_client_record *out);
NMR_API int nmr_client_list(struct nmr_registry *reg, struct nmr_client_record **out,
			    size_t *count);
/* A client's chain counters, summed over CPUs. */
struct nmr_client_counts {
	__u64 no_provider;	/* packets that found the chain empty */
	__u64 missed;		/* failed tail calls: the switch's into a chain, the default action's */
};
NMR_API int nmr_client_counts(struct nmr_registry *reg, const struct nmr_client_record *client,
			      struct nmr_client_counts *out);

/* ---- bindings ------------------------------------------------------------ */

/* A binding's counters, summed over CPUs. */
struct nmr_binding_counts {
	__u64 packets;				/* runs: the sum of verdicts */
	__u64 verdicts[NMR_VERDICT_SLOTS];	/* by NMR_VERDICT_INDEX() */
};

/* Bound and declined pairs, by client then position; filters may be NULL. */
NMR_API int nmr_binding_list(struct nmr_registry *reg, const char *client, const char *provider,
			     struct nmr_binding_record **out, size_t *count);
/* Finds by GUID, or by the name "<client>:<provider>". */
NMR_API int nmr_binding_find(struct nmr_registry *reg, const char *binding,
			     struct nmr_binding_record *out);
NMR_API int nmr_binding_counts(struct nmr_registry *reg, const struct nmr_binding_record *binding,
			       struct nmr_binding_counts *out);
/* Reads or writes the free-form part of a binding's context. */
NMR_API int nmr_binding_context_read(struct nmr_registry *reg,
				     const struct nmr_binding_record *binding, void *data,
				     size_t len);
NMR_API int nmr_binding_context_write(struct nmr_registry *reg,
				      const struct nmr_binding_record *binding,
				      const void *data, size_t len);

/* ---- declarative state: apply, dump ------------------------------------- */
/*
 * A state file lists the NPIs, providers and clients a registry should hold,
 * in YAML (JSON is YAML too):
 *
 *   npis:      [{name, hook, version, slots, id}]
 *   providers: [{name, npi, object, program, sha256, priority, continue-on,
 *                version (N or MIN-MAX), af, tags, slot-programs, id}]
 *   clients:   [{name, npi, device, netns, mode, require-version, af,
 *                max-providers, exclusive, require-tags, xdp-frags, tc-netlink, id}]
 *
 * Objects are matched with the registry by name. A plan says what applying
 * the file would change; it is made and checked without changing anything,
 * and refuses a file that is wrong in any way (syntax, with line and column;
 * an unknown key; an unknown NPI; a missing object; a digest mismatch; a
 * provider that no client of its NPI would accept). Live modules' objects
 * are not managed: never changed, pruned nor dumped.
 */
struct nmr_state;

/* Reads a state file; path "-": standard input. */
NMR_API int nmr_state_read(const char *path, struct nmr_state **out);
NMR_API int nmr_state_parse(const char *text, size_t len, const char *source,
			    struct nmr_state **out);
NMR_API void nmr_state_free(struct nmr_state *state);

enum nmr_plan_action {
	NMR_PLAN_REGISTER = 1,
	NMR_PLAN_REPLACE,	/* the object changed: nmr_provider_replace(), in place */
	NMR_PLAN_REBIND,	/* other properties changed: deregistered, registered again */
	NMR_PLAN_DEREGISTER,	/* pruned: registered but not in the file */
};

enum nmr_plan_object {
	NMR_PLAN_NPI = 1,
	NMR_PLAN_PROVIDER,
	NMR_PLAN_CLIENT,
};

struct nmr_plan_step {
	enum nmr_plan_action action;
	enum nmr_plan_object object;
	char name[NMR_NAME_LEN];
	struct nmr_guid id;	/* the registered object's (not for REGISTER) */
	char why[128];		/* what differs */
	int index;		/* in the file's list of its kind; -1: not in the file */
};

/* A client's chain before and after, as provider names in chain order. */
struct nmr_plan_chain {
	char client[NMR_NAME_LEN];
	bool changed;
	bool gone;		/* the client is deregistered */
	size_t nbefore, nafter;
	char before[NMR_MAX_CHAIN][NMR_NAME_LEN];
	char after[NMR_MAX_CHAIN][NMR_NAME_LEN];
};

struct nmr_plan {
	__u64 generation;	/* the registry's, planned against */
	size_t nsteps, nchains;
	struct nmr_plan_step *steps;
	struct nmr_plan_chain *chains;
};

/* Flags of nmr_plan_make(): also deregister what the file does not name. */
#define NMR_APPLY_PRUNE		(1U << 0)

/* Checks the state against the registry and says what would change; changes nothing. */
NMR_API int nmr_plan_make(struct nmr_registry *reg, const struct nmr_state *state,
			  unsigned int flags, struct nmr_plan **out);
/*
 * Carries out a plan made from state: -ESTALE, nothing changed, when the
 * registry's generation is no longer the plan's. Replaced providers change in
 * one nmr_provider_replace(): each client's chain swaps once for all of them.
 */
NMR_API int nmr_plan_apply(struct nmr_registry *reg, const struct nmr_state *state,
		   const struct nmr_plan *plan);
NMR_API void nmr_plan_free(struct nmr_plan *plan);
/*
 * Writes the registry's declarative objects as a state file that a plan finds
 * nothing to change in. A provider's object is named by the file apply
 * registered it from, or, with objects_dir, copied there as <name>.bpf.o.
 */
NMR_API int nmr_state_dump(struct nmr_registry *reg, FILE *out, const char *objects_dir);

/* ---- live modules: NMR's callbacks ------------------------------------- */
/*
 * A module registered here with callbacks is live: the registrar calls it,
 * as the NMR does, to attach it to each matching peer and to detach it.
 *
 *   - For each provider of the NPI (registered before or after it), the
 *     client's attach_provider() is called with the provider's registration
 *     instance. It declines by returning NMR_STATUS_NOINTERFACE (the reason,
 *     from nmr_binding_decline(), is kept for `binding list`), or allocates
 *     its binding context and returns what nmr_client_attach_provider()
 *     returns. That call asks the provider (its attach_client() callback, or
 *     its characteristics), binds the provider into the client's chain, and
 *     hands back the provider's binding context and dispatch table. When it
 *     fails, the caller frees what it allocated and returns its status.
 *   - A live provider of a declarative client is asked first the same way:
 *     its attach_client() calls nmr_provider_attach_client().
 *   - Detach: the binding leaves the chain and no packet can run it any more;
 *     then each live side's detach callback runs. It returns 0, or
 *     NMR_STATUS_PENDING and calls nmr_{client,provider}_detach_complete() later; then
 *     its cleanup_binding_context() runs.
 *
 * Peers registered by other processes (e.g. `nmr-bpf provider register`) are
 * noticed through inotify on the registry, without polling: the callbacks of
 * such attachments run on the library's watcher thread. A live peer of
 * another process runs its own callback there: the client's process asks,
 * lets go of the registry lock and waits (at most NMR_PEER_TIMEOUT_MS from the
 * environment, 5000 by default: then "peer did not answer") for the
 * provider's process to answer; the peer's binding context is NULL on this
 * side. When the process ends, its modules are deregistered by a watchdog
 * process, unless persistent.
 */
#define NMR_STATUS_SUCCESS	0
#define NMR_STATUS_PENDING	1		/* a detach completes later */
#define NMR_STATUS_NOINTERFACE	(-ENOPROTOOPT)	/* the module declines the peer */
#define NMR_DISPATCH_SLOTS	NMR_MAX_SLOTS

enum nmr_module_kind {
	NMR_MODULE_PROVIDER = 1,
	NMR_MODULE_CLIENT = 2,
};

/* What a module learns about its peer (NMR: NPI_REGISTRATION_INSTANCE). */
struct nmr_registration_instance {
	enum nmr_module_kind kind;
	struct nmr_guid npi_id;
	struct nmr_guid module_id;
	const char *name;
	__u64 number;			/* registration number */
	/* an interface client: the interface it is */
	__u32 ifindex;
	__u64 netns_ino;
	const char *dev;
	const char *netns;
	/*
	 * The NPI-specific characteristics, read from the registry maps. Like name, dev and
	 * netns, they point into the registrar's copy of the peer's record, valid only during
	 * the callback that is given the instance: copy what is to be kept.
	 */
	const struct nmr_provider_characteristics *provider_characteristics;
	const struct nmr_client_characteristics *client_characteristics;
	/*
	 * The peer's values of the NPI's own characteristics struct (struct
	 * provider_characteristics for a provider, client_characteristics for a client),
	 * when the NPI defines one (npi register --characteristics); NULL otherwise. Its
	 * size, and its version: the NPI's version. Valid during the callback, as above.
	 */
	const void *npi_characteristics;
	__u32 npi_characteristics_size;
	__u32 npi_characteristics_version;
};

/*
 * A dispatch table: BPF programs, slot by slot. A provider's: one program per
 * slot of the NPI, held in a prog array (map_fd), slot 0 being the program
 * instance the client's chain runs for it. A client's: slot 0, when
 * given, is its default action, which ends its chain: it runs when the last
 * provider hands the packet on (or when no provider is bound).
 */
struct nmr_dispatch_table {
	__u32 count;
	int prog_fds[NMR_DISPATCH_SLOTS];
	int map_fd;	/* a provider's: the prog array that holds them, slot by slot */
};

struct nmr_module;	/* a live module */
struct nmr_binding;	/* NMR's binding handle */

struct nmr_client_module_opts {
	size_t sz;			/* sizeof(struct nmr_client_module_opts): NMR_OPTS() */
	const struct nmr_client_opts *client;	/* NMR_OPTS() too */
	void *client_context;
	const struct nmr_dispatch_table *dispatch;	/* optional */
	int (*attach_provider)(struct nmr_binding *binding, void *client_context,
			       const struct nmr_registration_instance *provider);
	int (*detach_provider)(void *client_binding_context);
	void (*cleanup_binding_context)(void *client_binding_context);
	bool persistent;	/* keep it (declarative) when the process ends */
};

struct nmr_provider_module_opts {
	size_t sz;			/* sizeof(struct nmr_provider_module_opts): NMR_OPTS() */
	const struct nmr_provider_opts *provider;	/* NMR_OPTS() too */
	void *provider_context;
	int (*attach_client)(struct nmr_binding *binding, void *provider_context,
			     const struct nmr_registration_instance *client);
	int (*detach_client)(void *provider_binding_context);
	void (*cleanup_binding_context)(void *provider_binding_context);
	bool persistent;
};

NMR_API int nmr_client_module_register(struct nmr_registry *reg,
				       const struct nmr_client_module_opts *opts,
				       struct nmr_module **module);
NMR_API int nmr_provider_module_register(struct nmr_registry *reg,
					 const struct nmr_provider_module_opts *opts,
					 struct nmr_module **module);

/* From a client's attach_provider(): NMR's NmrClientAttachProvider. */
NMR_API int nmr_client_attach_provider(struct nmr_binding *binding, void *client_binding_context,
				       void **provider_binding_context,
				       const struct nmr_dispatch_table **provider_dispatch);
/* From a provider's attach_client(): accept, giving its context and table (NULL: its instance). */
NMR_API int nmr_provider_attach_client(struct nmr_binding *binding, void *provider_binding_context,
				       const struct nmr_dispatch_table *provider_dispatch,
				       void **client_binding_context,
				       const struct nmr_dispatch_table **client_dispatch);
/* Before returning NMR_STATUS_NOINTERFACE: why (shown by `binding list`). */
NMR_API void nmr_binding_decline(struct nmr_binding *binding, const char *reason);
/* The binding's record (its slot, for the BPF binding context). Valid once attached. */
NMR_API const struct nmr_binding_record *nmr_binding_record(const struct nmr_binding *binding);
/*
 * Writes the binding context its BPF program reads (nmr_binding_context()).
 * Callbacks run under the registry's lock: from a callback, use this (or
 * the registry handle the module was registered with), never a second
 * handle of the same registry.
 */
NMR_API int nmr_binding_write_context(struct nmr_binding *binding, const void *data, size_t len);
/*
 * After a detach callback returned NMR_STATUS_PENDING (NMR's
 * Nmr{Client,Provider}Detach{Provider,Client}Complete). Keep the binding
 * handle in the binding context at attach, as the NMR documentation does.
 */
NMR_API void nmr_client_detach_complete(struct nmr_binding *binding);
NMR_API void nmr_provider_detach_complete(struct nmr_binding *binding);

NMR_API const struct nmr_guid *nmr_module_id(const struct nmr_module *module);
/*
 * Deregisters: every binding leaves its chain, no packet can run it, and the
 * detach callbacks are called (they may pend). nmr_module_wait() returns when
 * all detaches have completed and their contexts are cleaned up, and frees
 * the module. (NMR: NmrDeregister*, NmrWaitFor*DeregisterComplete.)
 */
NMR_API int nmr_module_deregister(struct nmr_module *module);
NMR_API int nmr_module_wait(struct nmr_module *module);

/* ---- the change stream ------------------------------------------------- */

enum nmr_event_kind {
	NMR_EVENT_NPI_REGISTERED = 1,
	NMR_EVENT_NPI_DEREGISTERED,
	NMR_EVENT_PROVIDER_REGISTERED,
	NMR_EVENT_PROVIDER_REPLACED,	/* its program changed (provider replace) */
	NMR_EVENT_PROVIDER_DEREGISTERED,
	NMR_EVENT_CLIENT_REGISTERED,
	NMR_EVENT_CLIENT_DEREGISTERED,
	NMR_EVENT_BINDING_BOUND,
	NMR_EVENT_BINDING_DECLINED,	/* reason says why */
	NMR_EVENT_BINDING_REMOVED,
	NMR_EVENT_CHAIN_SWAPPED,	/* a client's chain changed: generations, chain */
	NMR_EVENT_OWNER_GONE,		/* a live module's process ended */
};

struct nmr_event {
	enum nmr_event_kind kind;
	__u64 generation;		/* the registry's, after the change */
	struct nmr_guid id;		/* the object's; a binding's for binding events */
	const char *name;		/* the object's name (not for bindings) */
	const char *client, *provider;	/* names, where the event concerns them */
	__u32 position;			/* binding events: its place in the chain */
	const char *reason;		/* NMR_EVENT_BINDING_DECLINED */
	__u64 old_generation, new_generation;	/* NMR_EVENT_CHAIN_SWAPPED: the client's */
	const char *const *chain;	/* NMR_EVENT_CHAIN_SWAPPED: providers, in order */
	size_t chain_len;
	__u32 pid;			/* NMR_EVENT_OWNER_GONE: the process */
	enum nmr_module_kind module_kind;	/* NMR_EVENT_OWNER_GONE: provider or client */
};

/* "chain-swapped", ... */
NMR_API const char *nmr_event_name(enum nmr_event_kind kind);
typedef int (*nmr_event_fn)(const struct nmr_event *event, void *ctx);
/*
 * Calls fn for every change of the registry, by any process, as it happens
 * (inotify, no polling), until stop_fd (when >= 0) becomes readable: then it
 * returns 0. A nonzero return of fn ends it with that value. Pointers in an
 * event are valid during the call only.
 */
NMR_API int nmr_monitor(struct nmr_registry *reg, int stop_fd, nmr_event_fn fn, void *ctx);

/* ---- metrics ------------------------------------------------------------ */
/*
 * The registry's counters in the Prometheus text format: per binding
 * nmr_binding_packets_total{client,device,netns,npi,provider,position,verdict},
 * per client nmr_client_chain_events_total{...,event} and
 * nmr_client_generation, and nmr_registry_objects{kind}, nmr_registry_generation.
 */
NMR_API int nmr_metrics_write(struct nmr_registry *reg, FILE *out);

/* ---- NPI-defined characteristics (BTF) -------------------------------- */
/*
 * An NPI registered with its own characteristics structs keeps each module's
 * values as the NPI's struct (npi/<id>/{provider,client}_chars, with BTF).
 * A field is named by its path: "proto", "limits.mtu", "ports[1]".
 */
enum nmr_npi_field_type {
	NMR_NPI_FIELD_SIGNED = 1,	/* s */
	NMR_NPI_FIELD_UNSIGNED,		/* u */
	NMR_NPI_FIELD_BOOL,		/* u: 0 or 1 */
	NMR_NPI_FIELD_ENUM,		/* s (signed enums) or u; text: its name when it has one */
	NMR_NPI_FIELD_FLOAT,		/* text only */
	NMR_NPI_FIELD_STRING,		/* a char array: text */
};

struct nmr_npi_field {
	const char *name;		/* its path */
	const char *text;		/* the value as FIELD=VALUE takes it */
	enum nmr_npi_field_type type;
	__s64 s;
	__u64 u;
};
typedef int (*nmr_npi_field_fn)(const struct nmr_npi_field *field, void *ctx);

/*
 * The size of the NPI's struct of that kind (provider_characteristics or
 * client_characteristics): 0 when it defines none.
 */
NMR_API int nmr_npi_chars_size(struct nmr_registry *reg, const char *npi,
			       enum nmr_module_kind kind, __u32 *size);
/*
 * Calls fn for every field of a module's (a provider's or client's, by name or GUID)
 * values of its NPI's struct, in order; nothing when the NPI defines none. A
 * nonzero return of fn ends it with that value.
 */
NMR_API int nmr_npi_chars_foreach(struct nmr_registry *reg, enum nmr_module_kind kind,
				  const char *module, nmr_npi_field_fn fn, void *ctx);
/* A module's values, raw: up to size bytes into buf; *out_size: the struct's size. */
NMR_API int nmr_npi_chars_read(struct nmr_registry *reg, enum nmr_module_kind kind,
			       const char *module, void *buf, size_t size, __u32 *out_size);
/*
 * Sets one field of a struct of the NPI's (buf, size bytes) from "FIELD=VALUE":
 * integers of any width (decimal, 0x hex; signed or not, in range), enums by name or
 * number, bools (true, false, 1, 0), floats, char arrays as strings (with room for the
 * NUL). An unknown field, a value of the wrong type or out of range is refused by name.
 */
NMR_API int nmr_npi_chars_parse(struct nmr_registry *reg, const char *npi,
				enum nmr_module_kind kind, const char *assignment, void *buf,
				size_t size);
/* A declarative client's conditions on its providers' structs (zeros: none). */
NMR_API int nmr_client_npi_requires(struct nmr_registry *reg, const char *client,
				    struct nmr_npi_requires *out);

/* ---- attach decisions (the declarative half of NMR's attach callbacks) ---- */

/*
 * Whether a client accepts a provider by characteristics alone (version range,
 * address families, tags). Fills reason when it does not.
 */
NMR_API bool nmr_characteristics_match(const struct nmr_client_characteristics *client,
				       const struct nmr_provider_characteristics *provider,
				       char *reason, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBNMRBPF_H */
