// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A binding's code: what the client's chain links in (linker.c), taken from
 * the binding's instance program as libbpf relocated it, and kept in the
 * registry (binding/<id>/code).
 *
 * Besides the instructions (map references turned into map ids), a code
 * carries what the chain needs to be loaded with BTF: the program's BTF, one
 * func_info per function and its line_info, at offsets of this code. The
 * kernel gives func_info back only at offsets of the verified program, which
 * its rewrites move; so the type of each function is taken from the kernel
 * (its functions are in the same order as ours) and the line_info from the
 * object's .BTF.ext, the way libbpf itself copies it for each function.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "bpf/nmr_bpf.h"

#define NMR_CODE_MAGIC 0x32444f43	/* "COD2" */
#define MAX_INSNS 1000000		/* BPF_COMPLEXITY_LIMIT_INSNS */
#define BTF_MAX (16 << 20)		/* the kernel's BTF_MAX_SIZE */

void nmr_code_free(struct nmr_code *code)
{
	free(code->insns);
	free(code->func);
	free(code->line);
	free(code->btf);
	code->insns = NULL;
	code->func = NULL;
	code->line = NULL;
	code->btf = NULL;
}

static bool is_ld_imm64(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW);
}

static const char *ld_imm64_kind(int src)
{
	switch (src) {
	case BPF_PSEUDO_MAP_IDX:
		return "ld_imm64 MAP_IDX (a map by index of fd_array)";
	case BPF_PSEUDO_MAP_IDX_VALUE:
		return "ld_imm64 MAP_IDX_VALUE (a map value by index of fd_array)";
	default:
		return "ld_imm64 of an unknown kind";
	}
}

/*
 * Refuses, by name, what the linker could not move correctly; marks what
 * decides how the code is linked.
 */
int nmr_code_check(const char *name, const struct bpf_insn *insns, __u32 cnt, __u32 *flags)
{
	for (__u32 i = 0; i < cnt; i++) {
		const struct bpf_insn *in = &insns[i];
		__u8 cls = BPF_CLASS(in->code);

		if (is_ld_imm64(in)) {
			if (i + 1 >= cnt)
				return nmr_error(-EINVAL, "program %s: instruction %u: ld_imm64 "
						 "cut in half", name, i);
			switch (in->src_reg) {
			case 0:
			case BPF_PSEUDO_MAP_FD:
			case BPF_PSEUDO_MAP_VALUE:
				break;
			case BPF_PSEUDO_FUNC:
				*flags |= NMR_CODE_F_CALLS;
				break;
			case BPF_PSEUDO_BTF_ID:
				if (in[1].imm)
					return nmr_error(-EOPNOTSUPP, "program %s uses a kernel "
							 "module's ksym: not supported in a "
							 "chain", name);
				break;
			default:
				return nmr_error(-EOPNOTSUPP, "program %s: instruction %u is %s "
						 "(src_reg %u): the chain's linker cannot move it",
						 name, i, ld_imm64_kind(in->src_reg),
						 in->src_reg);
			}
			i++;
			continue;
		}
		if (cls == BPF_LD) {
			if (BPF_MODE(in->code) != BPF_ABS && BPF_MODE(in->code) != BPF_IND)
				return nmr_error(-EOPNOTSUPP, "program %s: instruction %u: unknown "
						 "load opcode 0x%02x", name, i, in->code);
			*flags |= NMR_CODE_F_LD_ABS;
			continue;
		}
		if ((cls == BPF_JMP || cls == BPF_JMP32) && BPF_OP(in->code) == BPF_CALL) {
			switch (in->src_reg) {
			case 0:
				if (in->imm == BPF_FUNC_tail_call)
					*flags |= NMR_CODE_F_TAIL_CALL;
				break;
			case BPF_PSEUDO_CALL:
				*flags |= NMR_CODE_F_CALLS;
				break;
			case BPF_PSEUDO_KFUNC_CALL:
				if (in->off)
					return nmr_error(-EOPNOTSUPP, "program %s calls a kernel "
							 "module's kfunc: not supported in a "
							 "chain", name);
				break;
			default:
				return nmr_error(-EOPNOTSUPP, "program %s: instruction %u: a call "
						 "of unknown kind (src_reg %u)", name, i,
						 in->src_reg);
			}
		}
	}
	return 0;
}

