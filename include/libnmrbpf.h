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
#include <string.h>
#include "nmr_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version; nmr_libnmrbpf_version() gives the one a program runs with. */
#define LIBNMRBPF_MAJOR_VERSION 0
#define LIBNMRBPF_MINOR_VERSION 1
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
/* Deregisters every client, provider and NPI, then removes the root itself. */
NMR_API int nmr_registry_destroy(struct nmr_registry *reg);
/*
 * For a registry that cannot be opened (another layout version): detaches
 * the clients' pinned links and removes every pin, without reading records.
 */
NMR_API int nmr_registry_purge(const char *root);

/* ---- NPIs ---------------------------------------------------------------- */

struct nmr_npi_opts {
	size_t sz;			/* sizeof(struct nmr_npi_opts): NMR_OPTS() */
	const char *name;
	enum nmr_hook hook;
	const struct nmr_guid *id;	/* NULL: generated */
	__u32 version;			/* 0: 1 */
	/* the provider functions it defines; none: one slot, "main" */
	const char *slots[NMR_MAX_SLOTS];
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
 * such attachments run on the library's watcher thread. When the process
 * ends, its modules are deregistered by a watchdog process, unless persistent.
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
	/* the NPI-specific characteristics, read from the registry maps */
	const struct nmr_provider_characteristics *provider_characteristics;
	const struct nmr_client_characteristics *client_characteristics;
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
