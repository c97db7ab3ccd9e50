// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A client's chain: the code of every provider bound to it, linked into one
 * BPF program, in chain order. This is the data path.
 *
 *   dispatcher --tail call--> this CPU's counters --> P1's code --> count, continue? -->
 *            P2's code --> count, continue? --> ... --> [default action] --> verdict
 *
 * A provider's code is its binding's instance program as libbpf relocated it
 * (maps and CO-RE resolved), kept in the registry (binding/<id>/<prog>/code)
 * with map references as map ids. Linking copies each provider's main
 * function in line, its "exit"s turned into jumps to the code that counts the
 * verdict and either returns it or falls through to the next provider; the
 * providers' subprograms go after the main function, their call offsets
 * moved. A hop between providers is thus a few instructions, no call and no
 * tail call (docs/BENCHMARKS.md has what each costs).
 *
 * The chain has nothing else: no tail call (but to a default action), no map
 * lookup; its counters are found from the CPU number. The client's dispatcher
 * enters it by a tail call from the client's chain table (hook.c); a change
 * of the chain is a new chain written into that table (commit.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <sys/mman.h>
#include <sys/param.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "bpf/nmr_bpf.h"

#define NMR_CODE_MAGIC 0x45444f43	/* "CODE" */
#define MAX_INSNS 1000000		/* BPF_COMPLEXITY_LIMIT_INSNS */
#define STACK_MAX 512
#define CHAIN_WORDS 24			/* ctx, stats, verdict below the providers' stack */

/* ---- linking ---- */

/* Places in the main function; per provider i: L_NEXT + i is provider i + 1's start,
 * L_AFTER + i where its exits go, L_FINAL + i and L_MULTI + i its out-of-line counts,
 * L_FUNC + i its main function when it is called. */
enum {
	L_END, L_EXIT,
	L_NEXT, L_AFTER = L_NEXT + NMR_MAX_CHAIN, L_FINAL = L_AFTER + NMR_MAX_CHAIN,
	L_MULTI = L_FINAL + NMR_MAX_CHAIN, L_FUNC = L_MULTI + NMR_MAX_CHAIN,
	L_NLABELS = L_FUNC + NMR_MAX_CHAIN,
};

struct emitter {
	struct bpf_insn *insns;
	int *origin;		/* per instruction: its link + 1, 0 for the chain's own */
	__u32 *oinsn;		/* and its index in the link's code */
	size_t n, cap;
	int err;
	int link;		/* the origin of what is emitted next */
	__u32 at;
	__u32 *map_at;		/* instructions whose imm is a map id */
	size_t nmap, capmap;
	/* jumps (and calls) to labels, patched at the end */
	struct { size_t at; int label; } *fix;
	size_t nfix, capfix;
	size_t labels[L_NLABELS];
};

static void emitter_free(struct emitter *e)
{
	free(e->insns);
	free(e->origin);
	free(e->oinsn);
	free(e->map_at);
	free(e->fix);
}

/* Grows *p of *cap elements of size to hold n + 1; false (e->err set) when it cannot. */
static bool grow(struct emitter *e, void **p, size_t *cap, size_t n, size_t size, size_t max)
{
	size_t c = *cap ? 2 * *cap : 1024;
	void *q;

	if (n < *cap)
		return true;
	q = c > max ? NULL : realloc(*p, c * size);
	if (!q) {
		e->err = c > max ? nmr_error(-E2BIG, "link chain: more than %zu instructions",
					     max)
				 : nmr_error(-ENOMEM, "link chain: out of memory");
		return false;
	}
	*p = q;
	*cap = c;
	return true;
}

static void emit(struct emitter *e, struct bpf_insn insn)
{
	if (e->err)
		return;
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 1024;
		struct bpf_insn *p = cap > MAX_INSNS ? NULL : realloc(e->insns, cap * sizeof(*p));
		int *o = p ? realloc(e->origin, cap * sizeof(*o)) : NULL;
		__u32 *oi = o ? realloc(e->oinsn, cap * sizeof(*oi)) : NULL;

		if (p)
			e->insns = p;
		if (o)
			e->origin = o;
		if (!oi) {
			e->err = nmr_error(-E2BIG, "link chain: more than %d instructions",
					   MAX_INSNS);
			return;
		}
		e->oinsn = oi;
		e->cap = cap;
	}
	e->origin[e->n] = e->link;
	e->oinsn[e->n] = e->at;
	e->insns[e->n++] = insn;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
						  .off = (o), .imm = (i) })
#define MOV64_REG(d, s)		INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i)		INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ALU64_IMM(op, d, i)	INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define ALU32_IMM(op, d, i)	INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define ALU64_REG(op, d, s)	INSN(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define MOV32_REG(d, s)		INSN(BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0)
#define LDX(sz, d, s, o)	INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, s, o)	INSN(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST(sz, d, o, i)		INSN(BPF_ST | BPF_MEM | (sz), d, 0, o, i)
#define CALL(f)			INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()			INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static void emit_ld_map(struct emitter *e, int reg, int fd, bool value)
{
	emit(e, INSN(BPF_LD | BPF_IMM | BPF_DW, reg,
		     value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD, 0, fd));
	emit(e, INSN(0, 0, 0, 0, 0));
}