/* Sorted function starts: 0 and every subprogram call's or callback's target. */
static int func_starts(const struct bpf_insn *insns, __u32 cnt, __u32 **out, __u32 *n)
{
	__u32 *s = malloc(sizeof(*s) * 64), cap = 64, k = 1;

	if (!s)
		return -ENOMEM;
	s[0] = 0;
	for (__u32 i = 0; i < cnt; i++) {
		const struct bpf_insn *in = &insns[i];
		__s64 t;
		bool found = false;

		if (!((in->code == (BPF_JMP | BPF_CALL) && in->src_reg == BPF_PSEUDO_CALL) ||
		      (is_ld_imm64(in) && in->src_reg == BPF_PSEUDO_FUNC))) {
			i += is_ld_imm64(in);
			continue;
		}
		t = (__s64)i + in->imm + 1;
		i += is_ld_imm64(in);
		if (t <= 0 || t >= cnt) {
			free(s);
			return -EINVAL;
		}
		for (__u32 j = 0; j < k; j++)
			found |= s[j] == (__u32)t;
		if (found)
			continue;
		if (k == cap) {
			__u32 *p = realloc(s, sizeof(*s) * (cap *= 2));

			if (!p) {
				free(s);
				return -ENOMEM;
			}
			s = p;
		}
		s[k++] = t;
	}
	for (__u32 i = 1; i < k; i++)	/* insertion sort: few functions */
		for (__u32 j = i; j > 0 && s[j - 1] > s[j]; j--) {
			__u32 x = s[j];

			s[j] = s[j - 1];
			s[j - 1] = x;
		}
	*out = s;
	*n = k;
	return 0;
}

/*
 * How many frames deep a program's calls go, its main function's counted:
 * a callback runs one frame below the function that hands it to a helper.
 * The kernel allows 8 (MAX_CALL_FRAMES); called from a chain, a provider
 * has one fewer.
 */
int nmr_code_call_depth(const struct bpf_insn *insns, __u32 cnt)
{
	__u32 *starts = NULL, n = 0;
	int depth[256] = { 0 }, best = 1;

	if (func_starts(insns, cnt, &starts, &n) || n > 256) {
		free(starts);
		return -EINVAL;
	}
	/* functions in reverse order of start until no depth grows: the graph has no cycle */
	for (__u32 round = 0; round < n; round++) {
		bool grew = false;

		for (__u32 f = 0; f < n; f++) {
			__u32 end = f + 1 < n ? starts[f + 1] : cnt;
			int d = 1;

			for (__u32 i = starts[f]; i < end; i++) {
				const struct bpf_insn *in = &insns[i];
				__u32 t = i + in->imm + 1;

				if (((in->code == (BPF_JMP | BPF_CALL) &&
				      in->src_reg == BPF_PSEUDO_CALL) ||
				     (is_ld_imm64(in) && in->src_reg == BPF_PSEUDO_FUNC)))
					for (__u32 g = 0; g < n; g++)
						if (starts[g] == t && depth[g] + 1 > d)
							d = depth[g] + 1;
				i += is_ld_imm64(in);
			}
			if (d > depth[f]) {
				depth[f] = d;
				grew = true;
			}
		}
		if (!grew)
			break;
	}
	for (__u32 f = 0; f < n; f++)
		best = depth[f] > best ? depth[f] : best;
	free(starts);
	return depth[0] ? depth[0] : best;
}

/* The bytes of the ELF section called name, or NULL. */
static const void *elf_section(const void *elf, size_t size, const char *name, size_t *len)
{
	const Elf64_Ehdr *eh = elf;
	const Elf64_Shdr *sh, *strs;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(*sh) ||
	    eh->e_shoff > size || eh->e_shnum > (size - eh->e_shoff) / sizeof(*sh) ||
	    eh->e_shstrndx >= eh->e_shnum)
		return NULL;
	sh = (const Elf64_Shdr *)((const char *)elf + eh->e_shoff);
	strs = &sh[eh->e_shstrndx];
	if (strs->sh_offset > size || strs->sh_size > size - strs->sh_offset)
		return NULL;
	for (int i = 0; i < eh->e_shnum; i++) {
		const char *n = (const char *)elf + strs->sh_offset + sh[i].sh_name;

		if (sh[i].sh_name >= strs->sh_size ||
		    strnlen(n, strs->sh_size - sh[i].sh_name) != strlen(name) || strcmp(n, name))
			continue;
		if (sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset)
			return NULL;
		*len = sh[i].sh_size;
		return (const char *)elf + sh[i].sh_offset;
	}
	return NULL;
}

