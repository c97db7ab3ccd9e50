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
#include "nmr_internal.h"
#include "registry.skel.h"

#define NMR_CODE_MAGIC 0x45444f43	/* "CODE" */
#define MAX_INSNS 1000000		/* BPF_COMPLEXITY_LIMIT_INSNS */
#define STACK_MAX 512
#define CHAIN_SLOTS 24			/* ctx, stats, verdict below the providers' stack */

/* ---- a binding's code ---- */

static bool is_ld_imm64(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW);
}

static bool is_map_ref(const struct bpf_insn *insn)
{
	return is_ld_imm64(insn) && (insn->src_reg == BPF_PSEUDO_MAP_FD ||
				     insn->src_reg == BPF_PSEUDO_MAP_VALUE);
}

static bool is_call(const struct bpf_insn *insn)
{
	return insn->code == (BPF_JMP | BPF_CALL);
}

/* Subprogram calls and callback references are relative: their target. */
static bool rel_target(const struct bpf_insn *insns, __u32 i, __u32 *target)
{
	const struct bpf_insn *insn = &insns[i];

	if ((is_call(insn) && insn->src_reg == BPF_PSEUDO_CALL) ||
	    (is_ld_imm64(insn) && insn->src_reg == BPF_PSEUDO_FUNC)) {
		*target = i + insn->imm + 1;
		return true;
	}
	return false;
}

/*
 * How deep the main function uses the stack: direct accesses off r10 and
 * pointers made as "rX = r10; rX += off". The chain keeps its own words
 * below that. A provider that reaches the stack otherwise and overwrites
 * them is refused by the verifier, not run wrongly.
 */
static __u32 stack_depth(const struct bpf_insn *insns, __u32 len)
{
	int fp_off[11] = { 0 }, min = 0;
	bool fp[11] = { false };

	for (__u32 i = 0; i < len; i++) {
		const struct bpf_insn *in = &insns[i];
		__u8 cls = BPF_CLASS(in->code);

		if ((cls == BPF_STX || cls == BPF_ST) && in->dst_reg <= 10 &&
		    (in->dst_reg == BPF_REG_10 || fp[in->dst_reg]))
			min = MIN(min, (in->dst_reg == BPF_REG_10 ? 0 : fp_off[in->dst_reg]) +
				  in->off);
		if (cls == BPF_LDX && in->src_reg <= 10 &&
		    (in->src_reg == BPF_REG_10 || fp[in->src_reg]))
			min = MIN(min, (in->src_reg == BPF_REG_10 ? 0 : fp_off[in->src_reg]) +
				  in->off);
		if (cls != BPF_ALU64 && cls != BPF_ALU && cls != BPF_LDX && cls != BPF_LD &&
		    !(cls == BPF_JMP && BPF_OP(in->code) == BPF_CALL))
			continue;
		if (cls == BPF_JMP) {	/* a call clobbers r0-r5 */
			for (int r = 0; r <= 5; r++)
				fp[r] = false;
			continue;
		}
		if (in->dst_reg > 10)
			continue;
		if (cls == BPF_ALU64 && in->code == (BPF_ALU64 | BPF_MOV | BPF_X) &&
		    in->src_reg <= 10 && (in->src_reg == BPF_REG_10 || fp[in->src_reg])) {
			fp_off[in->dst_reg] = in->src_reg == BPF_REG_10 ? 0 : fp_off[in->src_reg];
			fp[in->dst_reg] = true;
			min = MIN(min, fp_off[in->dst_reg]);
		} else if (cls == BPF_ALU64 && in->code == (BPF_ALU64 | BPF_ADD | BPF_K) &&
			   fp[in->dst_reg]) {
			fp_off[in->dst_reg] += in->imm;
			min = MIN(min, fp_off[in->dst_reg]);
		} else {
			fp[in->dst_reg] = false;
		}
		if (cls == BPF_LD)
			i++;	/* the second half of an ld_imm64 */
	}
	return (__u32)((-min + 7) & ~7);
}

void nmr_code_free(struct nmr_code *code)
{
	free(code->insns);
	code->insns = NULL;
}

