/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The BPF layer: a binding's code (from a loaded program, checked, kept),
 * program instances of providers, the linker (pure: codes and options in,
 * instructions and BTF out; no system call but in nmr_link_load), a client's
 * counters, and its hook (the dispatcher on XDP, TCX or cls_bpf, and its chain
 * table).
 */
#ifndef NMR_BPF_LAYER_H
#define NMR_BPF_LAYER_H

#include "store/store.h"

/* ---- code.c: a binding's code, what the linker links ---- */
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
/* ---- linker.c: codes and options in, a program out ---- */
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

/* ---- counters.c: a client's counters ---- */
/* The counters map, with BTF made from src's part types (nmr_registry_btf()). */
int nmr_chain_stats_create(const struct btf *src);
int nmr_chain_stats_read(int fd, struct nmr_chain_stats *sum, struct nmr_chain_events *ev);
int nmr_chain_stats_reset(int fd, __u32 column);
/* How many CPUs a client's counters hold. */
int nmr_chain_stats_cpus(int fd);
/* A client's counters, summed over its CPUs, read from its pin. */
int nmr_client_stats(struct nmr_registry *reg, const struct nmr_client_record *c,
		     struct nmr_chain_stats *sum, struct nmr_chain_events *ev);


/* ---- instance.c: program instances of a provider ---- */
struct nmr_instance {
	int prog_fd;
	int dispatch_fd;	/* the provider's dispatch table: a program per NPI slot */
	__u32 prog_id;
	struct nmr_code code;	/* what the client's chain links in */
};
#define NMR_INSTANCE_INIT { .prog_fd = -1, .dispatch_fd = -1 }
int nmr_instance_load(struct nmr_registry *reg, const struct nmr_provider_record *prov,
		      const void *obj, size_t obj_size, __u32 slot, bool template,
		      struct nmr_instance *inst, char *log, size_t log_size);
void nmr_instance_close(struct nmr_instance *inst);

/* ---- object_file.c: a provider's object file, untrusted ---- */
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


/* ---- hook.c: the dispatcher on a device, and the client's chain table ---- */
/*
 * The client's pins and its dispatcher on its device; default_fd: its default action.
 * save() writes the client's record: before anything goes on the device, and again when
 * the record gains what undoing it needs, so that a kill leaves nothing unrecorded.
 */
typedef int (*nmr_client_save_fn)(struct nmr_registry *reg, const struct nmr_client_record *c);
int nmr_hook_attach(struct nmr_registry *reg, struct nmr_client_record *client, bool force,
		    int default_fd, nmr_client_save_fn save);
int nmr_hook_detach(struct nmr_registry *reg, const struct nmr_client_record *client);
int nmr_chain_table_open(struct nmr_registry *reg, const struct nmr_client_record *client);
int nmr_chain_table_running(int table_fd, __u32 *prog_id);
/* The swap: chain_fd into the table's slot; < 0 empties it. */
int nmr_chain_table_swap(int table_fd, int chain_fd);
/* What the client's hook runs: its dispatcher, something else, or the device (netns) is gone. */
enum { NMR_HOOK_OURS, NMR_HOOK_OTHER, NMR_HOOK_GONE };
int nmr_hook_state(const struct nmr_client_record *client);

#endif /* NMR_BPF_LAYER_H */
