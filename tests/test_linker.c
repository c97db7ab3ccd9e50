// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The linker: as a unit (no root: codes built here, nmr_link() is pure), and
 * differentially: each test provider alone (BPF_PROG_TEST_RUN on the program
 * as loaded from its object) against the same provider, unmodified, as the
 * only one of a chain, at its end and in its middle: same verdict, bytes and
 * maps.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "helpers.h"
#include "nmr_internal.h"

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
						  .off = (o), .imm = (i) })
#define MOV_IMM(d, i)	INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define EXIT()		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define CALL_REL(i)	INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, i)

/* ---- unit: no root ---- */

static struct nmr_link_opts unit_opts(enum nmr_link_mode mode)
{
	return (struct nmr_link_opts){ .hook = NMR_HOOK_XDP, .mode = mode, .stats_fd = 1000,
				       .ncpus = 4, .default_fd = -1 };
}

/* A code of n instructions: "r0 = 2" ... exit; stack and flags as given. */
static struct nmr_code simple_code(__u32 n, __u32 stack)
{
	struct nmr_code c = { .hdr = { .insn_cnt = n, .main_len = n, .stack = stack, .gpl = 1,
				       .flags = NMR_CODE_F_STACK } };

	c.insns = calloc(n, sizeof(*c.insns));
	for (__u32 i = 0; i + 1 < n; i++)
		c.insns[i] = MOV_IMM(BPF_REG_0, 2);
	c.insns[n - 1] = EXIT();
	return c;
}

/* main: call f; exit. f: r0 = 2; call g; exit. g: exit -- with BTF and a line per function. */
static struct nmr_code called_code(void)
{
	static struct bpf_insn insns[] = {
		CALL_REL(1), EXIT(),
		MOV_IMM(BPF_REG_0, 2), CALL_REL(1), EXIT(),
		EXIT(),
	};
	struct nmr_code c = { .hdr = { .insn_cnt = 6, .main_len = 2, .gpl = 1, .nfunc = 3,
				       .nline = 3, .flags = NMR_CODE_F_CALLS | NMR_CODE_F_STACK } };
	struct btf *btf = btf__new_empty();
	int i32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	int proto = btf__add_func_proto(btf, i32);
	int fm = btf__add_func(btf, "prov_main", BTF_FUNC_GLOBAL, proto);
	int ff = btf__add_func(btf, "prov_f", BTF_FUNC_STATIC, proto);
	int fg = btf__add_func(btf, "prov_g", BTF_FUNC_STATIC, proto);
	int file = btf__add_str(btf, "prov.c"), l1 = btf__add_str(btf, "return f();");
	int l2 = btf__add_str(btf, "return g();"), l3 = btf__add_str(btf, "return 0;");
	const void *raw;
	__u32 size;

	cr_assert(fm > 0 && ff > 0 && fg > 0 && l3 > 0);
	c.insns = malloc(sizeof(insns));
	memcpy(c.insns, insns, sizeof(insns));
	c.func = calloc(3, sizeof(*c.func));
	c.func[0] = (struct bpf_func_info){ 0, fm };
	c.func[1] = (struct bpf_func_info){ 2, ff };
	c.func[2] = (struct bpf_func_info){ 5, fg };
	c.line = calloc(3, sizeof(*c.line));
	c.line[0] = (struct bpf_line_info){ 0, file, l1, 10 << 10 };
	c.line[1] = (struct bpf_line_info){ 3, file, l2, 20 << 10 };
	c.line[2] = (struct bpf_line_info){ 5, file, l3, 30 << 10 };
	raw = btf__raw_data(btf, &size);
	c.btf = malloc(size);
	memcpy(c.btf, raw, size);
	c.hdr.btf_size = size;
	btf__free(btf);
	return c;
}

/* Where the chain's main calls provider link: the target of its index-th call. */
static long chain_call_target(const struct nmr_linked *l, int index)
{
	for (size_t x = 0; x < l->n; x++)
		if (l->origin[x] == -1 && l->insns[x].code == (BPF_JMP | BPF_CALL) &&
		    l->insns[x].src_reg == BPF_PSEUDO_CALL && !index--)
			return (long)x + l->insns[x].imm + 1;
	return -1;
}

