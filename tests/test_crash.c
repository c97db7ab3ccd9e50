// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kills at every step: each mutating command is run under strace, which
 * kills it with SIGKILL at its Nth bpf() call, for every N until the command
 * completes. After each kill the next command must find the registry whole:
 * `registry check` finds nothing to report (taking the lock finished or
 * undid the killed change), an ordinary registration works, and frames
 * through the client's hook run the chain the records describe.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "helpers.h"

TestSuite(crash, .init = env_setup, .fini = env_teardown, .timeout = 600);

#define MAX_KILLS 400	/* bound: more bpf() calls than any command makes */

/* A TC NPI too, for the test of a TC client through netlink. */
static bool with_tc;

/* NPI demo, client c0 on veth0 with providers s1 and s2 (frame counters). */
static void setup(void)
{
	struct cli_result r;

	demo_npi_client("xdp", "veth0", "");
	if (with_tc)
		cr_assert_eq(cli(&r, "npi register tcn --hook tc-ingress"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name s1 --priority 1",
			 bpf_obj("frame_counter")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name s2 --priority 2",
			 bpf_obj("frame_counter")), 0, "%s", r.err);
}

/* What the next command must find after a kill at call n of cmd. */
static void after_kill(const char *cmd, int n)
{
	struct cli_result r;

	cli(&r, "registry check");
	cr_assert_eq(r.status, 0, "%s killed at bpf() call %d: registry check: %s%s", cmd, n,
		     r.out, r.err);
	if (cli(&r, "client show c0"))
		return;	/* killed deregistering c0 (finished) or destroying */
	cr_assert_eq(cli(&r, "provider register %s --npi demo --name next",
			 bpf_obj("frame_counter")), 0, "%s killed at call %d, then: %s", cmd, n,
		     r.err);
	cr_assert_eq(send_frames("veth1", 3), 3);
	cr_assert_eq(cli(&r, "-j binding show c0:next"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"packets\":3"), "%s killed at call %d: frames did not run the "
		  "recorded chain: %s", cmd, n, r.out);
	if (with_tc) {
		/* a TC client through netlink: its filter and clsact there iff it is registered */
		bool registered = !cli(&r, "client show c1");
		int filters = sh("ip netns exec %s tc filter show dev veth1 ingress | grep -q bpf",
				 env.netns);
		int qdisc = sh("ip netns exec %s tc qdisc show dev veth1 | grep -q clsact",
			       env.netns);

		cr_assert_eq(filters == 0, registered, "%s killed at call %d: client c1 %s, but a "
			     "cls_bpf filter is %s on veth1", cmd, n,
			     registered ? "registered" : "not registered",
			     filters ? "missing" : "left");
		cr_assert_eq(qdisc == 0, registered, "%s killed at call %d: the clsact nmr-bpf "
			     "made is %s", cmd, n, qdisc ? "missing" : "left");
	}
}

/* Kills cmd at each of its bpf() calls in turn, from a fresh registry each time. */
static void kill_at_every_step(const char *cmd)
{
	struct cli_result r;
	int n, status = 137;

	for (n = 1; n <= MAX_KILLS && status == 137; n++) {
		setup();
		/* LeakSanitizer cannot run under ptrace: a sanitized build checks no leaks here */
		status = sh("ASAN_OPTIONS=detect_leaks=0 strace -qq -f -o /dev/null -e trace=bpf "
			    "-e inject=bpf:signal=SIGKILL:when=%d %s/nmr-bpf --root %s %s "
			    ">/dev/null 2>&1", n, env.bin, env.root, cmd);
		after_kill(cmd, n);
		cr_assert_eq(cli(&r, "registry destroy"), 0, "%s", r.err);
		cr_assert_eq(xdp_prog_on("veth0"), 0, "destroy left a program on veth0");
	}
	cr_assert_eq(status, 0, "%s never completed (exit %d)", cmd, status);
	cr_log_info("%s: killed at each of its %d bpf() calls", cmd, n - 2);
	cr_assert_gt(n, 3, "%s made no bpf() call to kill it at", cmd);
}

Test(crash, provider_register)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "provider register %s --npi demo --name s3 --priority 0",
		 bpf_obj("frame_counter"));
	kill_at_every_step(cmd);
}

Test(crash, provider_deregister)
{
	kill_at_every_step("provider deregister s1");
}

Test(crash, provider_replace)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "provider replace s2 %s", bpf_obj("frame_counter"));
	kill_at_every_step(cmd);
}

Test(crash, client_register)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "client register --npi demo --dev veth1 --netns %s --name c1",
		 env.netns);
	kill_at_every_step(cmd);
}

Test(crash, client_deregister)
{
	kill_at_every_step("client deregister c0");
}

Test(crash, registry_destroy)
{
	kill_at_every_step("registry destroy");
}

/* A cls_bpf filter is not a link: a kill must not leave it on the device, nor its clsact. */
Test(crash, client_register_tc_netlink)
{
	char cmd[512];

	with_tc = true;
	snprintf(cmd, sizeof(cmd), "client register --npi tcn --dev veth1 --netns %s --name c1 "
		 "--tc-netlink", env.netns);
	kill_at_every_step(cmd);
}

/* The first command on a root makes the registry: a kill there leaves one the next finishes. */
Test(crash, registry_creation)
{
	struct cli_result r;
	int n, status = 137;

	for (n = 1; n <= MAX_KILLS && status == 137; n++) {
		status = sh("ASAN_OPTIONS=detect_leaks=0 strace -qq -f -o /dev/null -e trace=bpf "
			    "-e inject=bpf:signal=SIGKILL:when=%d %s/nmr-bpf --root %s "
			    "npi register first --hook xdp >/dev/null 2>&1", n, env.bin, env.root);
		cli(&r, "registry check");
		cr_assert_eq(r.status, 0, "npi register on a fresh root killed at bpf() call %d: "
			     "registry check: %s%s", n, r.out, r.err);
		cr_assert_eq(cli(&r, "npi register next --hook xdp"), 0, "killed at call %d, then: "
			     "%s", n, r.err);
		cr_assert_eq(cli(&r, "registry destroy"), 0, "%s", r.err);
	}
	cr_assert_eq(status, 0, "npi register never completed (exit %d)", status);
	cr_assert_gt(n, 3, "npi register made no bpf() call to kill it at");
}
