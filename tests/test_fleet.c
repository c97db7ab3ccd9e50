// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Operating a fleet: apply/dump, generations and --expect-gen, the change
 * stream (monitor) and metrics, through the command line as operators use
 * them, and the plan through the library.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "helpers.h"

TestSuite(fleet, .init = env_setup, .fini = env_teardown, .timeout = 120);

static const char *write_file(const char *name, const char *fmt, ...)
{
	static char path[8][256];
	static int next;
	char *p = path[next++ % 8];
	va_list ap;
	FILE *f;

	snprintf(p, 256, "%s/%s", env.tmp, name);
	f = fopen(p, "w");
	cr_assert(f, "cannot write %s", p);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	return p;
}

/* NPI fw; providers a (10) and b (20) from obj_a and obj_b; clients on veth0 (and veth1). */
static const char *state_file(const char *name, const char *obj_a, const char *obj_b,
			      bool two_clients)
{
	char a[256], b[256];

	snprintf(a, sizeof(a), "%s", obj_a);
	snprintf(b, sizeof(b), "%s", obj_b);
	return write_file(name,
			  "npis:\n"
			  "  - name: fw\n"
			  "    hook: xdp\n"
			  "providers:\n"
			  "  - name: a\n"
			  "    npi: fw\n"
			  "    object: %s\n"
			  "    priority: 10\n"
			  "  - name: b\n"
			  "    npi: fw\n"
			  "    object: %s\n"
			  "    priority: 20\n"
			  "clients:\n"
			  "  - name: c0\n"
			  "    npi: fw\n"
			  "    device: veth0\n"
			  "    netns: %s\n"
			  "%s%s%s",
			  a, b, env.netns,
			  two_clients ? "  - name: c1\n    npi: fw\n    device: veth1\n"
					"    netns: " : "",
			  two_clients ? env.netns : "", two_clients ? "\n" : "");
}

static unsigned long long registry_gen(void)
{
	struct cli_result r;
	const char *g;

	cr_assert_eq(cli(&r, "-j registry show"), 0, "%s", r.err);
	g = strstr(r.out, "\"generation\":");
	cr_assert(g, "%s", r.out);
	return strtoull(g + 13, NULL, 10);
}

static unsigned long long client_gen(const char *client)
{
	struct cli_result r;
	const char *g;

	cr_assert_eq(cli(&r, "-j client show %s", client), 0, "%s", r.err);
	g = strstr(r.out, "\"generation\":");
	cr_assert(g, "%s", r.out);
	return strtoull(g + 13, NULL, 10);
}