Test(linker_unit, calls_keep_a_providers_functions_and_move_their_btf)
{
	struct nmr_code a = called_code(), b = simple_code(4, 16);
	struct nmr_chain_link links[] = {
		{ .code = &b, .continue_on = NMR_VERDICT_BIT(2), .name = "first" },
		{ .code = &a, .continue_on = NMR_VERDICT_BIT(2), .name = "second" },
	};
	struct nmr_link_opts o = unit_opts(NMR_LINK_CALL);
	struct nmr_linked l;
	long fb, fa;

	cr_assert_eq(nmr_link(links, 2, &o, &l), 0, "%s", nmr_last_error());
	cr_assert(l.call_mode);
	fb = chain_call_target(&l, 0);
	fa = chain_call_target(&l, 1);
	cr_assert(fb > 0 && fa > fb);
	cr_assert_eq(l.origin[fa], 1);
	cr_assert_eq(l.origin_insn[fa], 0);
	/* the provider's own calls, relative, still land on its functions */
	cr_assert_eq(fa + l.insns[fa].imm + 1, fa + 2);
	cr_assert_eq(fa + 3 + l.insns[fa + 3].imm + 1, fa + 5);
	/* one func_info per function at its new offset: chain, first, second's three */
	cr_assert_eq(l.nfunc, 5);
	cr_assert_eq(l.func[0].insn_off, 0);
	cr_assert_eq(l.func[1].insn_off, fb);
	cr_assert_eq(l.func[2].insn_off, fa);
	cr_assert_eq(l.func[3].insn_off, fa + 2);
	cr_assert_eq(l.func[4].insn_off, fa + 5);
	cr_assert_str_eq(btf__name_by_offset(l.btf, btf__type_by_id(l.btf,
						     l.func[3].type_id)->name_off), "prov_f");
	/* the provider's main becomes static: alone it is the program, not a global function */
	cr_assert_eq(btf_vlen(btf__type_by_id(l.btf, l.func[2].type_id)),
		     BTF_FUNC_STATIC);
	cr_assert_eq(btf_vlen(btf__type_by_id(l.btf, l.func[4].type_id)),
		     BTF_FUNC_STATIC);
	/* its lines moved with it, their text intact */
	{
		bool found = false;

		for (size_t i = 0; i < l.nline; i++) {
			if (i)
				cr_assert_gt(l.line[i].insn_off, l.line[i - 1].insn_off);
			if (l.line[i].insn_off == fa + 3) {
				cr_assert_str_eq(btf__str_by_offset(l.btf, l.line[i].line_off),
						 "return g();");
				cr_assert_eq(BPF_LINE_INFO_LINE_NUM(l.line[i].line_col), 20);
				found = true;
			}
		}
		cr_assert(found);
		cr_assert_eq(l.line[0].insn_off, 0);
	}
	/* the chain's own code uses no stack: r10 appears only in providers' code */
	for (size_t x = 0; x < l.n; x++)
		if (l.origin[x] == -1)
			cr_assert(l.insns[x].dst_reg != BPF_REG_10 && l.insns[x].src_reg != BPF_REG_10,
				  "instruction %zu of the chain uses the stack", x);
	nmr_linked_free(&l);
	nmr_code_free(&a);
	nmr_code_free(&b);
}

/* nmr_link() links them, calling each provider (call mode). */
static void expect_called(const struct nmr_chain_link *links, int n, const struct nmr_link_opts *o)
{
	struct nmr_linked l;

	cr_assert_eq(nmr_link(links, n, o, &l), 0, "%s", nmr_last_error());
	cr_assert(l.call_mode, "linked in line");
	nmr_linked_free(&l);
}