/* reg = the address of the first value of map fd, plus off. */
static void emit_ld_map_value(struct emitter *e, int reg, int fd, __u32 off)
{
	emit(e, INSN(BPF_LD | BPF_IMM | BPF_DW, reg, BPF_PSEUDO_MAP_VALUE, 0, fd));
	emit(e, INSN(0, 0, 0, 0, off));
}

/* A jump (code: BPF_JMP/JMP32 | op | BPF_K, or BPF_JA) to a label placed later or earlier. */
static void emit_jump(struct emitter *e, __u8 code, int reg, __s32 imm, int label)
{
	if (!e->err && e->nfix == e->capfix) {
		size_t cap = e->capfix ? 2 * e->capfix : 64;
		void *p = realloc(e->fix, cap * sizeof(*e->fix));

		if (!p) {
			e->err = nmr_error(-ENOMEM, "link chain: out of memory");
			return;
		}
		e->fix = p;
		e->capfix = cap;
	}
	if (e->err)
		return;
	e->fix[e->nfix].at = e->n;
	e->fix[e->nfix++].label = label;
	emit(e, INSN(code, reg, 0, 0, imm));
}

static void place(struct emitter *e, int label)
{
	e->labels[label] = e->n;
}

struct frame {
	short ctx, stats, verdict;	/* stack offsets of the chain's own words */
};

/* The counters this function writes to; ncpus: the parts they hold. */
struct counters {
	int fd, ncpus;
};

/* r1 = the base address of this CPU's part of size 1 << shift, from first. Clobbers r0-r5. */
static void emit_cpu_part(struct emitter *e, const struct counters *k, __u32 first, int shift)
{
	emit(e, CALL(BPF_FUNC_get_smp_processor_id));	/* inlined by the verifier */
	emit(e, INSN(BPF_JMP | BPF_JLT | BPF_K, BPF_REG_0, 0, 1, k->ncpus));
	emit(e, MOV64_IMM(BPF_REG_0, 0));	/* never: each CPU has its part */
	emit(e, ALU64_IMM(BPF_LSH, BPF_REG_0, shift));
	emit_ld_map_value(e, BPF_REG_1, k->fd, first);
	emit(e, ALU64_REG(BPF_ADD, BPF_REG_1, BPF_REG_0));
}

/* This CPU's chain event at off (of struct nmr_chain_events) counted. Clobbers r0-r5. */
static void emit_event_count(struct emitter *e, const struct counters *k, short off)
{
	emit_cpu_part(e, k, k->ncpus * sizeof(struct nmr_chain_stats), NMR_CHAIN_EVENTS_SHIFT);
	emit(e, LDX(BPF_DW, BPF_REG_2, BPF_REG_1, off));
	emit(e, ALU64_IMM(BPF_ADD, BPF_REG_2, 1));
	emit(e, STX(BPF_DW, BPF_REG_1, BPF_REG_2, off));
}

/* (*(u64 *)(stats + off))++, the stats pointer in r1 or in its stack word. */
static void emit_count(struct emitter *e, const struct frame *f, short off, bool in_r1)
{
	if (!in_r1)
		emit(e, LDX(BPF_DW, BPF_REG_1, BPF_REG_10, f->stats));
	emit(e, LDX(BPF_DW, BPF_REG_3, BPF_REG_1, off));
	emit(e, ALU64_IMM(BPF_ADD, BPF_REG_3, 1));
	emit(e, STX(BPF_DW, BPF_REG_1, BPF_REG_3, off));
}

static void emit_tail_call(struct emitter *e, int table_fd, __u32 key, const struct frame *f)
{
	emit(e, LDX(BPF_DW, BPF_REG_1, BPF_REG_10, f->ctx));
	emit_ld_map(e, BPF_REG_2, table_fd, false);
	emit(e, MOV64_IMM(BPF_REG_3, key));
	emit(e, CALL(BPF_FUNC_tail_call));
}

/* binding[col].verdicts[NMR_VERDICT_INDEX(r0)]++, col being the column's byte offset. */
static void emit_verdict_count(struct emitter *e, const struct frame *f, short col, bool in_r1)
{
	if (!in_r1)
		emit(e, LDX(BPF_DW, BPF_REG_1, BPF_REG_10, f->stats));
	emit(e, MOV32_REG(BPF_REG_2, BPF_REG_0));
	emit(e, ALU32_IMM(BPF_ADD, BPF_REG_2, 1));
	emit(e, ALU32_IMM(BPF_AND, BPF_REG_2, NMR_VERDICT_SLOTS - 1));
	emit(e, ALU64_IMM(BPF_LSH, BPF_REG_2, 3));
	emit(e, ALU64_REG(BPF_ADD, BPF_REG_1, BPF_REG_2));
	emit(e, LDX(BPF_DW, BPF_REG_2, BPF_REG_1, col));
	emit(e, ALU64_IMM(BPF_ADD, BPF_REG_2, 1));
	emit(e, STX(BPF_DW, BPF_REG_1, BPF_REG_2, col));
}

