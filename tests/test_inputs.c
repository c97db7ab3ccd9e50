// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bad input, as an operator's bad day gives it: every one refused with a clear error and
 * nothing changed; a FIFO, a directory or a damaged object never hangs or crashes the CLI;
 * damaged records and JSON output stay safe.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "helpers.h"

TestSuite(inputs, .init = env_setup_no_netns, .fini = env_teardown, .timeout = 120);

/* A registry with an NPI and a provider: something that bad input must not change. */
static void populate(void)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register a --hook xdp"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi a --name p", bpf_obj("frame_counter")),
		     0, "%s", r.err);
}

Test(inputs, bad_arguments_are_refused_with_nothing_changed)
{
	static const struct {
		const char *args;
		const char *says;
	} bad[] = {
		{ "provider register OBJ --npi a --continue-on ''", "one or more xdp verdicts" },
		{ "provider register OBJ --npi a --continue-on pass,,drop", "verdict list" },
		{ "provider register OBJ --npi a --continue-on pass,", "verdict list" },
		{ "provider register OBJ --npi a --name -j", "--name needs a value, not the" },
		{ "provider register OBJ --npi a --name=-j", "must start with a letter" },
		{ "provider register OBJ --npi a --name ''", "must be 1 to" },
		{ "provider register OBJ --npi a --priority 0x10", "'0x10' is not a number" },
		{ "provider register OBJ --npi a --priority ' 7'", "is not a number" },
		{ "provider register OBJ --npi a --priority 5x", "'5x' is not a number" },
		{ "provider register OBJ --npi a --priority 4294967296", "out of range" },
		{ "provider register OBJ --npi a --priority 99999999999999999999", "out of range" },
		{ "provider register OBJ --npi a --version 0", "out of range" },
		{ "provider register OBJ --npi a --version 3-1", "the range is empty" },
		{ "provider register OBJ --npi a --version 1-", "is not a number" },
		{ "provider register OBJ --npi a --version 18446744073709551617", "out of range" },
		{ "provider register OBJ --npi a --id 12345", "is not a GUID" },
		{ "provider register OBJ --npi nosuch", "unknown npi nosuch" },
		{ "provider register OBJ --npi a --name p", "a provider named p is registered" },
		{ "npi register -x --hook xdp", "unknown option -x" },
		{ "npi register b --hook xdp --version -1", "needs a value" },
		{ "npi register b --hook nosuch", "nosuch" },
		{ "npi register b --hook xdp --version 00x", "is not a number" },
		{ "client register --npi a --dev lo --require-version 0", "out of range" },
		{ "client register --npi a --dev lo --name -p", "needs a value" },
	};
	struct cli_result r;
	char *before, *after, args[512];

	populate();
	before = registry_snapshot();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *obj = strstr(bad[i].args, "OBJ");

		if (obj)
			snprintf(args, sizeof(args), "%.*s%s%s", (int)(obj - bad[i].args),
				 bad[i].args, bpf_obj("frame_counter"), obj + 3);
		else
			snprintf(args, sizeof(args), "%s", bad[i].args);
		cr_assert_neq(cli(&r, "%s", args), 0, "accepted: %s", args);
		cr_assert(strstr(r.err, bad[i].says), "%s: expected '%s' in: %s", args,
			  bad[i].says, r.err);
		cr_assert(!strncmp(r.err, "Error: ", 7), "%s: %s", args, r.err);
	}
	after = registry_snapshot();
	cr_assert_str_eq(before, after, "bad input changed the registry");
	free(before);
	free(after);
}

Test(inputs, deregistering_what_is_not_there_says_so_cleanly)
{
	struct cli_result r;

	populate();
	cr_assert_eq(cli(&r, "provider deregister nosuch"), 1);
	cr_assert_str_eq(r.err, "Error: unknown provider nosuch (see: nmr-bpf provider list)\n");
	cr_assert_eq(cli(&r, "client deregister nosuch"), 1);
	cr_assert(strstr(r.err, "unknown client nosuch"), "%s", r.err);
	cr_assert_eq(cli(&r, "npi deregister 01234567-89ab-cdef-0123-456789abcdef"), 1);
	cr_assert(strstr(r.err, "unknown npi"), "%s", r.err);
}