Test(fleet, apply_dump_apply_is_a_noop)
{
	const char *s = state_file("s.yaml", test_obj("stamp"), test_obj("stamp"), false);
	struct cli_result r;
	char dump[256], *before;
	unsigned long long gen;

	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	cr_assert(strstr(r.out, "register    client    c0"), "%s", r.out);
	cr_assert_neq(xdp_prog_on("veth0"), 0);
	cr_assert_eq(cli(&r, "-j binding list --client c0"), 0);
	cr_assert(strstr(r.out, "\"position\":1"), "two bindings: %s", r.out);

	/* the same file again: nothing to change, nothing touched */
	gen = registry_gen();
	before = registry_snapshot();
	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to change"), "%s", r.out);
	cr_assert_str_eq(registry_snapshot(), before);

	/* dump, then apply the dump: a no-op */
	snprintf(dump, sizeof(dump), "%s/dump.yaml", env.tmp);
	cr_assert_eq(cli(&r, "dump -o %s", dump), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "apply -f %s", dump), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to change"), "%s", r.out);
	cr_assert_eq(cli(&r, "apply -f %s --prune", dump), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to change"), "dump names everything: %s", r.out);
	cr_assert_str_eq(registry_snapshot(), before);
	cr_assert_eq(registry_gen(), gen);

	/* JSON is YAML: the same state written as JSON changes nothing either */
	snprintf(dump, sizeof(dump), "%s", test_obj("stamp"));
	s = write_file("s.json",
		       "{\"npis\": [{\"name\": \"fw\", \"hook\": \"xdp\"}],\n"
		       " \"providers\": [{\"name\": \"a\", \"npi\": \"fw\", \"object\": \"%s\","
		       " \"priority\": 10},\n"
		       "   {\"name\": \"b\", \"npi\": \"fw\", \"object\": \"%s\","
		       " \"priority\": 20}],\n"
		       " \"clients\": [{\"name\": \"c0\", \"npi\": \"fw\", \"device\": \"veth0\","
		       " \"netns\": \"%s\"}]}\n", dump, dump, env.netns);
	cr_assert_eq(cli(&r, "apply -f - < %s", s), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to change"), "%s", r.out);
	cr_assert_str_eq(registry_snapshot(), before);
}

Test(fleet, dump_copies_objects_it_cannot_name)
{
	struct cli_result r;
	char dump[256];

	cr_assert_eq(cli(&r, "npi register fw --hook xdp"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi fw --name a", test_obj("stamp")), 0);
	/* registered by hand: where its object came from is not known */
	cr_assert_neq(cli(&r, "dump"), 0);
	cr_assert(strstr(r.err, "--objects DIR"), "%s", r.err);
	snprintf(dump, sizeof(dump), "%s/dump.yaml", env.tmp);
	cr_assert_eq(cli(&r, "dump -o %s --objects %s", dump, env.tmp), 0, "%s", r.err);
	cr_assert_eq(sh("cmp -s %s %s/a.bpf.o", test_obj("stamp"), env.tmp), 0);
	cr_assert_eq(cli(&r, "apply -f %s", dump), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to change"), "%s", r.out);
}

/* The providers of the client's chain, in order, "a,b". */
static void chain_of(struct nmr_registry *reg, const char *client, char *buf, size_t len)
{
	struct nmr_binding_record *b = NULL;
	size_t n = 0;

	buf[0] = 0;
	cr_assert_eq(nmr_binding_list(reg, client, NULL, &b, &n), 0, "%s", nmr_last_error());
	for (__u32 pos = 0; pos < NMR_MAX_CHAIN; pos++)
		for (size_t i = 0; i < n; i++) {
			struct nmr_provider_record p;
			char guid[NMR_GUID_STR_LEN];

			if (b[i].state != NMR_BINDING_BOUND || b[i].position != pos)
				continue;
			nmr_guid_format(&b[i].provider, guid);
			cr_assert_eq(nmr_provider_find(reg, guid, &p), 0);
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? "," : "",
				 p.name);
		}
	free(b);
}

Test(fleet, dry_run_changes_nothing_and_its_plan_is_what_apply_does)
{
	const char *s = state_file("s.yaml", test_obj("stamp"), test_obj("stamp"), false);
	const char *next;
	struct nmr_registry *reg;
	struct nmr_state *st;
	struct nmr_plan *plan;
	struct cli_result r;
	char *before, chain[512], want[512], v1[256], v2[256];

	/* test_obj() returns one static buffer: copy before the next call */
	snprintf(v1, sizeof(v1), "%s", test_obj("stamp"));
	snprintf(v2, sizeof(v2), "%s", test_obj("stamp_v2"));
	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	/* a replaced, x new (between a and b), b as it was; c1 new, declining version 1 */
	next = write_file("next.yaml",
			  "npis: [{name: fw, hook: xdp}]\n"
			  "providers:\n"
			  "  - {name: a, npi: fw, object: %s, priority: 10}\n"
			  "  - {name: b, npi: fw, object: %s, priority: 20}\n"
			  "  - {name: x, npi: fw, object: %s, priority: 15, version: 1-2}\n"
			  "clients:\n"
			  "  - {name: c0, npi: fw, device: veth0, netns: %s}\n"
			  "  - {name: c1, npi: fw, device: veth1, netns: %s, require-version: 2}\n",
			  v2, v1, v1, env.netns, env.netns);
	before = registry_snapshot();
	cr_assert_eq(cli(&r, "apply -f %s --dry-run", next), 0, "%s", r.err);
	cr_assert(strstr(r.out, "replace     provider  a"), "%s", r.out);
	cr_assert(strstr(r.out, "register    provider  x"), "%s", r.out);
	cr_assert(strstr(r.out, "c0: a, b -> a, x, b"), "%s", r.out);
	cr_assert_eq(cli(&r, "-j apply -f %s --dry-run", next), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"applied\":false"), "%s", r.out);
	cr_assert(strstr(r.out, "{\"client\":\"c1\",\"changed\":true,\"deregistered\":false,"
			  "\"before\":[],\"after\":[\"x\"]}"), "%s", r.out);
	cr_assert_str_eq(registry_snapshot(), before, "a dry run changed the registry");

	/* the library's plan, then apply: every chain is what the plan said */
	reg = open_registry();
	cr_assert_eq(nmr_state_read(next, &st), 0, "%s", nmr_last_error());
	cr_assert_eq(nmr_plan_make(reg, st, 0, &plan), 0, "%s", nmr_last_error());
	cr_assert_str_eq(registry_snapshot(), before, "a plan changed the registry");
	cr_assert_eq(plan->nsteps, 3, "replace a, register x, register c1: %zu steps",
		     plan->nsteps);
	cr_assert_eq(nmr_plan_apply(reg, st, plan), 0, "%s", nmr_last_error());
	for (size_t i = 0; i < plan->nchains; i++) {
		want[0] = 0;
		for (size_t j = 0; j < plan->chains[i].nafter; j++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s",
				 j ? "," : "", plan->chains[i].after[j]);
		chain_of(reg, plan->chains[i].client, chain, sizeof(chain));
		cr_assert_str_eq(chain, want, "client %s", plan->chains[i].client);
	}
	/* a plan whose registry moved on is refused */
	cr_assert_eq(cli(&r, "npi register other --hook xdp"), 0);
	cr_assert_eq(nmr_plan_apply(reg, st, plan), -ESTALE);
	nmr_plan_free(plan);
	nmr_state_free(st);
	nmr_registry_close(reg);
}

Test(fleet, prune_removes_only_what_the_file_does_not_name)
{
	const char *s = state_file("s.yaml", test_obj("stamp"), test_obj("stamp"), false);
	struct cli_result r;

	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi fw --name extra", test_obj("stamp")), 0);
	/* without --prune nothing unnamed is touched */
	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to change"), "%s", r.out);
	cr_assert_eq(cli(&r, "provider show extra"), 0);
	cr_assert_eq(cli(&r, "apply -f %s --prune", s), 0, "%s", r.err);
	cr_assert(strstr(r.out, "deregister  provider  extra (not in the file)"), "%s", r.out);
	cr_assert_neq(cli(&r, "provider show extra"), 0);
	cr_assert_eq(cli(&r, "provider show a"), 0);
	/* a file of the NPI alone: clients and providers go, the hook is free again */
	s = write_file("npi.yaml", "npis:\n  - name: fw\n    hook: xdp\n");
	cr_assert_eq(cli(&r, "apply -f %s --prune", s), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "-j client list"), 0);
	cr_assert_str_eq(r.out, "[]\n");
	cr_assert_eq(cli(&r, "-j provider list"), 0);
	cr_assert_str_eq(r.out, "[]\n");
	cr_assert_eq(xdp_prog_on("veth0"), 0);
	cr_assert_eq(cli(&r, "npi show fw"), 0);
}

Test(fleet, a_wrong_file_is_refused_with_nothing_changed)
{
	const char *s = state_file("s.yaml", test_obj("stamp"), test_obj("stamp"), false);
	char obj[256], digest[65] = "", cmd[512];
	struct cli_result r;
	char *before;
	FILE *p;
	struct {
		const char *what, *text, *expect;
	} bad[] = {
		{ "syntax", "npis:\n  - name: fw\n   hook: [xdp\n", ":3:4: syntax" },
		{ "unknown key", "npis:\n  - name: fw\n    hok: xdp\n",
		  ":3:5: npi: unknown key 'hok'" },
		{ "wrong value", "npis:\n  - name: fw\n    hook: xpd\n", "hook: 'xpd' is not" },
		{ "unknown npi", "providers:\n  - name: z\n    npi: nope\n    object: %s\n",
		  "unknown NPI nope" },
		{ "missing object",
		  "providers:\n  - name: z\n    npi: fw\n    object: /nonexistent.o\n",
		  "object /nonexistent.o: No such file" },
		{ "digest mismatch", "providers:\n  - name: z\n    npi: fw\n    object: %s\n"
		  "    sha256: 0000000000000000000000000000000000000000000000000000000000000000\n",
		  "digest mismatch" },
		{ "no client accepts", "providers:\n  - name: z\n    npi: fw\n    object: %s\n"
		  "    version: 2\n"
		  "clients:\n  - {name: c0, npi: fw, device: veth0, netns: NETNS,"
		  " require-version: 1}\n",
		  "would accept it (client c0: version" },
		{ "missing program", "providers:\n  - name: z\n    npi: fw\n    object: %s\n"
		  "    program: nosuch\n", "has no program nosuch" },
		{ "missing device",
		  "clients:\n  - {name: c9, npi: fw, device: nosuch0, netns: NETNS}\n",
		  "no device nosuch0 in netns" },
		{ "bad name", "npis:\n  - {name: 'a b', hook: xdp}\n", "only letters" },
		{ "key twice", "npis:\n  - {name: n, hook: xdp, hook: tc-ingress}\n",
		  "key 'hook' given twice" },
	};

	snprintf(obj, sizeof(obj), "%s", test_obj("stamp"));
	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	before = registry_snapshot();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024], *n;
		const char *f;

		snprintf(text, sizeof(text), bad[i].text, obj);
		n = strstr(text, "NETNS");
		if (n) {
			char rest[512];

			snprintf(rest, sizeof(rest), "%s", n + 5);
			snprintf(n, sizeof(text) - (n - text), "%s%s", env.netns, rest);
		}
		f = write_file("bad.yaml", "%s", text);
		cr_assert_neq(cli(&r, "apply -f %s", f), 0, "%s was accepted", bad[i].what);
		cr_assert(strstr(r.err, bad[i].expect), "%s: %s", bad[i].what, r.err);
		cr_assert_neq(cli(&r, "apply -f %s --dry-run", f), 0, "%s", bad[i].what);
		cr_assert_str_eq(registry_snapshot(), before, "%s changed the registry",
				 bad[i].what);
	}
	/* the right digest is accepted */
	snprintf(cmd, sizeof(cmd), "sha256sum %s", test_obj("stamp"));
	p = popen(cmd, "r");
	cr_assert(p && fscanf(p, "%64s", digest) == 1);
	pclose(p);
	s = write_file("ok.yaml", "providers:\n  - {name: z, npi: fw, object: %s, sha256: %s}\n",
		       obj, digest);
	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider show z"), 0);
}