/*
 * After the first provider: r1 = this CPU's counters, found now that the
 * context is no longer needed in a register; on the stack too if more
 * providers follow. keep_verdict: r0 survives (the helper call clobbers it).
 */
static void emit_first_counters(struct emitter *e, const struct counters *k, const struct frame *f,
				bool spill, bool keep_verdict)
{
	if (keep_verdict)
		emit(e, STX(BPF_DW, BPF_REG_10, BPF_REG_0, f->verdict));
	emit_cpu_part(e, k, 0, NMR_CHAIN_STATS_SHIFT);	/* no map lookup */
	if (spill)
		emit(e, STX(BPF_DW, BPF_REG_10, BPF_REG_1, f->stats));
	if (keep_verdict)
		emit(e, LDX(BPF_DW, BPF_REG_0, BPF_REG_10, f->verdict));
}

/*
 * Out of line, per provider: a final verdict counted, then returned; with a
 * continue-on set of more than one verdict, the verdict counted, then on.
 */
static void emit_final_counts(struct emitter *e, const struct counters *k, const struct frame *f,
			      const struct nmr_chain_link *link, size_t i, int next, bool spill)
{
	short col = link->column * sizeof(struct nmr_binding_stats);

	place(e, L_FINAL + i);
	if (!i)
		emit_first_counters(e, k, f, false, true);
	emit_verdict_count(e, f, col, !i);
	emit(e, EXIT());
	if (__builtin_popcount(link->continue_on) <= 1)
		return;
	place(e, L_MULTI + i);
	if (!i)
		emit_first_counters(e, k, f, spill, true);
	emit_verdict_count(e, f, col, !i);
	emit_jump(e, BPF_JMP | BPF_JA, 0, 0, next);
}

static bool is_ld_imm64(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW);
}

/* A call of the function at label (a BPF-to-BPF call, patched as a jump is). */
static void emit_call_label(struct emitter *e, int label)
{
	emit_jump(e, BPF_JMP | BPF_CALL, 0, 0, label);
	if (!e->err)
		e->insns[e->n - 1].src_reg = BPF_PSEUDO_CALL;
}

/*
 * Link i's instructions [from, to), their origin noted. Copied as they are:
 * a provider's calls and jumps are relative and stay within what is copied.
 * In line, its exits become jumps to the code after it.
 */
static void emit_code(struct emitter *e, const struct nmr_code *code, size_t i, __u32 from,
		      __u32 to, bool in_line)
{
	for (__u32 j = from; j < to && !e->err; j++) {
		struct bpf_insn in = code->insns[j];

		e->link = i + 1;
		e->at = j;
		if (in_line && in.code == (BPF_JMP | BPF_EXIT)) {
			emit_jump(e, BPF_JMP | BPF_JA, 0, 0, L_AFTER + i);
			continue;
		}
		if (is_ld_imm64(&in) && (in.src_reg == BPF_PSEUDO_MAP_FD ||
					 in.src_reg == BPF_PSEUDO_MAP_VALUE) &&
		    grow(e, (void **)&e->map_at, &e->capmap, e->nmap, sizeof(*e->map_at),
			 MAX_INSNS))
			e->map_at[e->nmap++] = e->n;
		emit(e, in);
	}
	e->link = 0;
	e->at = 0;
}

static void patch_jumps(struct emitter *e)
{
	for (size_t i = 0; i < e->nfix && !e->err; i++) {
		long off = (long)e->labels[e->fix[i].label] - (long)e->fix[i].at - 1;

		if (e->insns[e->fix[i].at].code == (BPF_JMP | BPF_CALL))
			e->insns[e->fix[i].at].imm = off;
		else if (off < -32768 || off > 32767)
			e->err = nmr_error(-E2BIG, "link chain: a provider is too long to jump "
					   "over (%ld instructions)", off);
		else
			e->insns[e->fix[i].at].off = off;
	}
}



/* The last lines of a verifier log, which say why. */
static const char *log_tail(const char *log, int lines)
{
	const char *p = log + strlen(log);

	while (p > log && lines >= 0)
		if (*--p == '\n' && p[1])
			lines--;
	return p == log ? p : p + 1;
}

bool nmr_code_simple(const struct nmr_code *c)
{
	return !(c->hdr.flags & (NMR_CODE_F_CALLS | NMR_CODE_F_LD_ABS | NMR_CODE_F_TAIL_CALL)) &&
	       (c->hdr.flags & NMR_CODE_F_STACK) && c->hdr.stack + CHAIN_WORDS <= STACK_MAX &&
	       c->hdr.main_len == c->hdr.insn_cnt;
}

/*
 * In line: each simple provider's main function copied into the chain's, its
 * exits jumps to the code that counts and goes on; the chain's own words on
 * the stack below the deepest of theirs (the verifier's figure). A provider
 * that is not simple is called (called[i]) from the same place, its code
 * after the chain's: a BPF call and return cost more than a hop in line, so
 * only what needs a call of its own gets one.
 */