/* Simple providers stay in line; one with functions is called from where it would be. */
Test(linker_unit, only_what_needs_a_call_is_called)
{
	struct nmr_code a = called_code(), b = simple_code(4, 16);
	struct nmr_chain_link links[] = {
		{ .code = &b, .continue_on = NMR_VERDICT_BIT(2), .name = "first" },
		{ .code = &a, .continue_on = NMR_VERDICT_BIT(2), .name = "second" },
		{ .code = &b, .continue_on = NMR_VERDICT_BIT(2), .name = "third" },
	};
	struct nmr_link_opts o = unit_opts(NMR_LINK_AUTO);
	struct nmr_linked l;
	long fa;

	a.hdr.frames = 512 - 64;	/* fits below the chain's 64 (16 + 24, rounded) */
	cr_assert_eq(nmr_link(links, 3, &o, &l), 0, "%s", nmr_last_error());
	cr_assert_not(l.call_mode);
	fa = chain_call_target(&l, 0);
	cr_assert_eq(chain_call_target(&l, 1), -1, "one call only");
	cr_assert_eq(l.origin[fa], 1);
	/* first and third in line, before the called function */
	for (size_t x = 0; x < l.n; x++)
		if (l.origin[x] == 0 || l.origin[x] == 2)
			cr_assert_lt((long)x, fa);
	cr_assert_eq(l.nfunc, 4);
	cr_assert_eq(l.func[1].insn_off, fa);
	nmr_linked_free(&l);
	/* its frames might not fit below the chain's: the chain keeps no frame */
	a.hdr.frames = 512 - 32;
	expect_called(links, 3, &o);
	/* nor with a tail call above 256 bytes */
	a.hdr.frames = 256 - 64;
	a.hdr.flags |= NMR_CODE_F_TAIL_CALL;
	expect_called(links, 3, &o);
	nmr_code_free(&a);
	nmr_code_free(&b);
}

Test(linker_unit, in_line_the_chains_words_go_below_the_verifiers_stack)
{
	struct nmr_code a = simple_code(3, 104), b = simple_code(3, 16);
	struct nmr_chain_link links[] = {
		{ .code = &a, .continue_on = NMR_VERDICT_BIT(2) },
		{ .code = &b, .continue_on = NMR_VERDICT_BIT(2) },
	};
	struct nmr_link_opts o = unit_opts(NMR_LINK_AUTO);
	struct nmr_linked l;
	bool ctx_saved = false;

	cr_assert_eq(nmr_link(links, 2, &o, &l), 0, "%s", nmr_last_error());
	cr_assert_not(l.call_mode);
	cr_assert_eq(l.stack, 104 + 24);
	for (size_t x = 0; x < l.n; x++)
		if (l.origin[x] == -1 && l.insns[x].code == (BPF_STX | BPF_MEM | BPF_DW) &&
		    l.insns[x].dst_reg == BPF_REG_10) {
			cr_assert_leq(l.insns[x].off, -112, "a chain word at %d", l.insns[x].off);
			ctx_saved |= l.insns[x].off == -112;
		}
	cr_assert(ctx_saved);
	cr_assert_null(l.btf, "no provider has BTF, nothing needs it");
	nmr_linked_free(&l);
	/* a stack that leaves no room for the chain's words: called instead */
	a.hdr.stack = 496;
	a.hdr.frames = 512;
	expect_called(links, 2, &o);
	o.mode = NMR_LINK_INLINE;
	cr_assert_lt(nmr_link(links, 2, &o, &l), 0);
	/* a stack not measured by the verifier is never trusted */
	a.hdr.stack = 8;
	a.hdr.flags = 0;
	o.mode = NMR_LINK_AUTO;
	expect_called(links, 2, &o);
	nmr_code_free(&a);
	nmr_code_free(&b);
}

Test(linker_unit, jumps_out_of_range_in_line_link_by_calls)
{
	struct nmr_code a = simple_code(40000, 8), b = simple_code(3, 8);
	struct nmr_chain_link links[] = {
		{ .code = &a, .continue_on = NMR_VERDICT_BIT(2) },
		{ .code = &b, .continue_on = NMR_VERDICT_BIT(2) },
	};
	struct nmr_link_opts o = unit_opts(NMR_LINK_INLINE);
	struct nmr_linked l;

	a.insns[5] = EXIT();	/* an exit 39995 instructions from the code after it */
	cr_assert_eq(nmr_link(links, 2, &o, &l), -E2BIG);
	o.mode = NMR_LINK_AUTO;
	expect_called(links, 2, &o);
	nmr_code_free(&a);
	nmr_code_free(&b);
}

