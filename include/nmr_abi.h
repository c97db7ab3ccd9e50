/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nmr_abi.h - the registry's on-disk (bpffs) layout, shared by the BPF and
 * user-space sides. Every map value and every constant that both sides must
 * agree on is defined here and nowhere else.
 *
 * NMR terms (see README.md "How NMR maps to eBPF"):
 *   NPI        a programming interface, named by a GUID, bound to one hook kind
 *   provider   a BPF program registered for an NPI (the NMR provider module)
 *   client     an XDP/TC hook on one interface registered for an NPI
 *   binding    one provider attached to one client: a program instance in the
 *              client's chain, with its own binding context and counters
 */
#ifndef NMR_ABI_H
#define NMR_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bumped when a record layout changes; a registry of another version is refused. */
#define NMR_ABI_VERSION		5

#define NMR_NAME_LEN		32
#define NMR_PROG_NAME_LEN	64
#define NMR_DEV_LEN		16
#define NMR_REASON_LEN		192
#define NMR_MAX_TAGS		4
#define NMR_MAX_SLOTS		4	/* programs in a provider's dispatch table */
#define NMR_SLOT_LEN		16
#define NMR_TAG_LEN		16

#define NMR_MAX_NPIS		256
#define NMR_MAX_PROVIDERS	4096
#define NMR_MAX_CLIENTS		1024
#define NMR_MAX_BINDINGS	8192	/* bindings at once: their context indexes */

/*
 * Providers in one client's chain. The chain is one program, entered from
 * the client's dispatcher by a tail call; the limit keeps a client's counters
 * (a column per provider, nmr_chain_stats) one 4 KiB block per CPU.
 */
#define NMR_MAX_CHAIN		32

/*
 * Verdicts are counted in a small array indexed by verdict + 1, so that TC's
 * TC_ACT_UNSPEC (-1) lands on index 0 and XDP_ABORTED (0) on index 1.
 * Continue-on sets use the same numbering as a bitmask.
 */
#define NMR_VERDICT_SLOTS	16
#define NMR_VERDICT_INDEX(v)	(((__u32)((v) + 1)) & (NMR_VERDICT_SLOTS - 1))
#define NMR_VERDICT_BIT(v)	(1U << NMR_VERDICT_INDEX(v))

/* Size of the free-form part of a binding context that BPF and user space share. */
#define NMR_BINDING_CONTEXT_SIZE 64

enum nmr_hook {
	NMR_HOOK_NONE = 0,
	NMR_HOOK_XDP = 1,
	NMR_HOOK_TC_INGRESS = 2,
	NMR_HOOK_TC_EGRESS = 3,
};

enum nmr_xdp_mode {
	NMR_MODE_NATIVE = 0,
	NMR_MODE_SKB = 1,
};

/* The Windows GUID layout, so ids read the same as in NMR documentation. */
struct nmr_guid {
	__u32 data1;
	__u16 data2;
	__u16 data3;
	__u8 data4[8];
};

/*
 * A registry-wide change in flight (nmr_registry_meta.intent): what the
 * command that holds the lock is doing, so that the next command can finish
 * or undo it if that one was killed (recover.c).
 */
enum nmr_intent_op {
	NMR_INTENT_NONE = 0,
	NMR_INTENT_CHANGE = 1,		/* per-client changes only: each carries its own */
	NMR_INTENT_PROVIDER_REGISTER = 2,	/* undone */
	NMR_INTENT_PROVIDER_DEREGISTER = 3,	/* finished */
	NMR_INTENT_PROVIDER_REPLACE = 4,	/* undone: its bindings rebuilt from the old object */
	NMR_INTENT_CLIENT_REGISTER = 5,		/* undone */
	NMR_INTENT_CLIENT_DEREGISTER = 6,	/* finished */
	NMR_INTENT_BATCH = 7,	/* apply: finished, every chain made what the records say */
};

struct nmr_intent {
	__u32 op;		/* enum nmr_intent_op */
	__u32 pid;		/* the command's process */
	struct nmr_guid id;	/* the provider or client it is about */
};

/*
 * Registry-wide state: the ABI version, the registration-number counter, the
 * change in flight, which binding contexts are in use (a bit each) and
 * the generation, which every change of the registry increases.
 */
struct nmr_registry_meta {
	__u32 abi_version;
	__u32 pad;
	__u64 next_number;
	struct nmr_intent intent;
	__u64 contexts_used[NMR_MAX_BINDINGS / 64];
	__u64 generation;
};