/* Takes a loaded program's instructions, with its maps named by id. */
int nmr_code_from_prog(const struct bpf_program *prog, struct nmr_code *out)
{
	const struct bpf_insn *insns = bpf_program__insns(prog);
	size_t cnt = bpf_program__insn_cnt(prog);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), main_len = cnt;

	memset(out, 0, sizeof(*out));
	if (!insns || !cnt)
		return nmr_error(-EINVAL, "program %s: no instructions", bpf_program__name(prog));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return nmr_error(-errno, "program %s: %s", bpf_program__name(prog),
				 strerror(errno));
	out->insns = malloc(cnt * sizeof(*insns));
	if (!out->insns)
		return nmr_error(-ENOMEM, "program %s: out of memory", bpf_program__name(prog));
	memcpy(out->insns, insns, cnt * sizeof(*insns));
	for (__u32 i = 0; i < cnt; i++) {
		struct bpf_insn *in = &out->insns[i];
		__u32 target;

		if (rel_target(out->insns, i, &target) && target < main_len)
			main_len = target;	/* libbpf appends subprograms after main */
		if (is_call(in) && in->src_reg == BPF_PSEUDO_KFUNC_CALL && in->off) {
			nmr_code_free(out);
			return nmr_error(-EOPNOTSUPP, "program %s calls a kernel module's kfunc: "
					 "not supported in a chain", bpf_program__name(prog));
		}
		if (!is_ld_imm64(in))
			continue;
		if (in->src_reg == BPF_PSEUDO_BTF_ID && in[1].imm) {
			nmr_code_free(out);
			return nmr_error(-EOPNOTSUPP, "program %s uses a kernel module's ksym: "
					 "not supported in a chain", bpf_program__name(prog));
		}
		if (is_map_ref(in)) {
			struct bpf_map_info mi = {};
			__u32 mlen = sizeof(mi);

			if (bpf_obj_get_info_by_fd(in->imm, &mi, &mlen)) {
				nmr_code_free(out);
				return nmr_error(-errno, "program %s: map of instruction %u: %s",
						 bpf_program__name(prog), i, strerror(errno));
			}
			in->imm = mi.id;
		}
		i++;
	}
	out->hdr.magic = NMR_CODE_MAGIC;
	out->hdr.insn_cnt = cnt;
	out->hdr.main_len = main_len;
	out->hdr.stack = stack_depth(out->insns, main_len);
	out->hdr.gpl = info.gpl_compatible;
	return 0;
}

int nmr_code_store(const char *path, const struct nmr_code *code)
{
	size_t size = sizeof(code->hdr) + code->hdr.insn_cnt * sizeof(struct bpf_insn);
	char *buf = malloc(size);
	int err;

	if (!buf)
		return nmr_error(-ENOMEM, "store code: out of memory");
	memcpy(buf, &code->hdr, sizeof(code->hdr));
	memcpy(buf + sizeof(code->hdr), code->insns, size - sizeof(code->hdr));
	err = nmr_blob_store(path, buf, size);
	free(buf);
	return err;
}

int nmr_code_load(const char *path, struct nmr_code *out)
{
	size_t size;
	char *buf;
	int err = nmr_blob_load(path, (void **)&buf, &size);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	if (size < sizeof(out->hdr))
		goto bad;
	memcpy(&out->hdr, buf, sizeof(out->hdr));
	if (out->hdr.magic != NMR_CODE_MAGIC ||
	    size != sizeof(out->hdr) + (size_t)out->hdr.insn_cnt * sizeof(struct bpf_insn))
		goto bad;
	out->insns = malloc(size - sizeof(out->hdr));
	if (!out->insns) {
		free(buf);
		return nmr_error(-ENOMEM, "load code: out of memory");
	}
	memcpy(out->insns, buf + sizeof(out->hdr), size - sizeof(out->hdr));
	free(buf);
	return 0;
bad:
	free(buf);
	return nmr_error(-EINVAL, "load code %s: not a binding's code", path);
}

/* ---- the client's counters ---- */

_Static_assert(sizeof(struct nmr_chain_stats) == 1 << NMR_CHAIN_STATS_SHIFT, "stride");
_Static_assert(sizeof(struct nmr_chain_events) == 1 << NMR_CHAIN_EVENTS_SHIFT, "stride");

/*
 * client/<id>/stats: one array value, nmr_client_stats (nmr_abi.h), made
 * mmapable so that user space reads and clears a column in place (reading
 * and writing back the whole value would lose the counts that other columns
 * took in between). Its BTF: the registry's part types, with the
 * struct nmr_client_stats of this machine's CPU count made around them.
 */