static void link_in_line(struct emitter *e, const struct nmr_chain_link *links, size_t n,
			 const struct counters *k, int default_fd, int empty_verdict,
			 const bool *called, __u32 *stack)
{
	struct frame f;
	__u32 depth = 0;

	for (size_t i = 0; i < n; i++)
		if (!called[i])
			depth = MAX(depth, links[i].code->hdr.stack);
	*stack = depth + CHAIN_WORDS;
	f.ctx = -(short)(depth + 8);
	f.stats = -(short)(depth + 16);
	f.verdict = -(short)(depth + 24);
	/* The context, for the providers after the first and the default action. */
	if (n > 1 || default_fd >= 0)
		emit(e, STX(BPF_DW, BPF_REG_10, BPF_REG_1, f.ctx));
	if (!n) {
		emit_event_count(e, k, offsetof(struct nmr_chain_events, no_provider));
		emit(e, MOV64_IMM(BPF_REG_0, empty_verdict));
		emit_jump(e, BPF_JMP | BPF_JA, 0, 0, L_END);
	}
	/*
	 * Per provider, the path a packet takes on to the next one is kept
	 * short: its verdict tested, the counter of that verdict bumped at a
	 * fixed offset, the context reloaded. A final verdict is counted out of
	 * line (emit_final_counts) before it is returned. This CPU's counters
	 * are found once the first provider is done (emit_first_counters).
	 */
	for (size_t i = 0; i < n && !e->err; i++) {
		__u32 cont = links[i].continue_on;
		short col = links[i].column * sizeof(struct nmr_binding_stats);
		int next = i + 1 < n ? L_NEXT + i + 1 : L_END, nb = __builtin_popcount(cont);

		if (i)
			emit(e, LDX(BPF_DW, BPF_REG_1, BPF_REG_10, f.ctx));
		if (called[i])
			emit_call_label(e, L_FUNC + i);
		else
			emit_code(e, links[i].code, i, 0, links[i].code->hdr.main_len, true);
		place(e, L_AFTER + i);
		if (nb == 1) {
			int v = __builtin_ctz(cont) - 1;

			emit_jump(e, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_0, v, L_FINAL + i);
			if (!i)		/* the verdict is v: nothing to keep */
				emit_first_counters(e, k, &f, n > 1, false);
			emit_count(e, &f, col + 8 * NMR_VERDICT_INDEX(v), !i);
			if (!i && next == L_END)
				emit(e, MOV64_IMM(BPF_REG_0, v));
		} else {
			for (int b = 0; b < NMR_VERDICT_SLOTS; b++)
				if (cont & (1U << b))
					emit_jump(e, BPF_JMP32 | BPF_JEQ | BPF_K, BPF_REG_0, b - 1,
						  L_MULTI + i);
			emit_jump(e, BPF_JMP | BPF_JA, 0, 0, L_FINAL + i);
		}
		if (i + 1 < n)
			place(e, next);
	}
	/* handed on by the last provider (or the chain is empty): the default action */
	place(e, L_END);
	if (n && !links[n - 1].continue_on) {
		/* nothing reaches here */
	} else if (default_fd >= 0) {
		emit(e, STX(BPF_DW, BPF_REG_10, BPF_REG_0, f.verdict));
		emit_tail_call(e, default_fd, 0, &f);
		emit_event_count(e, k, offsetof(struct nmr_chain_events, default_missed));
		emit(e, LDX(BPF_DW, BPF_REG_0, BPF_REG_10, f.verdict));
		emit(e, EXIT());
	} else {
		emit(e, EXIT());
	}
	for (size_t i = 0; i < n; i++)
		emit_final_counts(e, k, &f, &links[i], i, i + 1 < n ? L_NEXT + i + 1 : L_END,
				  n > 1);
	for (size_t i = 0; i < n && !e->err; i++) {
		if (!called[i])
			continue;
		place(e, L_FUNC + i);
		emit_code(e, links[i].code, i, 0, links[i].code->hdr.insn_cnt, false);
	}
}

/*
 * By calls: the chain's main function keeps the context in r6, this CPU's
 * counters in r7 and a verdict for the default action in r8 (callee-saved,
 * so no stack at all) and calls each provider's main function, copied whole
 * with its subprograms after it. A provider's stack is then what it is
 * alone, whatever its neighbours; an LD_ABS that fails returns 0 from that
 * provider's function only, counted, as the program alone returns 0; a
 * tail call returns its target's verdict to the chain.
 */