Test(linker_unit, unknown_ld_imm64_kinds_are_refused_by_name)
{
	struct bpf_insn insns[] = {
		INSN(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_IDX, 0, 0), INSN(0, 0, 0, 0, 0),
		EXIT(),
	};
	__u32 flags = 0;

	cr_assert_lt(nmr_code_check("p", insns, 3, &flags), 0);
	cr_assert(strstr(nmr_last_error(), "MAP_IDX"), "%s", nmr_last_error());
	insns[0].src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
	cr_assert_lt(nmr_code_check("p", insns, 3, &flags), 0);
	cr_assert(strstr(nmr_last_error(), "MAP_IDX_VALUE"), "%s", nmr_last_error());
	insns[0].src_reg = 9;
	cr_assert_lt(nmr_code_check("p", insns, 3, &flags), 0);
	cr_assert(strstr(nmr_last_error(), "unknown kind"), "%s", nmr_last_error());
	insns[0].src_reg = BPF_PSEUDO_MAP_VALUE;
	cr_assert_eq(nmr_code_check("p", insns, 3, &flags), 0, "%s", nmr_last_error());
	/* an ld_imm64 cut in half */
	cr_assert_lt(nmr_code_check("p", insns, 1, &flags), 0);
	/* LD_ABS marks the code */
	insns[2] = INSN(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 12);
	cr_assert_eq(nmr_code_check("p", insns, 3, &flags), 0);
	cr_assert(flags & NMR_CODE_F_LD_ABS);
}

Test(linker_unit, call_depth_counts_frames_and_callbacks)
{
	struct nmr_code a = called_code();
	struct bpf_insn cb[] = {
		/* main: r2 = &callback; call helper; exit. callback: exit */
		INSN(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_FUNC, 0, 3), INSN(0, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_loop), EXIT(),
		EXIT(),
	};

	cr_assert_eq(nmr_code_call_depth(a.insns, a.hdr.insn_cnt), 3);
	cr_assert_eq(nmr_code_call_depth(cb, 5), 2);
	nmr_code_free(&a);
}

Test(linker_unit, a_damaged_code_blob_is_refused)
{
	struct nmr_code a = called_code(), back;
	size_t size;
	char *buf;

	cr_assert_eq(nmr_code_encode(&a, (void **)&buf, &size), 0);
	cr_assert_eq(nmr_code_decode(buf, size, &back), 0);
	cr_assert_eq(back.hdr.nline, 3);
	cr_assert_eq(back.line[1].insn_off, 3);
	nmr_code_free(&back);
	cr_assert_eq(nmr_code_decode(buf, size - 1, &back), -EINVAL);
	((struct nmr_code_header *)buf)->main_len = 7;		/* past the instructions */
	cr_assert_eq(nmr_code_decode(buf, size, &back), -EINVAL);
	((struct nmr_code_header *)buf)->main_len = 2;
	((struct nmr_code_header *)buf)->insn_cnt = 1u << 30;	/* more than the blob */
	cr_assert_eq(nmr_code_decode(buf, size, &back), -EINVAL);
	((struct nmr_code_header *)buf)->insn_cnt = 6;
	{
		struct bpf_line_info *li = (void *)(buf + sizeof(struct nmr_code_header) +
						    6 * sizeof(struct bpf_insn) +
						    3 * sizeof(struct bpf_func_info));

		li[2].insn_off = 6;	/* out of the code */
		cr_assert_eq(nmr_code_decode(buf, size, &back), -EINVAL);
	}
	free(buf);
	nmr_code_free(&a);
}

/* ---- differential: alone against in a chain ---- */

TestSuite(linker, .init = env_setup, .fini = env_teardown, .timeout = 180);