Test(inputs, a_fifo_a_directory_or_a_non_elf_object_is_refused_at_once)
{
	struct cli_result r;
	char fifo[128], junk[128];
	char *before;

	populate();
	before = registry_snapshot();
	snprintf(fifo, sizeof(fifo), "%s/obj.fifo", env.tmp);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	/* bounded: a hang would be killed by timeout(1) with status 124 */
	cr_assert_eq(sh("timeout 10 %s/nmr-bpf --root %s provider register %s --npi a "
			">%s/out 2>%s/err", env.bin, env.root, fifo, env.tmp, env.tmp), 1);
	cr_assert_eq(cli(&r, "provider register %s --npi a", fifo), 1);
	cr_assert(strstr(r.err, "a FIFO, not a regular file"), "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi a", env.tmp), 1);
	cr_assert(strstr(r.err, "a directory, not a regular file"), "%s", r.err);
	snprintf(junk, sizeof(junk), "%s/junk.o", env.tmp);
	cr_assert_eq(sh("printf 'not elf' > %s", junk), 0);
	cr_assert_eq(cli(&r, "provider register %s --npi a", junk), 1);
	cr_assert(strstr(r.err, "is not a BPF object file"), "%s", r.err);
	cr_assert_eq(cli(&r, "provider register /dev/null --npi a"), 1);
	cr_assert(strstr(r.err, "not a regular file"), "%s", r.err);
	cr_assert_str_eq(registry_snapshot(), before);
	free(before);
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* Whether libbpf 1.1 itself dies parsing buf (in a child, so the test does not). */
static bool libbpf_crashes_on(const void *buf, size_t size)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct bpf_object *obj;

		signal(SIGSEGV, SIG_DFL);	/* a sanitizer's handler would exit instead */
		signal(SIGBUS, SIG_DFL);
		libbpf_set_print(quiet);
		obj = bpf_object__open_mem(buf, size, NULL);
		bpf_object__close(obj);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status);
}

Test(inputs, an_object_that_crashes_libbpf_is_a_malformed_object_not_a_crash)
{
	unsigned char *buf = malloc(1 << 20);
	char path[128];
	struct cli_result r;
	size_t size, at = 0;
	bool found = false;
	FILE *f = fopen(bpf_obj("frame_counter"), "rb");

	cr_assert(f && buf);
	size = fread(buf, 1, 1 << 20, f);
	fclose(f);
	populate();
	/* a one-byte change that libbpf cannot take: there are such bytes in the BTF */
	for (at = 64; at < size && !found; at += 4) {
		unsigned char old = buf[at];

		buf[at] = 0xff;
		found = libbpf_crashes_on(buf, size);
		if (!found)
			buf[at] = old;
	}
	cr_assert(found, "no one-byte change crashes libbpf here: the test needs another object");
	snprintf(path, sizeof(path), "%s/damaged.bpf.o", env.tmp);
	f = fopen(path, "wb");
	cr_assert(f && fwrite(buf, 1, size, f) == size);
	fclose(f);
	cr_assert_eq(cli(&r, "provider register %s --npi a --name d", path), 1, "%s", r.err);
	cr_assert(strstr(r.err, "malformed BPF object"), "%s", r.err);
	cr_assert_eq(cli(&r, "-j provider register %s --npi a --name d", path), 1);
	cr_assert(strstr(r.out, "\"error\":") && strstr(r.out, "malformed BPF object"), "%s",
		  r.out);
	cr_assert_neq(cli(&r, "provider show d"), 0, "a malformed object was registered");
	free(buf);
}

Test(inputs, json_output_is_valid_utf8_whatever_the_input)
{
	struct cli_result r;

	populate();
	/* invalid UTF-8 echoed back in an error: replaced, not copied raw */
	cr_assert_eq(cli(&r, "-j provider show \"$(printf '\\377\\303(ok')\""), 1);
	cr_assert(strstr(r.out, "\\ufffd"), "%s", r.out);
	cr_assert_eq(sh("iconv -f UTF-8 -t UTF-8 %s/out >/dev/null 2>&1", env.tmp), 0,
		     "not UTF-8: %s", r.out);
	/* valid UTF-8 passes as it is */
	cr_assert_eq(cli(&r, "-j provider show \"$(printf 'caf\\303\\251')\""), 1);
	cr_assert(strstr(r.out, "caf\xc3\xa9"), "%s", r.out);
}

Test(inputs, a_damaged_record_is_listed_safely_and_not_acted_on)
{
	struct cli_result r;
	char id[40], key[128];
	unsigned int g[16];

	cr_assert_eq(cli(&r, "npi register a --hook xdp"), 0, "%s", r.err);
	cr_assert_eq(sscanf(r.out, "%36s", id), 1, "%s", r.out);
	/* the key: the GUID's bytes as stored (little-endian data1..3, then data4) */
	cr_assert_eq(sscanf(id, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x", &g[3],
			    &g[2], &g[1], &g[0], &g[5], &g[4], &g[7], &g[6], &g[8], &g[9], &g[10],
			    &g[11], &g[12], &g[13], &g[14], &g[15]), 16);
	key[0] = 0;
	for (int i = 0; i < 16; i++)
		snprintf(key + strlen(key), sizeof(key) - strlen(key), "%u ", g[i]);
	/* every byte of the record 'A': a name with no end, a hook out of range */
	cr_assert_eq(sh("bpftool map update pinned %s/npis key %s value $(yes 65 | head -%zu | "
			"tr '\\n' ' ')", env.root, key, sizeof(struct nmr_npi_record)), 0);
	cr_assert_eq(cli(&r, "-j npi list"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"name\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\""), "%s", r.out);
	cr_assert_eq(cli(&r, "npi show %s", id), 1);
	cr_assert(strstr(r.err, "record in the registry is damaged"), "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi %s", bpf_obj("frame_counter"), id), 1);
	cr_assert(strstr(r.err, "damaged"), "%s", r.err);
	/* and destroy still takes it all away */
	cr_assert_eq(cli(&r, "registry destroy"), 0, "%s", r.err);
	cr_assert_eq(access(env.root, F_OK), -1);
}