struct btf_ext_hdr {
	__u16 magic;
	__u8 version, flags;
	__u32 hdr_len, func_info_off, func_info_len, line_info_off, line_info_len;
};

/* The records of one kind of .BTF.ext: rec_size, then per section name, count, records. */
struct ext_part {
	const __u8 *p;
	__u32 len, rec;
};

static bool ext_part(const void *ext, size_t size, __u32 off, __u32 len, __u32 min_rec,
		     struct ext_part *out)
{
	const struct btf_ext_hdr *h = ext;

	if (size < sizeof(*h) || h->magic != 0xeB9F || h->hdr_len > size ||
	    off > size - h->hdr_len || len > size - h->hdr_len - off || len < 4)
		return false;
	out->p = (const __u8 *)ext + h->hdr_len + off;
	out->len = len;
	memcpy(&out->rec, out->p, 4);
	return out->rec >= min_rec && out->rec < 1024;
}

/* The next record of part (*o, *k zero at first), with its section's name offset. */
static const void *ext_next(const struct ext_part *p, __u32 *o, __u32 *k, __u32 *sec)
{
	__u32 n;

	if (!*o)
		*o = 4;
	while (*o + 8 <= p->len) {
		memcpy(sec, p->p + *o, 4);
		memcpy(&n, p->p + *o + 4, 4);
		if (n > (p->len - *o - 8) / p->rec)
			return NULL;
		if (*k < n)
			return p->p + *o + 8 + (size_t)(*k)++ * p->rec;
		*o += 8 + n * p->rec;
		*k = 0;
	}
	return NULL;
}

/*
 * func_info and line_info of code from the kernel's functions (types, in
 * order) and the object's .BTF.ext (lines, by section offset).
 */
static int code_btf_info(const struct bpf_object *obj, int prog_fd, const void *elf,
			 size_t elf_size, struct nmr_code *c, const char *name)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), nstarts = 0, *starts = NULL, nk;
	struct bpf_func_info *kf = NULL;
	struct ext_part fp, lp;
	const void *ext, *raw;
	size_t ext_len = 0;
	__u32 raw_size;
	int err;

	if (!btf || bpf_obj_get_info_by_fd(prog_fd, &info, &len) || !info.nr_func_info)
		return 0;	/* no BTF: the linker gives its functions types of its own */
	err = func_starts(c->insns, c->hdr.insn_cnt, &starts, &nstarts);
	if (err)
		return nmr_error(err, "program %s: a call out of its code", name);
	if (info.nr_func_info != nstarts) {
		/* the verifier dropped a function that never runs: types cannot be matched */
		free(starts);
		return 0;
	}
	nk = info.nr_func_info;
	kf = calloc(nk, sizeof(*kf));
	c->func = calloc(nk, sizeof(*c->func));
	raw = btf__raw_data(btf, &raw_size);
	c->btf = raw && raw_size <= BTF_MAX ? malloc(raw_size) : NULL;
	if (!kf || !c->func || !c->btf) {
		err = nmr_error(-ENOMEM, "program %s: out of memory for its BTF", name);
		goto out;
	}
	memcpy(c->btf, raw, raw_size);
	c->hdr.btf_size = raw_size;
	memset(&info, 0, sizeof(info));
	info.nr_func_info = nk;
	info.func_info_rec_size = sizeof(*kf);
	info.func_info = (__u64)(unsigned long)kf;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		err = nmr_error(-errno, "program %s: read its functions: %s", name,
				strerror(errno));
		goto out;
	}
	for (__u32 i = 0; i < nk; i++) {
		c->func[i].insn_off = starts[i];
		c->func[i].type_id = kf[i].type_id;
	}
	c->hdr.nfunc = nk;

	/* line_info: each function's lines of its ELF section, moved to where it is */
	ext = elf_section(elf, elf_size, ".BTF.ext", &ext_len);
	if (!ext || !ext_part(ext, ext_len, ((const struct btf_ext_hdr *)ext)->func_info_off,
			      ((const struct btf_ext_hdr *)ext)->func_info_len, 8, &fp) ||
	    !ext_part(ext, ext_len, ((const struct btf_ext_hdr *)ext)->line_info_off,
		      ((const struct btf_ext_hdr *)ext)->line_info_len, 16, &lp))
		goto out;	/* no lines: the chain has a line per function of its own */
	for (__u32 f = 0; f < nk; f++) {
		__u32 end = f + 1 < nk ? starts[f + 1] : c->hdr.insn_cnt, sec = 0, fsec = 0;
		__s64 at = -1;
		const struct bpf_func_info *r;
		const struct bpf_line_info *l;

		__u32 o = 0, k = 0;

		while ((r = ext_next(&fp, &o, &k, &sec)))
			if (r->type_id == c->func[f].type_id) {
				at = r->insn_off / 8;
				fsec = sec;
				break;
			}
		if (at < 0)
			continue;
		o = k = 0;
		while ((l = ext_next(&lp, &o, &k, &sec))) {
			struct bpf_line_info *p;
			__s64 o = (__s64)l->insn_off / 8 - at;

			if (sec != fsec || o < 0 || o >= end - starts[f])
				continue;
			p = realloc(c->line, (c->hdr.nline + 1) * sizeof(*p));
			if (!p) {
				err = nmr_error(-ENOMEM, "program %s: out of memory", name);
				goto out;
			}
			c->line = p;
			p[c->hdr.nline] = *l;
			p[c->hdr.nline++].insn_off = starts[f] + o;
		}
	}