static void link_by_calls(struct emitter *e, const struct nmr_chain_link *links, size_t n,
			  const struct counters *k, int default_fd)
{
	struct frame f = {};

	emit(e, MOV64_REG(BPF_REG_6, BPF_REG_1));
	emit_cpu_part(e, k, 0, NMR_CHAIN_STATS_SHIFT);
	emit(e, MOV64_REG(BPF_REG_7, BPF_REG_1));
	for (size_t i = 0; i < n && !e->err; i++) {
		__u32 cont = links[i].continue_on;
		short col = links[i].column * sizeof(struct nmr_binding_stats);
		int next = i + 1 < n ? L_NEXT + i + 1 : L_END;

		emit(e, MOV64_REG(BPF_REG_1, BPF_REG_6));
		emit_call_label(e, L_FUNC + i);
		emit(e, MOV64_REG(BPF_REG_1, BPF_REG_7));
		emit_verdict_count(e, &f, col, true);
		if (__builtin_popcount(cont) == 1) {
			emit_jump(e, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_0,
				  __builtin_ctz(cont) - 1, L_EXIT);
		} else if (cont) {
			for (int b = 0; b < NMR_VERDICT_SLOTS; b++)
				if (cont & (1U << b))
					emit_jump(e, BPF_JMP32 | BPF_JEQ | BPF_K, BPF_REG_0, b - 1,
						  next);
			emit_jump(e, BPF_JMP | BPF_JA, 0, 0, L_EXIT);
		}
		if (i + 1 < n)
			place(e, next);
	}
	place(e, L_END);
	if (links[n - 1].continue_on && default_fd >= 0) {
		emit(e, MOV64_REG(BPF_REG_8, BPF_REG_0));
		emit(e, MOV64_REG(BPF_REG_1, BPF_REG_6));
		emit_ld_map(e, BPF_REG_2, default_fd, false);
		emit(e, MOV64_IMM(BPF_REG_3, 0));
		emit(e, CALL(BPF_FUNC_tail_call));
		emit_event_count(e, k, offsetof(struct nmr_chain_events, default_missed));
		emit(e, MOV64_REG(BPF_REG_0, BPF_REG_8));
	}
	place(e, L_EXIT);
	emit(e, EXIT());
	for (size_t i = 0; i < n && !e->err; i++) {
		place(e, L_FUNC + i);
		emit_code(e, links[i].code, i, 0, links[i].code->hdr.insn_cnt, false);
	}
}

/* ---- the chain's BTF ---- */

struct infos {
	struct bpf_func_info *func;
	size_t nfunc, capfunc;
	struct bpf_line_info *line;
	size_t nline, capline;
};

static int add_func(struct infos *in, __u32 off, __u32 type)
{
	if (in->nfunc == in->capfunc) {
		size_t cap = in->capfunc ? 2 * in->capfunc : 64;
		void *p = realloc(in->func, cap * sizeof(*in->func));

		if (!p)
			return -ENOMEM;
		in->func = p;
		in->capfunc = cap;
	}
	in->func[in->nfunc++] = (struct bpf_func_info){ .insn_off = off, .type_id = type };
	return 0;
}

static int add_line(struct infos *in, __u32 off, __u32 file, __u32 line, __u32 col)
{
	if (in->nline == in->capline) {
		size_t cap = in->capline ? 2 * in->capline : 256;
		void *p = realloc(in->line, cap * sizeof(*in->line));

		if (!p)
			return -ENOMEM;
		in->line = p;
		in->capline = cap;
	}
	in->line[in->nline++] = (struct bpf_line_info){ .insn_off = off, .file_name_off = file,
							 .line_off = line, .line_col = col };
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	const struct bpf_line_info *x = a, *y = b;

	if (x->insn_off != y->insn_off)
		return x->insn_off < y->insn_off ? -1 : 1;
	return x < y ? -1 : 1;	/* stable: a provider's own line before the chain's */
}

/* The sorted starts of a code's functions: its func_info, or found from its calls. */
static int code_funcs(const struct nmr_code *c, __u32 *starts, __u32 max, __u32 *n)
{
	*n = 0;
	if (c->hdr.nfunc) {
		for (__u32 i = 0; i < c->hdr.nfunc && i < max; i++)
			starts[(*n)++] = c->func[i].insn_off;
		return 0;
	}
	starts[(*n)++] = 0;
	for (__u32 i = 0; i < c->hdr.insn_cnt; i++) {
		const struct bpf_insn *in = &c->insns[i];
		__s64 t = (__s64)i + in->imm + 1;
		bool seen = false;

		if (!((in->code == (BPF_JMP | BPF_CALL) && in->src_reg == BPF_PSEUDO_CALL) ||
		      (is_ld_imm64(in) && in->src_reg == BPF_PSEUDO_FUNC)))
			continue;
		if (t <= 0 || t >= c->hdr.insn_cnt)
			return -EINVAL;
		for (__u32 j = 0; j < *n; j++)
			seen |= starts[j] == t;
		if (!seen && *n == max)
			return -E2BIG;
		if (!seen)
			starts[(*n)++] = t;
	}
	for (__u32 i = 1; i < *n; i++)
		for (__u32 j = i; j > 0 && starts[j - 1] > starts[j]; j--) {
			__u32 x = starts[j];

			starts[j] = starts[j - 1];
			starts[j - 1] = x;
		}
	return 0;
}

/* A BTF name from a provider's name: letters, digits and '_'. */
static void btf_ident(char *buf, size_t len, const char *name, size_t i, __u32 k)
{
	size_t at;

	snprintf(buf, len, "nmr_%s_%u", name ? name : "provider", k);
	for (at = 0; buf[at]; at++)
		if (!(buf[at] == '_' || (buf[at] >= '0' && buf[at] <= '9') ||
		      (buf[at] >= 'a' && buf[at] <= 'z') || (buf[at] >= 'A' && buf[at] <= 'Z')))
			buf[at] = '_';
	(void)i;
}