/*
 * The client's chain program: slot 0 of its chain table when it has one,
 * else the program pinned as its dispatcher.
 */
static int chain_prog_fd(const char *client)
{
	__u32 id = chain_table_prog(client);
	const char *path;
	int fd;

	if (id) {
		fd = bpf_prog_get_fd_by_id(id);
		cr_assert_geq(fd, 0, "%s's chain, program %u: %s", client, id, strerror(errno));
		return fd;
	}
	path = client_pin(client, "dispatcher");
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "%s's dispatcher (%s): %s", client, path, strerror(errno));
	return fd;
}

#define FRAME 64

static __u32 run(int fd, const unsigned char *in, unsigned char *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = FRAME, .data_out = out,
		    .data_size_out = FRAME, .repeat = 1);

	cr_assert_eq(bpf_prog_test_run_opts(fd, &o), 0, "test run: %s", strerror(errno));
	return o.retval;
}

/* Every array map of the object alone holds what the provider's pinned one does. */
static void same_maps(struct bpf_object *obj, const char *provider, const char *what)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		__u32 vs = bpf_map__value_size(m);
		char a[512], b[512];
		int pfd;

		if (bpf_map__type(m) != BPF_MAP_TYPE_ARRAY || bpf_map__is_internal(m))
			continue;
		pfd = bpf_obj_get(provider_map(provider, bpf_map__name(m)));
		cr_assert_geq(pfd, 0, "%s: map %s", what, bpf_map__name(m));
		for (__u32 k = 0; k < bpf_map__max_entries(m); k++) {
			cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(m), &k, a), 0);
			cr_assert_eq(bpf_map_lookup_elem(pfd, &k, b), 0);
			cr_assert_eq(memcmp(a, b, vs), 0, "%s: map %s differs at key %u "
				     "(%llu alone, %llu in the chain)", what, bpf_map__name(m), k,
				     *(unsigned long long *)a, *(unsigned long long *)b);
		}
		close(pfd);
	}
}

struct diff {
	const char *obj;		/* tests/bpf/<obj>.bpf.o, program <obj> */
	bool tc;
	const char *cont;		/* its --continue-on */
	__u32 cont_mask;
	const unsigned char (*frames)[FRAME];
	int nframes;
};

/* Runs every frame alone and through the chain; compares; returns how many were continued. */
static int compare(const struct diff *d, struct bpf_object *obj, const char *what)
{
	int prog = bpf_program__fd(bpf_object__find_program_by_name(obj, d->obj));
	int chain = chain_prog_fd("c0"), continued = 0;

	for (int f = 0; f < d->nframes; f++) {
		unsigned char alone[FRAME], linked[FRAME];
		__u32 va = run(prog, d->frames[f], alone), vc = run(chain, d->frames[f], linked);

		cr_assert_eq(memcmp(alone, linked, FRAME), 0, "%s: frame %d: bytes differ", what, f);
		if (d->cont_mask & NMR_VERDICT_BIT((int)va)) {
			continued++;
			/* handed on: the pass-through providers after it keep this verdict */
			if (!strstr(what, "only") && !strstr(what, "end"))
				continue;
		}
		cr_assert_eq(va, vc, "%s: frame %d: verdict %d alone, %d in the chain", what, f,
			     (int)va, (int)vc);
	}
	close(chain);
	same_maps(obj, d->obj, what);
	return continued;
}

static __u64 binding_packets(const char *binding)
{
	struct nmr_registry *reg = open_registry();
	struct nmr_binding_record b;
	struct nmr_binding_counts c;

	cr_assert_eq(nmr_binding_find(reg, binding, &b), 0, "%s", nmr_last_error());
	cr_assert_eq(nmr_binding_counts(reg, &b, &c), 0, "%s", nmr_last_error());
	nmr_registry_close(reg);
	return c.packets;
}