out:
	free(kf);
	free(starts);
	return err;
}

/*
 * The verifier's stack depths: "stack depth 8+0+16", one figure per
 * function, the main function's first. false when there are none.
 */
static bool stack_depths(const char *stats, __u32 *main, __u32 *frames)
{
	const char *p = NULL, *q = stats;
	char *end;

	while (q && (q = strstr(q, "stack depth ")))
		p = q++;
	if (!p)
		return false;
	p += strlen("stack depth ");
	*frames = 0;
	for (int i = 0;; i++) {
		unsigned long d = strtoul(p, &end, 10);

		if (end == p || d > 512)
			return false;
		if (!i)
			*main = (d + 7) & ~7UL;
		*frames += (d + 31) & ~31UL;
		if (*end != '+')
			return true;
		p = end + 1;
	}
}

/* Takes a loaded program's instructions, with its maps named by id, and its BTF. */
int nmr_code_from_prog(const struct bpf_object *obj, const struct bpf_program *prog,
		       const void *elf, size_t elf_size, const char *stats, struct nmr_code *out)
{
	const struct bpf_insn *insns = bpf_program__insns(prog);
	size_t cnt = bpf_program__insn_cnt(prog);
	const char *name = bpf_program__name(prog);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), *starts = NULL, nstarts;
	int err;

	memset(out, 0, sizeof(*out));
	if (!insns || !cnt || cnt > MAX_INSNS)
		return nmr_error(-EINVAL, "program %s: no instructions", name);
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return nmr_error(-errno, "program %s: %s", name, strerror(errno));
	out->insns = malloc(cnt * sizeof(*insns));
	if (!out->insns)
		return nmr_error(-ENOMEM, "program %s: out of memory", name);
	memcpy(out->insns, insns, cnt * sizeof(*insns));
	out->hdr.magic = NMR_CODE_MAGIC;
	out->hdr.insn_cnt = cnt;
	out->hdr.gpl = info.gpl_compatible;
	err = nmr_code_check(name, out->insns, cnt, &out->hdr.flags);
	if (!err && (err = func_starts(out->insns, cnt, &starts, &nstarts)))
		err = nmr_error(err, "program %s: a call out of its code", name);
	if (err)
		goto fail;
	out->hdr.main_len = nstarts > 1 ? starts[1] : cnt;	/* libbpf appends subprograms */
	free(starts);
	if (stack_depths(stats, &out->hdr.stack, &out->hdr.frames))
		out->hdr.flags |= NMR_CODE_F_STACK;
	for (__u32 i = 0; i < cnt; i++) {
		struct bpf_insn *in = &out->insns[i];
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);

		if (!is_ld_imm64(in))
			continue;
		if (in->src_reg == BPF_PSEUDO_MAP_FD || in->src_reg == BPF_PSEUDO_MAP_VALUE) {
			if (bpf_obj_get_info_by_fd(in->imm, &mi, &mlen)) {
				err = nmr_error(-errno, "program %s: map of instruction %u: %s",
						name, i, strerror(errno));
				goto fail;
			}
			in->imm = mi.id;
		}
		i++;
	}
	err = code_btf_info(obj, bpf_program__fd(prog), elf, elf_size, out, name);
	if (err)
		goto fail;
	return 0;