/*
 * The chain's BTF: its own main function's type, then each provider's BTF
 * as it is, its types moved by where they land. One func_info per function
 * at its new offset (a provider's main called as a static function: alone it
 * is the program, not a global function to verify on its own), its lines
 * moved likewise, and a line of the chain's own at each stretch of its code.
 */
static int link_btf(const struct emitter *e, const struct nmr_chain_link *links, size_t n,
		    const bool *called, struct nmr_linked *out)
{
	struct btf *btf = btf__new_empty();
	struct infos in = {};
	__u32 starts[256], nstarts;
	int int_id, ptr, proto, any, chain, file, err = -ENOMEM;

	if (!btf)
		return nmr_error(-ENOMEM, "link chain: out of memory");
	int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	ptr = btf__add_ptr(btf, 0);
	proto = btf__add_func_proto(btf, int_id);
	if (int_id < 0 || ptr < 0 || proto < 0 || btf__add_func_param(btf, "ctx", ptr))
		goto fail;
	chain = btf__add_func(btf, "nmr_chain", BTF_FUNC_GLOBAL, proto);
	any = btf__add_func_proto(btf, int_id);
	for (int a = 0; a < 5 && any >= 0; a++) {
		char name[4] = { 'r', '1' + a, 0 };

		if (btf__add_func_param(btf, name, ptr))
			any = -1;
	}
	file = btf__add_str(btf, "nmr-bpf chain");
	if (chain < 0 || any < 0 || file < 0 || add_func(&in, 0, chain))
		goto fail;
	err = 0;
	for (size_t i = 0; i < n; i++) {
		const struct nmr_code *c = links[i].code;
		size_t at = 0;
		struct btf *src = NULL;
		__u32 base = 0, copied = called[i] ? c->hdr.insn_cnt : c->hdr.main_len;
		int first;

		while (at < e->n && e->origin[at] != (int)i + 1)
			at++;
		if (c->hdr.btf_size) {
			src = btf__new(c->btf, c->hdr.btf_size);
			if (!src) {
				err = nmr_error(-EINVAL, "link chain: the BTF of %s is damaged",
						links[i].name ?: "a provider");
				goto fail_quiet;
			}
			first = btf__add_btf(btf, src);
			if (first < 0) {
				btf__free(src);
				goto fail;
			}
			base = first - 1;
		}
		if (called[i]) {
			err = code_funcs(c, starts, ARRAY_SIZE(starts), &nstarts);
			if (err) {
				btf__free(src);
				err = nmr_error(err, "link chain: the functions of %s",
						links[i].name ?: "a provider");
				goto fail_quiet;
			}
			for (__u32 f = 0; f < nstarts && !err; f++) {
				char name[64];
				int t;

				if (src && c->hdr.nfunc) {
					const struct btf_type *ft = btf__type_by_id(src,
									c->func[f].type_id);

					t = base + c->func[f].type_id;
					if (!ft || !btf_is_func(ft))
						t = -EINVAL;
					else if (!f)	/* the provider's main: static here */
						t = btf__add_func(btf, btf__name_by_offset(src,
								  ft->name_off), BTF_FUNC_STATIC,
								  base + ft->type);
				} else {
					btf_ident(name, sizeof(name), links[i].name, i, f);
					t = btf__add_func(btf, name, BTF_FUNC_STATIC, any);
				}
				err = t < 0 ? t : add_func(&in, at + starts[f], t);
				/* the kernel wants a line where each function starts */
				if (!err)
					err = add_line(&in, at + starts[f], file, 0, 0);
			}
		}
		for (__u32 l = 0; src && l < c->hdr.nline && !err; l++) {
			const struct bpf_line_info *li = &c->line[l];
			const char *fname = btf__str_by_offset(src, li->file_name_off);
			const char *line = btf__str_by_offset(src, li->line_off);
			int fo, lo;

			if (li->insn_off >= copied)
				continue;
			fo = btf__add_str(btf, fname ?: "");
			lo = btf__add_str(btf, line ?: "");
			err = fo < 0 || lo < 0 ? -ENOMEM : 0;
			/* a provider's own lines go first: sorted before the chain's at one offset */
			if (!err)
				err = add_line(&in, at + li->insn_off, fo, lo, li->line_col);
		}
		btf__free(src);
		if (err)
			goto fail;
	}
	/* the chain's own code: a line where each stretch of it starts */
	for (size_t x = 0; x < e->n && !err; x++)
		if (!e->origin[x] && (!x || e->origin[x - 1]))
			err = add_line(&in, x, file, 0, 0);
	if (err)
		goto fail;
	/* stable by position: move the chain's lines after providers' at one offset */
	for (size_t a = 0; a < in.nline; a++)
		if (in.line[a].file_name_off == (__u32)file && !in.line[a].line_off)
			in.line[a].line_col = 1;	/* marks "ours" for the sort below */
	qsort(in.line, in.nline, sizeof(*in.line), cmp_line);
	{
		size_t w = 0;

		for (size_t r = 0; r < in.nline; r++)
			if (!w || in.line[w - 1].insn_off != in.line[r].insn_off)
				in.line[w++] = in.line[r];
			else if (in.line[w - 1].file_name_off == (__u32)file &&
				 !in.line[w - 1].line_off)
				in.line[w - 1] = in.line[r];	/* the provider's own line wins */
		in.nline = w;
		for (size_t r = 0; r < w; r++)
			if (in.line[r].file_name_off == (__u32)file && !in.line[r].line_off)
				in.line[r].line_col = 0;
	}
	out->btf = btf;
	out->func = in.func;
	out->nfunc = in.nfunc;
	out->line = in.line;
	out->nline = in.nline;
	return 0;
fail:
	err = nmr_error(err < 0 ? err : -ENOMEM, "link chain: make its BTF");
fail_quiet:
	free(in.func);
	free(in.line);
	btf__free(btf);
	return err;
}