struct nmr_npi_record {
	struct nmr_guid id;
	char name[NMR_NAME_LEN];
	__u32 hook;		/* enum nmr_hook */
	__u32 version;		/* the NPI's current version: providers' default */
	__u64 number;		/* registration number: order of registration */
	/*
	 * The provider functions the NPI defines: a provider's dispatch table
	 * holds one program per slot. Slot 0 is the one a client's chain runs.
	 */
	__u32 nslots;
	__u32 pad;
	char slots[NMR_MAX_SLOTS][NMR_SLOT_LEN];
};

/* NPI-specific provider characteristics (NMR: NpiSpecificCharacteristics). */
struct nmr_provider_characteristics {
	__u32 version_min;
	__u32 version_max;
	__u32 af_mask;		/* NMR_AF_* the provider handles; 0: any */
	__u32 pad;
	char tags[NMR_MAX_TAGS][NMR_TAG_LEN];
};

/* Client characteristics: what the client requires of a provider. */
struct nmr_client_characteristics {
	__u32 require_version;	/* 0: any */
	__u32 af_mask;		/* address families the client needs; 0: any */
	__u32 max_providers;	/* 0: up to NMR_MAX_CHAIN */
	__u32 flags;		/* NMR_CHARS_F_* */
	char require_tags[NMR_MAX_TAGS][NMR_TAG_LEN];
};

/*
 * An NPI may define its own characteristics: C structs, from BTF, named
 * struct provider_characteristics and struct client_characteristics (npi
 * register --characteristics). Their values are kept per NPI, in the hash maps
 * npi/<id>/provider_chars and npi/<id>/client_chars, keyed by the module's
 * GUID, whose value type is the NPI's struct; they are never read by BPF.
 * A declarative client's conditions on the provider's struct are kept in
 * npi/<id>/client_requires: "FIELD=VALUE" or "FIELD=LO..HI", as given.
 */
#define NMR_NPI_CHARS_MAX_SIZE	1024	/* bytes of an NPI's characteristics struct */
#define NMR_MAX_REQUIRES	8
#define NMR_REQUIRE_LEN		64

struct nmr_npi_requires {
	char require[NMR_MAX_REQUIRES][NMR_REQUIRE_LEN];
};

#define NMR_AF_INET		(1U << 0)
#define NMR_AF_INET6		(1U << 1)

#define NMR_CHARS_F_EXCLUSIVE	(1U << 0)	/* client characteristics: one provider only */

/*
 * A module registered through libnmrbpf with callbacks is live: its process
 * decides its attachments. pid 0: a declarative module (the CLI's), decided
 * by its characteristics. A non-persistent live module is removed when its
 * process ends.
 */
struct nmr_owner {
	__u32 pid;
	__u32 flags;		/* NMR_OWNER_F_* */
	__u64 start_time;	/* the process's start time (/proc/PID/stat), against pid reuse */
};

#define NMR_OWNER_F_PERSISTENT	(1U << 0)

#define NMR_PROVIDER_F_SDK	(1U << 0)	/* uses binding contexts (nmr_provider.h) */
#define NMR_PROVIDER_F_FRAGS	(1U << 1)	/* built as xdp.frags */

struct nmr_provider_record {
	struct nmr_guid id;
	struct nmr_guid npi;
	char name[NMR_NAME_LEN];
	char prog_name[NMR_PROG_NAME_LEN];
	__u64 number;		/* registration number: ties in priority go by it */
	__u32 priority;		/* lower runs first */
	__u32 continue_on;	/* NMR_VERDICT_BIT() set: verdicts that hand the packet on */
	__u32 prog_id;		/* the verified program (not bound: the template) */
	__u32 flags;		/* NMR_PROVIDER_F_* */
	__u32 object_size;	/* bytes of the ELF object kept in the registry */
	__u32 pad;
	struct nmr_provider_characteristics chars;
	struct nmr_owner owner;
	/* the program of each of the NPI's slots; slot 0's is prog_name */
	char slot_progs[NMR_MAX_SLOTS][NMR_PROG_NAME_LEN];
};

#define NMR_CLIENT_F_FRAGS	(1U << 0)	/* XDP dispatcher built for frags */
#define NMR_CLIENT_F_TC_NETLINK	(1U << 1)	/* TC through clsact/cls_bpf, not TCX */
#define NMR_CLIENT_F_DEFAULT	(1U << 2)	/* a default-action program ends its chain */
#define NMR_CLIENT_F_CLSACT	(1U << 3)	/* nmr-bpf made the device's clsact qdisc */