fail:
	nmr_code_free(out);
	return err;
}

int nmr_code_encode(const struct nmr_code *c, void **buf, size_t *size)
{
	size_t ni = c->hdr.insn_cnt * sizeof(struct bpf_insn);
	size_t nf = c->hdr.nfunc * sizeof(struct bpf_func_info);
	size_t nl = c->hdr.nline * sizeof(struct bpf_line_info);
	char *p;

	*size = sizeof(c->hdr) + ni + nf + nl + c->hdr.btf_size;
	p = *buf = malloc(*size);
	if (!p)
		return nmr_error(-ENOMEM, "store code: out of memory");
	memcpy(p, &c->hdr, sizeof(c->hdr));
	((struct nmr_code_header *)p)->magic = NMR_CODE_MAGIC;
	p += sizeof(c->hdr);
	memcpy(p, c->insns, ni);
	if (nf)
		memcpy(p + ni, c->func, nf);
	if (nl)
		memcpy(p + ni + nf, c->line, nl);
	if (c->hdr.btf_size)
		memcpy(p + ni + nf + nl, c->btf, c->hdr.btf_size);
	return 0;
}

/* Copies n bytes at *p (advanced) into a new buffer; n == 0: NULL. */
static int take(const char **p, size_t n, void **out)
{
	*out = NULL;
	if (!n)
		return 0;
	*out = malloc(n);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, *p, n);
	*p += n;
	return 0;
}

int nmr_code_decode(const void *buf, size_t size, struct nmr_code *out)
{
	const struct nmr_code_header *h = buf;
	const char *p = (const char *)buf + sizeof(*h);
	size_t need;

	memset(out, 0, sizeof(*out));
	if (size < sizeof(*h) || h->magic != NMR_CODE_MAGIC || !h->insn_cnt ||
	    h->insn_cnt > MAX_INSNS || !h->main_len || h->main_len > h->insn_cnt ||
	    h->nfunc > h->insn_cnt || h->nline > h->insn_cnt || h->btf_size > BTF_MAX ||
	    h->stack > 512 || h->frames > (1U << 24) || (h->nfunc && !h->btf_size))
		return -EINVAL;
	need = sizeof(*h) + (size_t)h->insn_cnt * sizeof(struct bpf_insn) +
	       (size_t)h->nfunc * sizeof(struct bpf_func_info) +
	       (size_t)h->nline * sizeof(struct bpf_line_info) + h->btf_size;
	if (size != need)
		return -EINVAL;
	out->hdr = *h;
	if (take(&p, h->insn_cnt * sizeof(struct bpf_insn), (void **)&out->insns) ||
	    take(&p, h->nfunc * sizeof(struct bpf_func_info), (void **)&out->func) ||
	    take(&p, h->nline * sizeof(struct bpf_line_info), (void **)&out->line) ||
	    take(&p, h->btf_size, &out->btf)) {
		nmr_code_free(out);
		return -ENOMEM;
	}
	/* every offset in range: the linker indexes with them */
	for (__u32 i = 0; i < h->nfunc; i++)
		if (out->func[i].insn_off >= h->insn_cnt ||
		    (i && out->func[i].insn_off <= out->func[i - 1].insn_off) ||
		    (!i && out->func[i].insn_off))
			goto bad;
	for (__u32 i = 0; i < h->nline; i++)
		if (out->line[i].insn_off >= h->insn_cnt)
			goto bad;
	return 0;
bad:
	nmr_code_free(out);
	return -EINVAL;
}

int nmr_code_store(const char *path, const struct nmr_code *code)
{
	size_t size;
	void *buf;
	int err = nmr_code_encode(code, &buf, &size);

	if (err)
		return err;
	err = nmr_blob_store(path, buf, size);
	free(buf);
	return err;
}

int nmr_code_load(const char *path, struct nmr_code *out)
{
	size_t size;
	void *buf;
	int err = nmr_blob_load(path, &buf, &size);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	err = nmr_code_decode(buf, size, out);
	free(buf);
	if (err == -ENOMEM)
		return nmr_error(err, "load code %s: out of memory", path);
	if (err)
		return nmr_error(err, "load code %s: not a binding's code, or damaged", path);
	return 0;
}