static void differential(const struct diff *d)
{
	char pass_obj[512];	/* test_obj() and bpf_obj() reuse their buffers */
	const char *pass_cont = d->tc ? "--continue-on ok" : "";
	struct bpf_object *obj = bpf_object__open_file(test_obj(d->obj), NULL);
	struct cli_result r;
	__u64 before;
	int cont;

	snprintf(pass_obj, sizeof(pass_obj), "%s",
		 d->tc ? test_obj("tc_count") : bpf_obj("frame_counter"));
	cr_assert(obj && !bpf_object__load(obj), "load %s alone", d->obj);
	demo_npi_client(d->tc ? "tc-ingress" : "xdp", "veth0", "");
	/* the only provider */
	cr_assert_eq(cli(&r, "provider register %s --npi demo --priority 5 --continue-on %s",
			 test_obj(d->obj), d->cont), 0, "%s", r.err);
	compare(d, obj, "only");
	/* at the end, after a provider that hands everything on */
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name head --priority 1 %s",
			 pass_obj, pass_cont), 0, "%s", r.err);
	compare(d, obj, "at the end");
	/* in the middle: what it hands on reaches the provider after it, counted */
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name tail --priority 9 %s",
			 pass_obj, pass_cont), 0, "%s", r.err);
	before = binding_packets("c0:tail");
	cont = compare(d, obj, "in the middle");
	cr_assert_eq(binding_packets("c0:tail") - before, cont,
		     "the provider after it ran %llu times, not %d",
		     (unsigned long long)(binding_packets("c0:tail") - before), cont);
	cr_assert_eq(binding_packets("c0:head"), 2 * d->nframes);
	bpf_object__close(obj);
}

static const unsigned char xdp_frames[][FRAME] = {
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x88, 0xb5,
	  0x01, 0x00, 0x42 },
	{ 0x03, 0x09, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x88, 0xb5,
	  0x02, 0x00, 0x00 },
	{ 0x01, 0x05, 0x07, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x88, 0xb5,
	  0xff, 0x11 },
};

#define XDP_DIFF(prog, c, m) (&(struct diff){ .obj = prog, .cont = c, .cont_mask = m,	\
					      .frames = xdp_frames, .nframes = 3 })

Test(linker, bpf_loop_callback_alone_and_in_a_chain)
{
	differential(XDP_DIFF("lk_loop", "pass", NMR_VERDICT_BIT(2)));
}

Test(linker, for_each_map_elem_callback_alone_and_in_a_chain)
{
	differential(XDP_DIFF("lk_foreach", "pass", NMR_VERDICT_BIT(2)));
}

Test(linker, tail_call_in_a_subprogram_and_a_global_function)
{
	differential(XDP_DIFF("lk_tailsub", "pass,tx", NMR_VERDICT_BIT(2) | NMR_VERDICT_BIT(3)));
}

Test(linker, devmap_redirect_binds_and_runs)
{
	differential(XDP_DIFF("lk_redirect", "pass", NMR_VERDICT_BIT(2)));
}

Test(linker, stack_of_480_bytes_and_a_stack_pointer_written_by_a_subprogram)
{
	struct cli_result r;

	differential(XDP_DIFF("lk_deep", "pass", NMR_VERDICT_BIT(2)));
	/* beside it, a provider with 480 bytes of stack of its own: each has what it has alone */
	cr_assert_eq(cli(&r, "provider register %s --npi demo --priority 7", test_obj("lk_stack480")),
		     0, "%s", r.err);
	cr_assert_eq(cli(&r, "binding show c0:lk_stack480"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "bound"), "%s", r.out);
	{
		struct bpf_object *obj = bpf_object__open_file(test_obj("lk_stack480"), NULL);
		int chain = chain_prog_fd("c0");
		unsigned char alone[FRAME], linked[FRAME];

		cr_assert(obj && !bpf_object__load(obj));
		/* the chain's frame: byte 21 by lk_stack480, byte 22 by lk_deep */
		run(bpf_program__fd(bpf_object__find_program_by_name(obj, "lk_stack480")),
		    xdp_frames[0], alone);
		cr_assert_eq(run(chain, xdp_frames[0], linked), 2 /* XDP_PASS */);
		cr_assert_eq(linked[21], alone[21]);
		close(chain);
		bpf_object__close(obj);
	}
}