int nmr_chain_stats_create(struct nmr_registry *reg)
{
	const struct btf *src = bpf_object__btf(reg->maps->obj);
	int ncpus = libbpf_num_possible_cpus(), fd, first, key, stats, events, a1, a2, st = -1;
	struct btf *btf = btf__new_empty();

	if (ncpus < 0 || !btf || !src) {
		btf__free(btf);
		return nmr_error(ncpus < 0 ? ncpus : -ENOMEM, "create chain counters: no BTF");
	}
	first = btf__add_btf(btf, src);
	key = btf__find_by_name_kind(btf, "__u32", BTF_KIND_TYPEDEF);
	stats = btf__find_by_name_kind(btf, "nmr_chain_stats", BTF_KIND_STRUCT);
	events = btf__find_by_name_kind(btf, "nmr_chain_events", BTF_KIND_STRUCT);
	if (first > 0 && key > 0 && stats > 0 && events > 0) {
		a1 = btf__add_array(btf, key, stats, ncpus);
		a2 = btf__add_array(btf, key, events, ncpus);
		st = btf__add_struct(btf, "nmr_client_stats", ncpus * sizeof(struct nmr_chain_parts));
		if (a1 < 0 || a2 < 0 || st < 0 || btf__add_field(btf, "cpu", a1, 0, 0) ||
		    btf__add_field(btf, "chain", a2,
				   ncpus * sizeof(struct nmr_chain_stats) * 8, 0))
			st = -1;
	}
	if (st < 0 || btf__load_into_kernel(btf)) {
		btf__free(btf);
		return nmr_error(-EINVAL, "create chain counters: make their BTF");
	}
	{
		LIBBPF_OPTS(bpf_map_create_opts, o, .btf_fd = btf__fd(btf), .btf_key_type_id = key,
			    .btf_value_type_id = st, .map_flags = BPF_F_MMAPABLE);

		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nmr_chain_stats", sizeof(__u32),
				    ncpus * sizeof(struct nmr_chain_parts), 1, &o);
	}
	btf__free(btf);
	if (fd < 0)
		return nmr_error(-errno, "create chain counters: %s", strerror(errno));
	return fd;
}

int nmr_chain_stats_cpus(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return nmr_error(-errno, "read counters: %s", strerror(errno));
	return info.value_size / sizeof(struct nmr_chain_parts);
}

/* The counters in this process's memory. munmap(*v, *size) when done. */
static int stats_map(int fd, bool write, void **v, int *ncpus, size_t *size)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	*ncpus = nmr_chain_stats_cpus(fd);
	if (*ncpus < 0)
		return *ncpus;
	*size = (*ncpus * sizeof(struct nmr_chain_parts) + page - 1) / page * page;
	p = mmap(NULL, *size, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return nmr_error(-errno, "map counters: %s", strerror(errno));
	*v = p;
	return 0;
}

int nmr_chain_stats_read(int fd, struct nmr_chain_stats *sum, struct nmr_chain_events *ev)
{
	struct nmr_chain_stats *cpu;
	struct nmr_chain_events *chain;
	size_t size;
	void *v;
	int ncpus, err;

	memset(sum, 0, sizeof(*sum));
	memset(ev, 0, sizeof(*ev));
	err = stats_map(fd, false, &v, &ncpus, &size);
	if (err)
		return err;
	cpu = v;
	chain = (struct nmr_chain_events *)(cpu + ncpus);
	for (int c = 0; c < ncpus; c++) {
		for (int b = 0; b < NMR_MAX_CHAIN; b++)
			for (int i = 0; i < NMR_VERDICT_SLOTS; i++)
				sum->binding[b].verdicts[i] += cpu[c].binding[b].verdicts[i];
		ev->no_provider += chain[c].no_provider;
		ev->default_missed += chain[c].default_missed;
	}
	munmap(v, size);
	return 0;
}

/* Zeroes one binding's column on every CPU: a new binding starts from nothing. */
int nmr_chain_stats_reset(int fd, __u32 column)
{
	struct nmr_chain_stats *cpu;
	size_t size;
	void *v;
	int ncpus, err = stats_map(fd, true, &v, &ncpus, &size);

	if (err)
		return err;
	cpu = v;
	for (int c = 0; c < ncpus; c++)
		memset(&cpu[c].binding[column], 0, sizeof(cpu[c].binding[column]));
	munmap(v, size);
	return 0;
}