struct nmr_client_record {
	struct nmr_guid id;
	struct nmr_guid npi;
	char name[NMR_NAME_LEN];
	char dev[NMR_DEV_LEN];
	char netns[NMR_NAME_LEN];	/* /run/netns/<netns>; empty: the registrar's own */
	__u64 number;
	__u64 netns_ino;		/* identity of the namespace at registration */
	__u32 ifindex;
	__u32 hook;			/* enum nmr_hook, copied from the NPI */
	__u32 mode;			/* enum nmr_xdp_mode */
	__u32 flags;			/* NMR_CLIENT_F_* */
	__u32 dispatcher_prog_id;	/* the fixed program on the hook */
	__u32 chain_table_id;		/* map id of client/<id>/chain_table */
	__u32 chain_prog_id;		/* the chain in the table; 0: none yet, the table is empty */
	__u32 link_id;			/* XDP or TCX link; 0 for TC through netlink */
	__u32 tc_handle;		/* cls_bpf filter, for TC through netlink */
	__u32 tc_priority;
	/*
	 * The bindings whose code the running chain holds, in chain order. A
	 * change in flight writes the chain it makes in next[] and its program
	 * id in next_chain_id (NMR_CHAIN_LOADING before it is loaded) before
	 * the swap; the next command finishes it if the table holds that
	 * program, and undoes it otherwise (recover.c).
	 */
	__u32 nchain;
	__u32 nnext;
	__u32 next_chain_id;
	__u32 pad;
	struct nmr_guid chain[NMR_MAX_CHAIN];
	struct nmr_guid next[NMR_MAX_CHAIN];
	struct nmr_client_characteristics chars;
	struct nmr_owner owner;
	__u64 generation;		/* increased by every change of its chain */
};

/* next_chain_id of a change whose chain is not loaded yet: it cannot have been swapped in. */
#define NMR_CHAIN_LOADING	0xffffffffU

enum nmr_binding_state {
	NMR_BINDING_BOUND = 1,
	NMR_BINDING_DECLINED = 2,	/* NMR's STATUS_NOINTERFACE: kept so users can see why */
	NMR_BINDING_ATTACHING = 3,	/* a change in flight is binding it (commit.c) */
	/* live modules of two processes: the client's process asks the provider's */
	NMR_BINDING_OFFERED = 4,	/* the client accepted: the provider's process to answer */
	NMR_BINDING_ACCEPTED = 5,	/* the provider accepted: the client's process binds it */
};

/*
 * A binding's id is derived from its pair (nmr_binding_id()): one record per
 * client and provider, found without a search. A bound binding's instance is
 * pinned under binding/<id>/<prog_id>/, so that a change building a new
 * instance never meets the pins of the one running.
 */
struct nmr_binding_record {
	struct nmr_guid id;
	struct nmr_guid client;
	struct nmr_guid provider;
	__u32 state;		/* enum nmr_binding_state */
	__u32 context_index;	/* its binding context: index in binding_contexts */
	__u32 position;		/* 0-based place in the client's chain */
	__u32 prog_id;		/* the binding's instance: its code is linked into the chain */
	__u32 column;		/* its counters in the client's nmr_chain_stats */
	__u32 next_prog_id;	/* a change in flight: the instance it built (replace) */
	__u64 number;
	char reason[NMR_REASON_LEN];	/* why it was declined */
};

/* Per-CPU counters of one binding; packets run = sum of verdicts. */
struct nmr_binding_stats {
	__u64 verdicts[NMR_VERDICT_SLOTS];
};

/* The binding context that the provider's BPF program and user space share. */
struct nmr_binding_context {
	__u8 data[NMR_BINDING_CONTEXT_SIZE];
};

/*
 * A client's counters (client/<id>/stats) are one array value, with its BTF
 * made at run time (chain.c):
 *
 *   struct nmr_client_stats {
 *           struct nmr_chain_stats cpu[possible CPUs];	   a column per binding
 *           struct nmr_chain_events chain[possible CPUs];  the chain's own
 *   };
 *
 * The chain finds its CPU's part from the CPU number, shifted: no map
 * lookup, no multiply. A binding's column is kept while the binding lives,
 * whatever its position. Parts are whole cache lines: CPUs never share one.
 */
struct nmr_chain_stats {
	struct nmr_binding_stats binding[NMR_MAX_CHAIN];
};
#define NMR_CHAIN_STATS_SHIFT	12	/* sizeof(struct nmr_chain_stats) == 1 << 12 */

struct nmr_chain_events {
	__u64 no_provider;	/* packets that found the chain table empty */
	__u64 default_missed;	/* the tail call to the client's default action failed */
} __attribute__((aligned(64)));
#define NMR_CHAIN_EVENTS_SHIFT	6	/* sizeof(struct nmr_chain_events) == 1 << 6 */

/* Both part types, for the registry's BTF (its unpinned chain_stats map). */
struct nmr_chain_parts {
	struct nmr_chain_stats stats;
	struct nmr_chain_events events;
};

/* Per-program-instance constants, frozen into .rodata.nmr at load. */
struct nmr_instance_config {
	__u32 context_index;	/* index in binding_contexts */
	__u32 pad;
};

#endif /* NMR_ABI_H */