void nmr_linked_free(struct nmr_linked *l)
{
	free(l->insns);
	free(l->func);
	free(l->line);
	free(l->map_at);
	free(l->origin);
	free(l->origin_insn);
	btf__free(l->btf);
	memset(l, 0, sizeof(*l));
}

int nmr_link(const struct nmr_chain_link *links, size_t n, const struct nmr_link_opts *opts,
	     struct nmr_linked *out)
{
	int empty_verdict = opts->hook == NMR_HOOK_XDP ? XDP_PASS : TC_ACT_UNSPEC;
	struct counters k = { .fd = opts->stats_fd, .ncpus = opts->ncpus };
	bool by_calls = false, btf = false, any_called = false, called[NMR_MAX_CHAIN] = {};
	struct emitter e = {};
	__u32 depth = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if (n > NMR_MAX_CHAIN)
		return nmr_error(-E2BIG, "link chain: %zu providers, at most %d", n,
				 NMR_MAX_CHAIN);
	out->gpl = true;
	/* A provider that hands nothing on ends the chain: what follows never runs. */
	for (size_t i = 0; i + 1 < n; i++)
		if (!links[i].continue_on)
			n = i + 1;
	for (size_t i = 0; i < n; i++) {
		const struct nmr_code *c = links[i].code;

		out->gpl &= !!c->hdr.gpl;
		btf |= c->hdr.btf_size != 0;
		if (nmr_code_simple(c)) {
			depth = MAX(depth, c->hdr.stack);
			continue;
		}
		if (opts->mode == NMR_LINK_INLINE)
			return nmr_error(-EINVAL, "link chain: %s cannot be linked in line "
					 "(it calls functions, uses LD_ABS or tail calls, or its "
					 "stack leaves no room)", links[i].name ?: "a provider");
		called[i] = any_called = true;
	}
	/*
	 * A called provider's frames go below the chain's: when they might not
	 * fit as they do alone (or a tail call of theirs might find more than
	 * the kernel allows above it), the chain keeps no frame at all.
	 */
	depth = (depth + CHAIN_WORDS + 31) & ~31U;
	for (size_t i = 0; i < n; i++) {
		const struct nmr_code_header *h = &links[i].code->hdr;

		if (called[i] && (!(h->flags & NMR_CODE_F_STACK) || depth + h->frames > STACK_MAX ||
				  ((h->flags & NMR_CODE_F_TAIL_CALL) && depth + h->frames >= 256)))
			by_calls = true;
	}
	if (opts->mode == NMR_LINK_CALL && n)
		by_calls = true;
again:
	if (by_calls) {
		for (size_t i = 0; i < n; i++)
			called[i] = true;
		link_by_calls(&e, links, n, &k, opts->default_fd);
	} else {
		link_in_line(&e, links, n, &k, opts->default_fd, empty_verdict, called,
			     &out->stack);
	}
	patch_jumps(&e);
	if (e.err == -E2BIG && !by_calls && opts->mode == NMR_LINK_AUTO && n) {
		/* in line, the jumps over a long provider are out of range: calls have none */
		emitter_free(&e);
		e = (struct emitter){};
		by_calls = true;
		goto again;
	}
	err = e.err;
	if (!err && (by_calls || any_called || btf))
		err = link_btf(&e, links, n, called, out);
	if (err) {
		emitter_free(&e);
		nmr_linked_free(out);
		return err;
	}
	out->insns = e.insns;
	out->n = e.n;
	out->map_at = e.map_at;
	out->nmap = e.nmap;
	out->origin = e.origin;
	out->origin_insn = e.oinsn;
	out->call_mode = by_calls;
	for (size_t x = 0; x < e.n; x++)
		out->origin[x]--;	/* the link, or -1 for the chain's own */
	free(e.fix);
	return 0;
}

/* ---- loading a linked chain ---- */