/* ---- linking ---- */

/* Places in the main function; per provider i: L_NEXT + i is provider i + 1's start,
 * L_AFTER + i where its exits go, L_FINAL + i and L_MULTI + i its out-of-line counts. */
enum {
	L_END,
	L_NEXT, L_AFTER = L_NEXT + NMR_MAX_CHAIN, L_FINAL = L_AFTER + NMR_MAX_CHAIN,
	L_MULTI = L_FINAL + NMR_MAX_CHAIN, L_NLABELS = L_MULTI + NMR_MAX_CHAIN,
};

struct emitter {
	struct bpf_insn *insns;
	size_t n, cap;
	int err;
	/* jumps to labels, patched at the end */
	struct { size_t at; int label; } *fix;
	size_t nfix, capfix;
	size_t labels[L_NLABELS];
};


static void emit(struct emitter *e, struct bpf_insn insn)
{
	if (e->err)
		return;
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 1024;
		struct bpf_insn *p = cap > MAX_INSNS ? NULL : realloc(e->insns, cap * sizeof(*p));

		if (!p) {
			e->err = nmr_error(-E2BIG, "link chain: more than %d instructions",
					   MAX_INSNS);
			return;
		}
		e->insns = p;
		e->cap = cap;
	}
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

/* Map ids in a binding's code back to fds, opened once per link. */
struct map_fds {
	__u32 id[512];
	int fd[512];
	size_t n;
};

static int map_fd_of(struct map_fds *m, __u32 id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->id[i] == id)
			return m->fd[i];
	if (m->n == ARRAY_SIZE(m->id))
		return nmr_error(-E2BIG, "link chain: more than %zu maps", ARRAY_SIZE(m->id));
	m->fd[m->n] = bpf_map_get_fd_by_id(id);
	if (m->fd[m->n] < 0)
		return nmr_error(-errno, "link chain: map id %u is gone: %s", id, strerror(errno));
	m->id[m->n] = id;
	return m->fd[m->n++];
}

/* Provider i's main function, in line: its exits jump to the code after it. */
static int emit_provider(struct emitter *e, const struct nmr_code *code, size_t i,
			 struct map_fds *maps, size_t *main_at)
{
	*main_at = e->n;
	for (__u32 j = 0; j < code->hdr.main_len && !e->err; j++) {
		struct bpf_insn in = code->insns[j];

		if (in.code == (BPF_JMP | BPF_EXIT)) {
			emit_jump(e, BPF_JMP | BPF_JA, 0, 0, L_AFTER + i);
			continue;
		}
		if (is_map_ref(&in)) {
			int fd = map_fd_of(maps, in.imm);

			if (fd < 0)
				return fd;
			in.imm = fd;
		}
		emit(e, in);
	}
	return e->err;
}

/* Provider i's subprograms after the main function; its calls into them moved. */
static void emit_subprogs(struct emitter *e, const struct nmr_code *code, size_t main_at,
			  struct map_fds *maps)
{
	size_t sub_at = e->n;

	for (__u32 j = code->hdr.main_len; j < code->hdr.insn_cnt && !e->err; j++) {
		struct bpf_insn in = code->insns[j];

		if (is_map_ref(&in)) {
			int fd = map_fd_of(maps, in.imm);

			if (fd < 0) {
				e->err = fd;
				return;
			}
			in.imm = fd;
		}
		emit(e, in);
	}
	/* calls from the main function: old target t is now at sub_at + t - main_len */
	for (__u32 j = 0; j < code->hdr.main_len && !e->err; j++) {
		__u32 t;

		if (!rel_target(code->insns, j, &t))
			continue;
		e->insns[main_at + j].imm = (__s32)(sub_at + t - code->hdr.main_len) -
					    (__s32)(main_at + j) - 1;
	}
}

static void patch_jumps(struct emitter *e)
{
	for (size_t i = 0; i < e->nfix && !e->err; i++) {
		long off = (long)e->labels[e->fix[i].label] - (long)e->fix[i].at - 1;

		if (off < -32768 || off > 32767)
			e->err = nmr_error(-E2BIG, "link chain: a provider is too long to jump "
					   "over (%ld instructions)", off);
		else
			e->insns[e->fix[i].at].off = off;
	}
}