Test(linker, stack_of_480_bytes_alone_and_in_a_chain)
{
	differential(XDP_DIFF("lk_stack480", "pass", NMR_VERDICT_BIT(2)));
}

static const unsigned char tc_frames[][FRAME] = {
	/* byte 14 = 1: loads byte 16 (0x42): shot */
	{ 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x88, 0xb5, 0x01, 0x00, 0x42 },
	/* byte 14 = 2: loads byte 32 (0): pipe */
	{ 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x88, 0xb5, 0x02 },
	/* byte 14 = 0xff: loads byte 4080, out of the frame: the program returns 0 */
	{ 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x88, 0xb5, 0xff },
};

Test(linker, ld_abs_in_and_out_of_bounds_on_tc)
{
	differential(&(struct diff){ .obj = "lk_ldabs", .tc = true, .cont = "ok,pipe",
				     .cont_mask = NMR_VERDICT_BIT(0) | NMR_VERDICT_BIT(3),
				     .frames = tc_frames, .nframes = 3 });
}

TestSuite(linker_load, .init = env_setup_no_netns, .fini = env_teardown, .timeout = 60);

Test(linker_load, a_refused_chain_names_the_provider_instruction_and_source_line)
{
	struct nmr_code good = simple_code(3, 8), bad = called_code();
	struct nmr_chain_link links[] = {
		{ .code = &good, .continue_on = NMR_VERDICT_BIT(2), .name = "good" },
		{ .code = &bad, .continue_on = NMR_VERDICT_BIT(2), .name = "bad" },
	};
	struct nmr_link_opts o = unit_opts(NMR_LINK_AUTO);
	struct nmr_linked l;
	int ncpus = libbpf_num_possible_cpus(), fd;

	o.ncpus = ncpus;
	o.stats_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_stats", 4,
				    ncpus * sizeof(struct nmr_chain_parts), 1, NULL);
	cr_assert_geq(o.stats_fd, 0);
	/* "bad"'s function g reads r5, which nobody wrote: at its instruction 5, line 30 */
	bad.insns[5] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_5, 0, 0);
	bad.insns = realloc(bad.insns, 7 * sizeof(*bad.insns));
	bad.insns[6] = EXIT();
	bad.hdr.insn_cnt = 7;
	cr_assert_eq(nmr_link(links, 2, &o, &l), 0, "%s", nmr_last_error());
	fd = nmr_link_load(&l, links, 2, &o, "c0");
	cr_assert_lt(fd, 0);
	cr_assert(strstr(nmr_last_error(), "instruction 5 of provider bad"), "%s",
		  nmr_last_error());
	cr_assert(strstr(nmr_last_error(), "prov.c:30: return 0;"), "%s", nmr_last_error());
	nmr_linked_free(&l);
	/* the same without the fault loads, with its BTF */
	bad.insns[5] = MOV_IMM(BPF_REG_0, 2);
	cr_assert_eq(nmr_link(links, 2, &o, &l), 0, "%s", nmr_last_error());
	fd = nmr_link_load(&l, links, 2, &o, "c0");
	cr_assert_geq(fd, 0, "%s", nmr_last_error());
	close(fd);
	nmr_linked_free(&l);
	close(o.stats_fd);
	nmr_code_free(&good);
	nmr_code_free(&bad);
}

Test(linker, bpf_timer_callback_alone_and_in_a_chain)
{
	differential(XDP_DIFF("lk_timer", "pass", NMR_VERDICT_BIT(2)));
}

/* What a provider needs alone must be enough in any chain: what cannot be is refused first. */
Test(linker, calls_8_frames_deep_are_refused_at_registration)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register demo --hook xdp"), 0, "%s", r.err);
	cr_assert_neq(cli(&r, "provider register %s --npi demo", test_obj("lk_deep8")), 0);
	cr_assert(strstr(r.err, "8 frames deep"), "%s", r.err);
	cr_assert_eq(cli(&r, "provider list"), 0);
	cr_assert_null(strstr(r.out, "lk_deep8"), "%s", r.out);
}
