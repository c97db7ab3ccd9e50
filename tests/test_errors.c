// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bad input: every command that fails says what failed and why, exits
 * non-zero, and leaves the registry exactly as it was (records and pins).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <linux/if_link.h>
#include "helpers.h"

static char *before;

static void setup(void)
{
	struct cli_result r;

	env_setup();
	cr_assert_eq(cli(&r, "npi register demo --hook xdp --id 11111111-2222-4333-8444-555555555555"),
		     0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi demo", bpf_obj("frame_counter")), 0,
		     "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi demo --dev veth0 --netns %s --name c0",
			 env.netns), 0, "%s", r.err);
	before = registry_snapshot();
}

static void teardown(void)
{
	free(before);
	before = NULL;
	env_teardown();
}

TestSuite(errors, .init = setup, .fini = teardown, .timeout = 120);

/* The command failed with "Error: <what>" containing want, and changed nothing. */
static void expect_refused(struct cli_result *r, const char *want)
{
	char *after;

	cr_assert_neq(r->status, 0, "command succeeded: %s", r->out);
	cr_assert(!strncmp(r->err, "Error: ", 7), "no 'Error: ' line: %s", r->err);
	cr_assert(strstr(r->err, want), "expected '%s' in: %s", want, r->err);
	after = registry_snapshot();
	cr_assert_str_eq(after, before, "the registry changed");
	free(after);
}

Test(errors, file_that_is_not_a_bpf_object)
{
	struct cli_result r;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/not-bpf.o", env.tmp);
	f = fopen(path, "w");
	fputs("this is not an ELF file\n", f);
	fclose(f);
	cli(&r, "provider register %s --npi demo --name x", path);
	expect_refused(&r, "is not a BPF object file");
}

Test(errors, missing_object_file)
{
	struct cli_result r;

	cli(&r, "provider register /nonexistent/x.bpf.o --npi demo");
	expect_refused(&r, "read /nonexistent/x.bpf.o: No such file or directory");
}

Test(errors, object_without_the_named_program)
{
	struct cli_result r;

	cli(&r, "provider register %s --npi demo --prog nope", test_obj("two_progs"));
	expect_refused(&r, "has no program named nope (it has: plain_pass, plain_drop)");
}

Test(errors, object_with_several_programs_and_no_prog)
{
	struct cli_result r;

	cli(&r, "provider register %s --npi demo", test_obj("two_progs"));
	expect_refused(&r, "has 2 programs (plain_pass, plain_drop); name one with --prog");
}

Test(errors, program_of_the_wrong_type_for_the_hook)
{
	struct cli_result r;

	cli(&r, "provider register %s --npi demo", test_obj("tc_ok"));
	expect_refused(&r, "program tc_ok is of type sched_cls, but npi demo is for xdp hooks");
}

Test(errors, verifier_rejection_prints_the_log_tail)
{
	struct cli_result r;

	cli(&r, "provider register %s --npi demo", test_obj("verifier_reject"));
	expect_refused(&r, "rejected by the verifier");
	cr_assert(strstr(r.err, "verifier log (last lines; -d for all of it):"), "%s", r.err);
	cr_assert(strstr(r.err, "invalid access to packet"), "%s", r.err);
	/* -d prints the whole log */
	cli(&r, "-d provider register %s --npi demo", test_obj("verifier_reject"));
	cr_assert(strstr(r.err, "verifier log:\n"), "%s", r.err);
	cr_assert(strstr(r.err, "\n0: ("), "the log from its first instruction: %s", r.err);
}

Test(errors, unknown_npi_provider_client_binding)
{
	struct cli_result r;

	cli(&r, "provider register %s --npi nosuch --name x", bpf_obj("frame_counter"));
	expect_refused(&r, "unknown npi nosuch (see: nmr-bpf npi list)");
	cli(&r, "client register --npi nosuch --dev veth0 --netns %s", env.netns);
	expect_refused(&r, "unknown npi nosuch");
	cli(&r, "provider show nosuch");
	expect_refused(&r, "unknown provider nosuch");
	cli(&r, "provider deregister nosuch");
	expect_refused(&r, "unknown provider nosuch");
	cli(&r, "client deregister nosuch");
	expect_refused(&r, "unknown client nosuch");
	cli(&r, "npi show 99999999-2222-4333-8444-555555555555");
	expect_refused(&r, "unknown npi 99999999-2222-4333-8444-555555555555");
	cli(&r, "binding show c0:nosuch");
	expect_refused(&r, "unknown binding c0:nosuch");
}

Test(errors, unknown_device)
{
	struct cli_result r;

	cli(&r, "client register --npi demo --dev nosuch0 --netns %s --name c1", env.netns);
	expect_refused(&r, "unknown device nosuch0 in network namespace");
	cli(&r, "client register --npi demo --dev veth0 --netns nosuch-netns --name c1");
	expect_refused(&r, "network namespace nosuch-netns");
}