static int chain_prog_load(const struct nmr_client_record *c, const char *name,
			   const struct emitter *e, bool gpl, char *log, size_t log_size)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o);
	enum bpf_prog_type type = c->hook == NMR_HOOK_XDP ? BPF_PROG_TYPE_XDP
							  : BPF_PROG_TYPE_SCHED_CLS;
	int fd;

	if (c->hook == NMR_HOOK_XDP) {
		o.expected_attach_type = BPF_XDP;
		o.prog_flags = c->flags & NMR_CLIENT_F_FRAGS ? BPF_F_XDP_HAS_FRAGS : 0;
	}
	fd = bpf_prog_load(type, name, gpl ? "GPL" : "Proprietary", e->insns, e->n, &o);
	if (fd >= 0 || !log)
		return fd < 0 ? -errno : fd;
	/* again, for the verifier's reasons */
	o.log_buf = log;
	o.log_size = log_size;
	o.log_level = 1;
	log[0] = 0;
	fd = bpf_prog_load(type, name, gpl ? "GPL" : "Proprietary", e->insns, e->n, &o);
	if (fd >= 0)
		return fd;
	return -errno;
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

/* The client's counters, and its default action (default_fd: or NULL). */
static int open_client_maps(struct nmr_registry *reg, const struct nmr_client_record *c,
			    struct counters *k, int *default_fd)
{
	char path[PATH_MAX];
	int err;

	k->fd = -1;
	if (default_fd)
		*default_fd = -1;
	err = nmr_client_path(reg, c, NMR_PIN_STATS, path, sizeof(path));
	if (!err && (k->fd = bpf_obj_get(path)) < 0)
		err = nmr_error(-errno, "link chain: open %s: %s", path, strerror(errno));
	if (!err && (k->ncpus = nmr_chain_stats_cpus(k->fd)) < 0)
		err = k->ncpus;
	if (!err && default_fd && (c->flags & NMR_CLIENT_F_DEFAULT) &&
	    !(err = nmr_client_path(reg, c, NMR_PIN_CLIENT_DISPATCH, path, sizeof(path))) &&
	    (*default_fd = bpf_obj_get(path)) < 0)
		err = nmr_error(-errno, "link chain: open %s: %s", path, strerror(errno));
	return err;
}

/* Loads what the emitter holds; on failure the error says what the verifier said. */
static int load_emitted(const struct nmr_client_record *c, const char *name,
			const struct emitter *e, bool gpl, size_t n)
{
	char *log = malloc(1 << 20);
	int fd = chain_prog_load(c, name, e, gpl, log, log ? 1 << 20 : 0);

	if (fd < 0)
		fd = nmr_error(fd, "link the %s of client %s (%zu providers, %zu instructions): "
			       "%s%s%s", name, c->name, n, e->n, strerror(-fd),
			       log && log[0] ? "; the verifier says:\n" : "",
			       log && log[0] ? log_tail(log, 4) : "");
	free(log);
	return fd;
}

