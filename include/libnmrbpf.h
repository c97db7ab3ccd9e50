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

#include <stdbool.h>
#include <stddef.h>
#include "nmr_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NMR_DEFAULT_ROOT	"/sys/fs/bpf/nmr"
#define NMR_ROOT_ENV		"NMR_BPF_ROOT"
#define NMR_GUID_STR_LEN	37	/* 36 characters and the NUL */
#define NMR_DEFAULT_PRIORITY	50

struct nmr_registry;

/* ---- errors and ids ---------------------------------------------------- */

/* "<what failed>: <why>" of the last failed call in this thread. */
const char *nmr_last_error(void);

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", braces optional. */
int nmr_guid_parse(const char *str, struct nmr_guid *guid);
void nmr_guid_format(const struct nmr_guid *guid, char buf[NMR_GUID_STR_LEN]);
int nmr_guid_generate(struct nmr_guid *guid);
bool nmr_guid_is_null(const struct nmr_guid *guid);
bool nmr_guid_equal(const struct nmr_guid *a, const struct nmr_guid *b);

/* ---- names of hooks, modes and verdicts ---------------------------------- */

const char *nmr_hook_name(enum nmr_hook hook);		/* "xdp", "tc-ingress", ... */
int nmr_hook_parse(const char *name, enum nmr_hook *hook);
const char *nmr_verdict_name(enum nmr_hook hook, int verdict);
/* "pass,drop" for the hook's verdicts into an NMR_VERDICT_BIT() mask. */
int nmr_verdicts_parse(enum nmr_hook hook, const char *list, __u32 *mask);
/* The mask back into "pass,drop"; returns buf. */
char *nmr_verdicts_format(enum nmr_hook hook, __u32 mask, char *buf, size_t len);
/* The verdict that continues a chain by default ("pass"). */
__u32 nmr_default_continue_on(enum nmr_hook hook);

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
int nmr_registry_open(const char *root, unsigned int flags, struct nmr_registry **reg);
void nmr_registry_close(struct nmr_registry *reg);
const char *nmr_registry_root(const struct nmr_registry *reg);
/*
 * How long the one slot write that made the last chain change live took
 * (the atomic step itself, without the program loads before it).
 */
__u64 nmr_registry_last_swap_ns(const struct nmr_registry *reg);
/* Deregisters every client, provider and NPI, then removes the root itself. */
int nmr_registry_destroy(struct nmr_registry *reg);

/* ---- NPIs ---------------------------------------------------------------- */

struct nmr_npi_opts {
	const char *name;
	enum nmr_hook hook;
	const struct nmr_guid *id;	/* NULL: generated */
};

int nmr_npi_register(struct nmr_registry *reg, const struct nmr_npi_opts *opts,
		     struct nmr_npi_record *out);
/* Refused while providers or clients are registered for it. */
int nmr_npi_deregister(struct nmr_registry *reg, const char *npi);
/* Finds by GUID string or by name. */
int nmr_npi_find(struct nmr_registry *reg, const char *npi, struct nmr_npi_record *out);
/* A malloc'd array in registration order; free() it. */
int nmr_npi_list(struct nmr_registry *reg, struct nmr_npi_record **out, size_t *count);

/* ---- providers ----------------------------------------------------------- */

struct nmr_provider_opts {
	const char *object_path;	/* the BPF ELF object */
	const char *npi;		/* name or GUID */
	const char *prog;		/* NULL: the object's only program */
	const char *name;		/* NULL: the program's name */
	const struct nmr_guid *id;	/* NULL: generated */
	__u32 version_min, version_max;	/* 0, 0: version 1 */
	__u32 priority;			/* used when priority_set */
	bool priority_set;
	__u32 continue_on;		/* NMR_VERDICT_BIT() mask, used when continue_on_set */
	bool continue_on_set;
	__u32 af_mask;
	const char *tags[NMR_MAX_TAGS];
	/* Where libbpf's verifier log goes on a load failure (optional). */
	char *log_buf;
	size_t log_size;
};

/*
 * Loads and verifies the program, keeps the object in the registry, and binds
 * it to every matching client already registered (NMR: ClientAttachProvider
 * for each). Returns the new record in out.
 */
int nmr_provider_register(struct nmr_registry *reg, const struct nmr_provider_opts *opts,
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
int nmr_provider_replace(struct nmr_registry *reg, const struct nmr_provider_replacement *r,
			 size_t n);
/* Unbinds it from every client, waits until no packet can run it, removes it. */
int nmr_provider_deregister(struct nmr_registry *reg, const char *provider);
int nmr_provider_find(struct nmr_registry *reg, const char *provider,
		      struct nmr_provider_record *out);
int nmr_provider_list(struct nmr_registry *reg, struct nmr_provider_record **out,
		      size_t *count);

/* ---- clients ------------------------------------------------------------- */

struct nmr_client_opts {
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
int nmr_client_register(struct nmr_registry *reg, const struct nmr_client_opts *opts,
			struct nmr_client_record *out);
/* Unbinds all, waits until no packet runs a provider, detaches, removes it. */
int nmr_client_deregister(struct nmr_registry *reg, const char *client);
int nmr_client_find(struct nmr_registry *reg, const char *client, struct nmr_client_record *out);
int nmr_client_list(struct nmr_registry *reg, struct nmr_client_record **out, size_t *count);

/* ---- bindings ------------------------------------------------------------ */

/* A binding's counters, summed over CPUs. */
struct nmr_binding_counts {
	__u64 packets;				/* runs: the sum of verdicts */
	__u64 verdicts[NMR_VERDICT_SLOTS];	/* by NMR_VERDICT_INDEX() */
	__u64 missed;
};

/* Bound and declined pairs, by client then position; filters may be NULL. */
int nmr_binding_list(struct nmr_registry *reg, const char *client, const char *provider,
		     struct nmr_binding_record **out, size_t *count);
/* Finds by GUID, or by the name "<client>:<provider>". */
int nmr_binding_find(struct nmr_registry *reg, const char *binding,
		     struct nmr_binding_record *out);
int nmr_binding_counts(struct nmr_registry *reg, const struct nmr_binding_record *binding,
		       struct nmr_binding_counts *out);
/* Reads or writes the free-form part of a binding's context. */
int nmr_binding_context_read(struct nmr_registry *reg, const struct nmr_binding_record *binding,
			     void *data, size_t len);
int nmr_binding_context_write(struct nmr_registry *reg, const struct nmr_binding_record *binding,
			      const void *data, size_t len);

/* ---- attach decisions (the declarative half of NMR's attach callbacks) ---- */

/*
 * Whether a client accepts a provider by characteristics alone (version range,
 * address families, tags). Fills reason when it does not.
 */
bool nmr_characteristics_match(const struct nmr_client_characteristics *client,
			       const struct nmr_provider_characteristics *provider,
			       char *reason, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBNMRBPF_H */