Test(errors, duplicate_name_or_guid)
{
	struct cli_result r;

	cli(&r, "npi register demo --hook xdp");
	expect_refused(&r, "a npi named demo is registered already");
	cli(&r, "npi register other --hook xdp --id 11111111-2222-4333-8444-555555555555");
	expect_refused(&r, "a npi with id 11111111-2222-4333-8444-555555555555 is registered");
	cli(&r, "provider register %s --npi demo", bpf_obj("frame_counter"));
	expect_refused(&r, "a provider named frame_counter is registered already");
	cli(&r, "client register --npi demo --dev veth1 --netns %s --name c0", env.netns);
	expect_refused(&r, "a client named c0 is registered already");
}

Test(errors, malformed_guid)
{
	struct cli_result r;

	cli(&r, "npi register x --hook xdp --id 1234-not-a-guid");
	expect_refused(&r, "'1234-not-a-guid' is not a GUID");
	cr_assert_eq(r.status, 2, "usage errors exit 2");
	cli(&r, "provider register %s --npi demo --name y --id {zzzzzzzz-2222-4333-8444-555555555555}",
	    bpf_obj("frame_counter"));
	expect_refused(&r, "is not a GUID");
}

Test(errors, missing_argument)
{
	struct cli_result r;

	cli(&r, "npi register");
	expect_refused(&r, "missing argument");
	cr_assert(strstr(r.err, "Usage: nmr-bpf npi register NAME"), "%s", r.err);
	cli(&r, "npi register x");
	expect_refused(&r, "--hook is required");
	cli(&r, "provider register %s", bpf_obj("frame_counter"));
	expect_refused(&r, "--npi is required");
	cli(&r, "client register --npi demo");
	expect_refused(&r, "--dev is required");
	cli(&r, "provider register %s --npi", bpf_obj("frame_counter"));
	expect_refused(&r, "--npi needs a value");
	cli(&r, "provider register %s --npi demo --priority high", bpf_obj("frame_counter"));
	expect_refused(&r, "--priority: 'high' is not a number");
	cli(&r, "provider register %s --npi demo --continue-on pass,shot", bpf_obj("frame_counter"));
	expect_refused(&r, "unknown xdp verdict 'shot'");
	cli(&r, "client register --npi demo --dev veth1 --bogus");
	expect_refused(&r, "unknown option --bogus");
}

/* A program that knows nothing of nmr-bpf hands packets on like any other. */
Test(errors, continue_on_for_a_plain_program)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "provider register %s --npi demo --prog plain_pass --continue-on "
			 "pass,drop", test_obj("two_progs")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "-j provider show plain_pass"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"continue_on\":[\"drop\",\"pass\"]"), "%s", r.out);
}

Test(errors, native_xdp_unsupported_suggests_skb)
{
	struct cli_result r;

	/* the test netns's loopback has no native XDP */
	cli(&r, "client register --npi demo --dev lo --netns %s --name lo0", env.netns);
	expect_refused(&r, "does not support native XDP");
	cr_assert(strstr(r.err, "use --mode skb"), "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi demo --dev lo --netns %s --name lo0 "
			 "--mode skb", env.netns), 0, "%s", r.err);
}

Test(errors, foreign_xdp_program_is_never_clobbered)
{
	struct bpf_object *obj;
	struct cli_result r;
	int saved, ifindex, prog_fd;
	__u32 foreign;

	/* someone else's program on veth1, attached without nmr-bpf */
	obj = bpf_object__open_file(test_obj("two_progs"), NULL);
	cr_assert(obj && !bpf_object__load(obj));
	prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "plain_pass"));
	cr_assert_eq(netns_enter(&saved), 0);
	ifindex = if_nametoindex("veth1");
	cr_assert_eq(bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL), 0);
	netns_leave(saved);
	foreign = xdp_prog_on("veth1");
	bpf_object__close(obj);	/* the attachment holds the program */

	cli(&r, "client register --npi demo --dev veth1 --netns %s --name c1", env.netns);
	expect_refused(&r, "already runs XDP program plain_pass");
	cr_assert(strstr(r.err, "nmr-bpf did not attach; it is left alone"), "%s", r.err);
	cr_assert_eq(xdp_prog_on("veth1"), foreign, "the foreign program was replaced");
}

Test(errors, json_errors_go_to_stdout_as_one_document)
{
	struct cli_result r;

	cli(&r, "-j provider show nosuch");
	cr_assert_neq(r.status, 0);
	cr_assert_str_eq(r.out, "{\"error\":\"unknown provider nosuch (see: nmr-bpf provider "
			 "list)\"}\n");
	cr_assert_str_eq(r.err, "");
}