int nmr_chain_load(struct nmr_registry *reg, const struct nmr_client_record *c,
		   const struct nmr_chain_link *links, size_t n)
{
	int empty_verdict = c->hook == NMR_HOOK_XDP ? XDP_PASS : TC_ACT_UNSPEC;
	struct emitter e = {};
	struct map_fds *maps = calloc(1, sizeof(*maps));
	size_t main_at[NMR_MAX_CHAIN];
	struct counters k = { .fd = -1 };
	int default_fd = -1, err;
	struct frame f;
	__u32 depth = 0;
	bool gpl = true;

	if (!maps)
		return nmr_error(-ENOMEM, "link chain: out of memory");
	if (n > NMR_MAX_CHAIN) {
		err = nmr_error(-E2BIG, "link chain: %zu providers, at most %d", n, NMR_MAX_CHAIN);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		depth = MAX(depth, links[i].code->hdr.stack);
		gpl &= !!links[i].code->hdr.gpl;
	}
	if (depth + CHAIN_SLOTS > STACK_MAX) {
		err = nmr_error(-E2BIG, "link chain of client %s: a provider uses %u bytes of "
				"stack; a chain needs %d of the %d for itself", c->name, depth,
				CHAIN_SLOTS, STACK_MAX);
		goto out;
	}
	f.ctx = -(short)(depth + 8);
	f.stats = -(short)(depth + 16);
	f.verdict = -(short)(depth + 24);
	err = open_client_maps(reg, c, &k, &default_fd);
	if (err)
		goto out;

	/* A provider that hands nothing on ends the chain: what follows never runs. */
	for (size_t i = 0; i + 1 < n; i++)
		if (!links[i].continue_on)
			n = i + 1;
	/* The context, for the providers after the first and the default action. */
	if (n > 1 || default_fd >= 0)
		emit(&e, STX(BPF_DW, BPF_REG_10, BPF_REG_1, f.ctx));
	if (!n) {
		emit_event_count(&e, &k, offsetof(struct nmr_chain_events, no_provider));
		emit(&e, MOV64_IMM(BPF_REG_0, empty_verdict));
		emit_jump(&e, BPF_JMP | BPF_JA, 0, 0, L_END);
	}
	/*
	 * Per provider, the path a packet takes on to the next one is kept
	 * short: its verdict tested, the counter of that verdict bumped at a
	 * fixed offset, the context reloaded. A final verdict is counted out of
	 * line (emit_final_counts) before it is returned. This CPU's counters
	 * are found once the first provider is done (emit_first_counters).
	 */
	for (size_t i = 0; i < n && !e.err; i++) {
		__u32 cont = links[i].continue_on;
		short col = links[i].column * sizeof(struct nmr_binding_stats);
		int next = i + 1 < n ? L_NEXT + i + 1 : L_END, nb = __builtin_popcount(cont);

		if (i)
			emit(&e, LDX(BPF_DW, BPF_REG_1, BPF_REG_10, f.ctx));
		err = emit_provider(&e, links[i].code, i, maps, &main_at[i]);
		if (err)
			goto out;
		place(&e, L_AFTER + i);
		if (nb == 1) {
			int v = __builtin_ctz(cont) - 1;

			emit_jump(&e, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_0, v, L_FINAL + i);
			if (!i)		/* the verdict is v: nothing to keep */
				emit_first_counters(&e, &k, &f, n > 1, false);
			emit_count(&e, &f, col + 8 * NMR_VERDICT_INDEX(v), !i);
			if (!i && next == L_END)
				emit(&e, MOV64_IMM(BPF_REG_0, v));
		} else {
			for (int b = 0; b < NMR_VERDICT_SLOTS; b++)
				if (cont & (1U << b))
					emit_jump(&e, BPF_JMP32 | BPF_JEQ | BPF_K, BPF_REG_0, b - 1,
						  L_MULTI + i);
			emit_jump(&e, BPF_JMP | BPF_JA, 0, 0, L_FINAL + i);
		}
		if (i + 1 < n)
			place(&e, next);
	}
	/* handed on by the last provider (or the chain is empty): the default action */
	place(&e, L_END);
	if (n && !links[n - 1].continue_on) {
		/* nothing reaches here */
	} else if (default_fd >= 0) {
		emit(&e, STX(BPF_DW, BPF_REG_10, BPF_REG_0, f.verdict));
		emit_tail_call(&e, default_fd, 0, &f);
		emit_event_count(&e, &k, offsetof(struct nmr_chain_events, default_missed));
		emit(&e, LDX(BPF_DW, BPF_REG_0, BPF_REG_10, f.verdict));
		emit(&e, EXIT());
	} else {
		emit(&e, EXIT());
	}
	for (size_t i = 0; i < n; i++)
		emit_final_counts(&e, &k, &f, &links[i], i, i + 1 < n ? L_NEXT + i + 1 : L_END,
				  n > 1);
	for (size_t i = 0; i < n; i++)
		emit_subprogs(&e, links[i].code, main_at[i], maps);
	patch_jumps(&e);
	if (!(err = e.err))
		err = load_emitted(c, "nmr_chain", &e, gpl, n);
out:
	for (size_t i = 0; i < maps->n; i++)
		close(maps->fd[i]);
	if (k.fd >= 0)
		close(k.fd);
	if (default_fd >= 0)
		close(default_fd);
	free(maps);
	free(e.insns);
	free(e.fix);
	return err;
}