Test(fleet, a_changed_object_is_one_replace_and_one_swap_per_client)
{
	const char *s = state_file("s.yaml", test_obj("stamp"), test_obj("stamp"), true);
	const char *v2 = state_file("v2.yaml", test_obj("stamp_v2"), test_obj("stamp_v2"), true);
	unsigned long long g0, g1;
	struct cli_result r;

	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	g0 = client_gen("c0");
	g1 = client_gen("c1");
	cr_assert_eq(cli(&r, "apply -f %s", v2), 0, "%s", r.err);
	cr_assert(strstr(r.out, "replace     provider  a"), "%s", r.out);
	cr_assert(strstr(r.out, "replace     provider  b"), "%s", r.out);
	/* two providers changed, each client's chain changed once */
	cr_assert_eq(client_gen("c0"), g0 + 1);
	cr_assert_eq(client_gen("c1"), g1 + 1);
	cr_assert_eq(cli(&r, "apply -f %s", v2), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to change"), "%s", r.out);
}

/* One file that replaces a, removes b and adds c: each client's chain changes once. */
Test(fleet, a_replace_a_removal_and_an_addition_are_one_swap_per_client)
{
	const char *s = state_file("s.yaml", test_obj("stamp"), test_obj("stamp"), true);
	const char *next = write_file("next.yaml",
			"npis:\n  - name: fw\n    hook: xdp\n"
			"providers:\n"
			"  - name: a\n    npi: fw\n    object: %s\n    priority: 10\n"
			"  - name: c\n    npi: fw\n    object: %s\n    priority: 5\n"
			"clients:\n"
			"  - name: c0\n    npi: fw\n    device: veth0\n    netns: %s\n"
			"  - name: c1\n    npi: fw\n    device: veth1\n    netns: %s\n",
			test_obj("stamp_v2"), bpf_obj("frame_counter"), env.netns, env.netns);
	unsigned long long g0, g1;
	struct nmr_registry *reg;
	struct nmr_client_record c;
	struct cli_result r;

	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	g0 = client_gen("c0");
	g1 = client_gen("c1");
	cr_assert_eq(cli(&r, "apply --prune -f %s", next), 0, "%s", r.err);
	cr_assert_eq(client_gen("c0"), g0 + 1, "c0's chain changed more than once");
	cr_assert_eq(client_gen("c1"), g1 + 1, "c1's chain changed more than once");
	/* and it is the chain the file asks for: c (priority 5), then a v2 */
	reg = open_registry();
	cr_assert_eq(nmr_client_find(reg, "c0", &c), 0);
	cr_assert_eq(c.nchain, 2);
	nmr_registry_close(reg);
	cr_assert_eq(cli(&r, "client show c0"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "0. c ") && strstr(r.out, "1. a "), "%s", r.out);
	cr_assert_eq(cli(&r, "binding show c0:b"), 1, "b is still bound: %s", r.out);
	cr_assert_eq(cli(&r, "registry check"), 0, "%s%s", r.out, r.err);
	cr_assert_eq(cli(&r, "apply -f %s", next), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to change"), "%s", r.out);
}

Test(fleet, expect_gen_conflicts_between_two_processes)
{
	unsigned long long gen;
	struct cli_result r;
	int won = 0;

	cr_assert_eq(cli(&r, "npi register fw --hook xdp"), 0, "%s", r.err);
	gen = registry_gen();
	/* two processes change the same generation at once: one wins, one conflicts */
	cr_assert_eq(sh("for n in n1 n2; do (%s/nmr-bpf --root %s --expect-gen %llu "
			"npi register $n --hook xdp >%s/$n.out 2>%s/$n.err; echo $? >%s/$n.rc) & "
			"done; wait",
			env.bin, env.root, gen, env.tmp, env.tmp, env.tmp), 0);
	for (int i = 1; i <= 2; i++) {
		char path[300];
		FILE *f;
		int rc = -1;

		snprintf(path, sizeof(path), "%s/n%d.rc", env.tmp, i);
		f = fopen(path, "r");
		cr_assert(f && fscanf(f, "%d", &rc) == 1);
		fclose(f);
		won += rc == 0;
		if (rc)
			cr_assert_eq(sh("grep -q 'generation conflict' %s/n%d.err", env.tmp, i), 0);
	}
	cr_assert_eq(won, 1, "both or neither won");
	cr_assert_eq(registry_gen(), gen + 1);
	cr_assert_eq(cli(&r, "-j npi list"), 0);
	cr_assert((strstr(r.out, "\"n1\"") != NULL) + (strstr(r.out, "\"n2\"") != NULL) == 1);

	/* a client's generation */
	cr_assert_eq(cli(&r, "client register --npi fw --dev veth0 --netns %s --name c0",
			 env.netns), 0, "%s", r.err);
	gen = client_gen("c0");
	cr_assert_neq(cli(&r, "client deregister c0 --expect-gen %llu", gen + 5), 0);
	cr_assert(strstr(r.err, "generation conflict: client c0"), "%s", r.err);
	cr_assert_eq(cli(&r, "client show c0"), 0, "the client went despite the conflict");
	cr_assert_eq(cli(&r, "client deregister c0 --expect-gen %llu", gen), 0, "%s", r.err);
	/* apply refuses a stale generation too */
	gen = registry_gen();
	cr_assert_neq(cli(&r, "apply -f %s --expect-gen %llu",
			  write_file("x.yaml", "npis: [{name: x, hook: xdp}]\n"), gen - 1), 0);
	cr_assert_neq(cli(&r, "npi show x"), 0);
}

/* ---- the change stream ---- */

struct monitor_proc {
	pid_t pid;
	int fd;
	char buf[1 << 16];
	size_t len;
};

static void monitor_start(struct monitor_proc *m)
{
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	m->len = 0;
	m->buf[0] = 0;
	m->pid = fork();
	cr_assert_geq(m->pid, 0);
	if (m->pid == 0) {
		char bin[512];

		dup2(p[1], 1);
		snprintf(bin, sizeof(bin), "%s/nmr-bpf", env.bin);
		execl(bin, bin, "--root", env.root, "-j", "monitor", NULL);
		_exit(127);
	}
	close(p[1]);
	m->fd = p[0];
	fcntl(m->fd, F_SETFL, O_NONBLOCK);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Waits at most ms for a line holding all of want[]; returns the ms it took, or -1. */
static long long monitor_wait(struct monitor_proc *m, int ms, const char *a, const char *b)
{
	long long t0 = now_ms();

	for (;;) {
		char *line = m->buf;

		for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = 0;
			if (strstr(line, a) && (!b || strstr(line, b))) {
				memset(line, ' ', nl - line);	/* consumed */
				*nl = '\n';
				return now_ms() - t0;
			}
			*nl = '\n';
		}
		if (now_ms() - t0 > ms)
			return -1;
		struct pollfd pfd = { .fd = m->fd, .events = POLLIN };

		poll(&pfd, 1, 10);
		ssize_t n = read(m->fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);

		if (n > 0) {
			m->len += n;
			m->buf[m->len] = 0;
		}
	}
}

static int count_lines(struct monitor_proc *m, const char *a, const char *b)
{
	int n = 0;

	for (char *line = m->buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = 0;
		n += strstr(line, a) && (!b || strstr(line, b));
		*nl = '\n';
	}
	return n;
}

static void monitor_stop(struct monitor_proc *m)
{
	int st = 0;

	kill(m->pid, SIGTERM);
	cr_assert_eq(waitpid(m->pid, &st, 0), m->pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "monitor did not stop cleanly: %d", st);
	close(m->fd);
}

/* The monitor has its watches once it reports a change: until then, poke it. */
static void monitor_ready(struct monitor_proc *m)
{
	struct cli_result r;

	for (int i = 0; i < 50; i++) {
		cr_assert_eq(cli(&r, "npi register warm%d --hook xdp", i), 0, "%s", r.err);
		if (monitor_wait(m, 100, "npi-registered", "\"warm") >= 0)
			return;
	}
	cr_assert_fail("the monitor never reported anything");
}

Test(fleet, monitor_sees_every_kind_of_event_from_other_processes)
{
	static struct monitor_proc m;
	struct cli_result r;
	long long ms;
	pid_t live;
	int st;

	monitor_start(&m);
	monitor_ready(&m);

	cr_assert_eq(cli(&r, "npi register fw --hook xdp"), 0, "%s", r.err);
	ms = monitor_wait(&m, 100, "\"npi-registered\"", "\"name\":\"fw\"");
	cr_assert(ms >= 0, "no npi-registered event within 100 ms: %s", m.buf);
	cr_assert_eq(cli(&r, "provider register %s --npi fw --name a", test_obj("stamp")), 0);
	cr_assert_geq(monitor_wait(&m, 100, "\"provider-registered\"", "\"a\""), 0, "%s", m.buf);
	cr_assert_eq(cli(&r, "client register --npi fw --dev veth0 --netns %s --name c0",
			 env.netns), 0, "%s", r.err);
	cr_assert_geq(monitor_wait(&m, 100, "\"client-registered\"", "\"c0\""), 0, "%s", m.buf);
	cr_assert_geq(monitor_wait(&m, 100, "\"binding-bound\"", "\"client\":\"c0\""), 0);
	cr_assert_geq(monitor_wait(&m, 100, "\"chain-swapped\"",
				   "\"old_generation\":0,\"new_generation\":1,"
				   "\"chain\":[\"a\"]"), 0,
		      "%s", m.buf);
	cr_assert_eq(cli(&r, "provider replace a %s", test_obj("stamp_v2")), 0, "%s", r.err);
	cr_assert_geq(monitor_wait(&m, 2000, "\"provider-replaced\"", "\"a\""), 0, "%s", m.buf);
	cr_assert_geq(monitor_wait(&m, 2000, "\"chain-swapped\"",
				   "\"old_generation\":1,\"new_generation\":2"), 0, "%s", m.buf);
	cr_assert_eq(cli(&r, "client register --npi fw --dev veth1 --netns %s --name c1 "
			 "--require-version 9", env.netns), 0, "%s", r.err);
	cr_assert_geq(monitor_wait(&m, 2000, "\"binding-declined\"", "\"reason\":\"version"), 0,
		      "%s", m.buf);
	cr_assert_eq(cli(&r, "client deregister c1"), 0);
	cr_assert_geq(monitor_wait(&m, 2000, "\"client-deregistered\"", "\"c1\""), 0, "%s", m.buf);
	cr_assert_eq(cli(&r, "provider deregister a"), 0);
	cr_assert_geq(monitor_wait(&m, 2000, "\"binding-removed\"", "\"provider\":\"a\""), 0);
	cr_assert_geq(monitor_wait(&m, 2000, "\"provider-deregistered\"", "\"a\""), 0);
	cr_assert_eq(cli(&r, "npi deregister warm0"), 0);
	cr_assert_geq(monitor_wait(&m, 2000, "\"npi-deregistered\"", "\"warm0\""), 0);

	/* a live module whose process dies: its owner is gone */
	cr_assert_eq(cli(&r, "client deregister c0"), 0);
	live = fork();
	cr_assert_geq(live, 0);
	if (live == 0) {
		char bin[512];

		snprintf(bin, sizeof(bin), "%s/examples/version_client", env.bin);
		freopen("/dev/null", "w", stdout);
		execl(bin, bin, "--root", env.root, "--npi", "fw", "--dev", "veth0", "--netns",
		      env.netns, "--version", "1", NULL);
		_exit(127);
	}
	env_track_child(live);
	if (monitor_wait(&m, 5000, "\"client-registered\"", "\"version-client\"") < 0) {
		kill(live, SIGKILL);
		waitpid(live, &st, 0);
		cr_assert_fail("the live client never registered: %s", m.buf);
	}
	kill(live, SIGKILL);
	waitpid(live, &st, 0);
	cr_assert_geq(monitor_wait(&m, 2000, "\"owner-gone\"", "\"module\":\"client\""), 0,
		      "%s", m.buf);
	/* its watchdog deregisters what it owned */
	cr_assert_geq(monitor_wait(&m, 5000, "\"client-deregistered\"", NULL), 0, "%s", m.buf);
	monitor_stop(&m);
}

Test(fleet, one_chain_swap_event_per_changed_client)
{
	static struct monitor_proc m;
	const char *s = state_file("s.yaml", test_obj("stamp"), test_obj("stamp"), true);
	const char *v2 = state_file("v2.yaml", test_obj("stamp_v2"), test_obj("stamp_v2"), true);
	struct cli_result r;

	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	monitor_start(&m);
	monitor_ready(&m);
	cr_assert_eq(cli(&r, "apply -f %s", v2), 0, "%s", r.err);
	/* a marker after it: every event of the apply has been printed before the marker's */
	cr_assert_eq(cli(&r, "npi register marker --hook xdp"), 0);
	cr_assert_geq(monitor_wait(&m, 2000, "\"npi-registered\"", "\"marker\""), 0, "%s", m.buf);
	cr_assert_eq(count_lines(&m, "\"chain-swapped\"", "\"client\":\"c0\""), 1, "%s", m.buf);
	cr_assert_eq(count_lines(&m, "\"chain-swapped\"", "\"client\":\"c1\""), 1, "%s", m.buf);
	cr_assert_eq(count_lines(&m, "\"chain-swapped\"", "\"chain\":[\"a\",\"b\"]"), 2);
	cr_assert_eq(count_lines(&m, "\"provider-replaced\"", NULL), 2, "%s", m.buf);
	monitor_stop(&m);
}

Test(fleet, metrics_pass_promtool_and_count_packets)
{
	const char *s = state_file("s.yaml", test_obj("stamp"), test_obj("stamp"), false);
	struct cli_result r;
	char prom[256];
	const char *line;

	if (sh("command -v promtool >/dev/null"))
		cr_skip_test("promtool (Debian package prometheus) is not installed");
	cr_assert_eq(cli(&r, "apply -f %s", s), 0, "%s", r.err);
	cr_assert_eq(send_frames("veth1", 7), 7);
	cr_assert_eq(cli(&r, "metrics"), 0, "%s", r.err);
	line = strstr(r.out, "nmr_binding_packets_total{client=\"c0\",device=\"veth0\"");
	cr_assert(line, "%s", r.out);
	cr_assert(strstr(r.out, "provider=\"a\",position=\"0\",verdict=\"pass\"} 7\n"), "%s",
		  r.out);
	cr_assert(strstr(r.out, "provider=\"b\",position=\"1\",verdict=\"pass\"} 7\n"), "%s",
		  r.out);
	cr_assert(strstr(r.out, "nmr_registry_objects{kind=\"binding\"} 2\n"), "%s", r.out);
	cr_assert(strstr(r.out, "nmr_registry_generation "), "%s", r.out);
	cr_assert_eq(sh("%s/nmr-bpf --root %s metrics | promtool check metrics", env.bin, env.root),
		     0);
	/* the textfile: complete, named for node_exporter, no temporary left */
	cr_assert_eq(cli(&r, "metrics --textfile %s", env.tmp), 0, "%s", r.err);
	snprintf(prom, sizeof(prom), "%s/nmr-bpf.prom", env.tmp);
	cr_assert_eq(sh("promtool check metrics < %s", prom), 0);
	cr_assert_eq(sh("ls -A %s | grep -q '^\\.nmr-bpf'", env.tmp), 1);
}

/* ---- without root: the state parser and the digest ---- */

#include "nmr_internal.h"

TestSuite(fleet_unit, .timeout = 10);

Test(fleet_unit, sha256_matches_the_standard_vectors)
{
	char hex[NMR_SHA256_HEX_LEN];
	static char million[1000000];

	nmr_sha256_hex("abc", 3, hex);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	nmr_sha256_hex("", 0, hex);
	cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	nmr_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', sizeof(million));
	nmr_sha256_hex(million, sizeof(million), hex);
	cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(fleet_unit, the_parser_names_line_and_column)
{
	struct nmr_state *st = NULL;
	const char *ok = "{\"npis\": [{\"name\": \"fw\", \"hook\": \"tc-ingress\","
			 " \"slots\": [\"a\", \"b\"]}]}";

	cr_assert_eq(nmr_state_parse(ok, strlen(ok), "ok.json", &st), 0, "%s", nmr_last_error());
	nmr_state_free(st);
	cr_assert_eq(nmr_state_parse("", 0, "empty", &st), 0, "an empty file is an empty state");
	nmr_state_free(st);
	cr_assert_eq(nmr_state_parse("npis:\n  - {name: x}\n  - {name: x}\n", 33, "f", &st),
		     -EINVAL);
	cr_assert(strstr(nmr_last_error(), "f:3:5: npi x: named twice"), "%s", nmr_last_error());
	cr_assert_eq(nmr_state_parse("clients:\n  - {name: c, mode: fast}\n", 35, "f", &st),
		     -EINVAL);
	cr_assert(strstr(nmr_last_error(), "f:2:21: mode: 'fast'"), "%s", nmr_last_error());
	cr_assert_eq(nmr_state_parse("providers:\n  - {version: 3-1}\n", 30, "f", &st), -EINVAL);
	cr_assert(strstr(nmr_last_error(), "not N or MIN-MAX"), "%s", nmr_last_error());
	cr_assert_eq(nmr_state_parse("[1, 2]", 6, "f", &st), -EINVAL);
	cr_assert(strstr(nmr_last_error(), "f:1:1: state: a mapping"), "%s", nmr_last_error());
	cr_assert_eq(nmr_state_parse("npis: {\n", 8, "f", &st), -EINVAL);
	cr_assert(strstr(nmr_last_error(), "f:2:1: syntax"), "%s", nmr_last_error());
}