/* The source line of instruction at of code c: "file:line: text", or "". */
static void source_line(const struct nmr_code *c, __u32 at, char *buf, size_t len)
{
	const struct bpf_line_info *best = NULL;
	struct btf *btf;

	buf[0] = 0;
	for (__u32 i = 0; i < c->hdr.nline; i++)
		if (c->line[i].insn_off <= at && (!best || c->line[i].insn_off > best->insn_off))
			best = &c->line[i];
	if (!best || !c->hdr.btf_size || !(btf = btf__new(c->btf, c->hdr.btf_size)))
		return;
	snprintf(buf, len, "; source %s:%u: %s", btf__str_by_offset(btf, best->file_name_off) ?: "?",
		 BPF_LINE_INFO_LINE_NUM(best->line_col),
		 btf__str_by_offset(btf, best->line_off) ?: "");
	btf__free(btf);
}

/* The instruction the verifier stopped at: the last "N: (" line of its log. */
static long failing_insn(const char *log)
{
	long at = -1;

	for (const char *p = log; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end != p && end[0] == ':' && end[1] == ' ' && end[2] == '(')
			at = v;
	}
	return at;
}


int nmr_link_load(const struct nmr_linked *l, const struct nmr_chain_link *links, size_t n,
		  const struct nmr_link_opts *opts, const char *client_name)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o);
	enum bpf_prog_type type = opts->hook == NMR_HOOK_XDP ? BPF_PROG_TYPE_XDP
							     : BPF_PROG_TYPE_SCHED_CLS;
	const char *lic = l->gpl ? "GPL" : "Proprietary";
	struct bpf_insn *insns = malloc(l->n * sizeof(*insns));
	__u32 ids[64];
	int fds[64], nfds = 0, fd = -ENOMEM;
	size_t log_size = 16 << 20;
	char *log = NULL, where[1024] = "";

	if (!insns)
		return nmr_error(-ENOMEM, "link chain: out of memory");
	memcpy(insns, l->insns, l->n * sizeof(*insns));
	/* map ids back to fds, each map opened once */
	for (size_t m = 0; m < l->nmap; m++) {
		struct bpf_insn *in = &insns[l->map_at[m]];
		int k = 0;

		while (k < nfds && ids[k] != (__u32)in->imm)
			k++;
		if (k == nfds) {
			if (nfds == ARRAY_SIZE(ids)) {
				fd = nmr_error(-E2BIG, "link chain: more than %zu maps",
					       ARRAY_SIZE(ids));
				goto out;
			}
			ids[k] = in->imm;
			fds[k] = bpf_map_get_fd_by_id(in->imm);
			if (fds[k] < 0) {
				fd = nmr_error(-errno, "link chain: map id %u is gone: %s",
					       in->imm, strerror(errno));
				goto out;
			}
			nfds++;
		}
		in->imm = fds[k];
	}
	if (l->btf && btf__load_into_kernel(l->btf)) {
		fd = nmr_error(-errno ?: -EINVAL, "link the chain of client %s: the kernel "
			       "refuses its BTF: %s", client_name, strerror(errno ?: EINVAL));
		goto out;
	}
	if (l->btf) {
		o.prog_btf_fd = btf__fd(l->btf);
		o.func_info = l->func;
		o.func_info_cnt = l->nfunc;
		o.func_info_rec_size = sizeof(*l->func);
		o.line_info = l->line;
		o.line_info_cnt = l->nline;
		o.line_info_rec_size = sizeof(*l->line);
	}
	if (opts->hook == NMR_HOOK_XDP) {
		o.expected_attach_type = BPF_XDP;
		o.prog_flags = opts->frags ? BPF_F_XDP_HAS_FRAGS : 0;
	}
	fd = bpf_prog_load(type, "nmr_chain", lic, insns, l->n, &o);
	if (fd >= 0)
		goto out;
	fd = -errno;
	/* again, for the verifier's reasons */
	log = malloc(log_size);
	if (log) {
		long at;

		o.log_buf = log;
		o.log_size = log_size;
		o.log_level = 1;
		log[0] = 0;
		if ((fd = bpf_prog_load(type, "nmr_chain", lic, insns, l->n, &o)) >= 0)
			goto out;
		fd = -errno;
		at = failing_insn(log);
		if (at >= 0 && (size_t)at < l->n && l->origin[at] >= 0 &&
		    (size_t)l->origin[at] < n) {
			const struct nmr_chain_link *lk = &links[l->origin[at]];
			char src[512];

			source_line(lk->code, l->origin_insn[at], src, sizeof(src));
			if (lk->name)
				snprintf(where, sizeof(where), " at instruction %u of provider %s%s",
					 l->origin_insn[at], lk->name, src);
			else
				snprintf(where, sizeof(where), " at instruction %u of the chain's "
					 "provider %d%s", l->origin_insn[at], l->origin[at] + 1, src);
		} else if (at >= 0) {
			snprintf(where, sizeof(where), " at instruction %ld of the chain's own code",
				 at);
		}
	}
	fd = nmr_error(fd, "link the chain of client %s (%zu providers, %zu instructions, %s)%s: "
		       "%s%s%s", client_name, n, l->n, l->call_mode ? "by calls" : "in line",
		       where, strerror(-fd), log && log[0] ? "; the verifier says:\n" : "",
		       log && log[0] ? log_tail(log, 4) : "");
out:
	while (nfds--)
		close(fds[nfds]);
	free(log);
	free(insns);
	return fd;
}
