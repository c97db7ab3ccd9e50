// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rights and the registry as a whole: without the rights every command says so; pins and
 * directories stay private whatever the umask; registry destroy removes only what nmr-bpf
 * made, only on bpffs, and never loses a registration that races it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "helpers.h"

TestSuite(privilege, .init = env_setup_no_netns, .fini = env_teardown, .timeout = 120);

#define NOBODY "setpriv --reuid=65534 --regid=65534 --clear-groups"

Test(privilege, every_command_of_an_unprivileged_user_says_permission_denied)
{
	static const char *const commands[] = {
		"npi list", "npi show a", "npi register b --hook xdp", "npi deregister a",
		"provider list", "provider show p", "provider deregister p",
		"provider register OBJ --npi a", "provider replace p OBJ",
		"client list", "client show c", "client deregister c",
		"client register --npi a --dev lo", "binding list", "binding show x:y",
		"registry show", "registry destroy",
	};
	struct cli_result r;
	char *before, out[256], err[256];

	cr_assert_eq(cli(&r, "npi register a --hook xdp"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi a --name p", bpf_obj("frame_counter")),
		     0, "%s", r.err);
	before = registry_snapshot();
	snprintf(out, sizeof(out), "%s/out", env.tmp);
	snprintf(err, sizeof(err), "%s/err", env.tmp);
	/* the object readable by the unprivileged user: only the rights are missing */
	cr_assert_eq(sh("cp %s %s/p.bpf.o && chmod 0755 %s && chmod 0644 %s/p.bpf.o",
			bpf_obj("frame_counter"), env.tmp, env.tmp, env.tmp), 0);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char cmd[256], obj[128];
		const char *at = strstr(commands[i], "OBJ");
		int status;

		snprintf(obj, sizeof(obj), "%s/p.bpf.o", env.tmp);
		if (at)
			snprintf(cmd, sizeof(cmd), "%.*s%s%s", (int)(at - commands[i]), commands[i],
				 obj, at + 3);
		else
			snprintf(cmd, sizeof(cmd), "%s", commands[i]);
		for (int json = 0; json < 2; json++) {
			status = sh(NOBODY " %s/nmr-bpf %s --root %s %s >%s 2>%s </dev/null",
				    env.bin, json ? "-j" : "", env.root, cmd, out, err);
			cr_assert_neq(status, 0, "'%s' as nobody: exit 0", cmd);
			cr_assert_eq(sh("grep -q 'permission denied' %s %s", out, err), 0,
				     "'%s' as nobody does not say permission denied", cmd);
			cr_assert_eq(sh("grep -q 'CAP_BPF and CAP_NET_ADMIN' %s %s", out, err), 0,
				     "'%s' as nobody does not say what it needs", cmd);
		}
		/* an empty list would be the lie this test is here against */
		cr_assert_eq(sh("grep -q '^\\[\\]' %s", out), 1, "'%s': an empty list", cmd);
	}
	cr_assert_str_eq(registry_snapshot(), before, "an unprivileged command changed it");
	free(before);
}

static void check_modes(void)
{
	struct cli_result r;

	cr_assert_eq(sh("test -z \"$(find %s -type d ! -perm 0700)\"", env.root), 0,
		     "a directory that is not 0700");
	cr_assert_eq(sh("test -z \"$(find %s -type f -perm /0177)\"", env.root), 0,
		     "a pin readable by others");
	cr_assert_eq(cli(&r, "registry destroy"), 0, "%s", r.err);
}

Test(privilege, pins_are_0600_and_directories_0700_whatever_the_umask)
{
	static const char *const umasks[] = { "0000", "0277" };

	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(sh("umask %s && %s/nmr-bpf --root %s npi register a --hook xdp "
				">/dev/null && %s/nmr-bpf --root %s provider register %s --npi a "
				">/dev/null", umasks[i], env.bin, env.root, env.bin, env.root,
				bpf_obj("frame_counter")), 0, "umask %s", umasks[i]);
		cr_assert_eq(sh("test \"$(stat -c %%a %s)\" = 700", env.root), 0);
		check_modes();
	}
}

Test(privilege, destroy_refuses_a_directory_that_is_not_on_bpffs)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/notreg", env.tmp);
	cr_assert_eq(sh("mkdir -p %s/sub && touch %s/meta %s/sub/keep", dir, dir, dir), 0);
	cr_assert_eq(sh("%s/nmr-bpf --root %s registry destroy >%s/out 2>%s/err", env.bin, dir,
			env.tmp, env.tmp), 1);
	cr_assert_eq(sh("grep -q 'not a directory on a bpf filesystem' %s/err", env.tmp), 0);
	cr_assert_eq(sh("test -f %s/meta && test -f %s/sub/keep", dir, dir), 0,
		     "destroy removed an ordinary directory");
	/* nor through the environment's root */
	cr_assert_eq(sh("NMR_BPF_ROOT=%s %s/nmr-bpf registry destroy >/dev/null 2>&1", dir,
			env.bin), 1);
	cr_assert_eq(sh("test -f %s/meta", dir), 0);
}

Test(privilege, destroy_of_a_shared_root_leaves_other_tools_pins)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register a --hook xdp"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi a", bpf_obj("frame_counter")), 0, "%s",
		     r.err);
	cr_assert_eq(sh("bpftool map create %s/foreign type array key 4 value 4 entries 1 "
			"name foreign && mkdir %s/their-dir && bpftool map create "
			"%s/provider/not-a-guid type array key 4 value 4 entries 1 name x",
			env.root, env.root, env.root), 0);
	cr_assert_eq(cli(&r, "registry destroy"), 0, "%s", r.err);
	cr_assert_eq(sh("test -e %s/foreign && test -d %s/their-dir && "
			"test -e %s/provider/not-a-guid", env.root, env.root, env.root), 0,
		     "destroy removed another tool's pins");
	cr_assert_eq(sh("test ! -e %s/meta && test ! -e %s/npis && "
			"test -z \"$(ls %s/provider | grep -v not-a-guid)\"", env.root, env.root,
			env.root), 0, "destroy left nmr-bpf's own names");
	/* and what is left is not a registry any more */
	cr_assert_eq(cli(&r, "-j npi list"), 0, "%s", r.err);
	cr_assert_str_eq(r.out, "[]\n");
}

Test(privilege, a_registrar_that_waited_for_a_destroyed_registry_fails_cleanly)
{
	NMR_OPTS(nmr_provider_opts, o, .npi = "a");
	struct nmr_provider_record rec;
	struct nmr_registry *reg;
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register a --hook xdp"), 0, "%s", r.err);
	/* opened before the destroy, used after it */
	reg = open_registry();
	cr_assert_eq(cli(&r, "registry destroy"), 0, "%s", r.err);
	o.object_path = bpf_obj("frame_counter");
	cr_assert_neq(nmr_provider_register(reg, &o, &rec), 0, "registered into a destroyed "
		      "registry");
	cr_assert(strstr(nmr_last_error(), "destroyed") || strstr(nmr_last_error(), "unknown"),
		  "%s", nmr_last_error());
	nmr_registry_close(reg);
	cr_assert_eq(access(env.root, F_OK), -1, "a registration left pins behind");
}

Test(privilege, a_registration_racing_destroy_is_never_reported_and_lost)
{
	struct cli_result r;
	int raced = 0;

	for (int round = 0; round < 10; round++) {
		char path[128], guid[64] = "";
		FILE *f;

		cr_assert_eq(cli(&r, "npi register a --hook xdp"), 0, "round %d: %s", round, r.err);
		/* providers to deregister: destroy holds the lock a while */
		for (int i = 0; i < 6; i++)
			cr_assert_eq(cli(&r, "provider register %s --npi a --name p%d",
					 bpf_obj("frame_counter"), i), 0, "%s", r.err);
		/* the registration starts once destroy holds the lock (polled, bounded) */
		cr_assert_eq(sh("rm -f %s/saw; "
				"(%s/nmr-bpf --root %s registry destroy >/dev/null 2>&1) & d=$!; "
				"for i in $(seq 3000); do flock -n -E 42 -s %s true 2>/dev/null; "
				"[ $? = 42 ] && touch %s/saw && break; done; "
				"%s/nmr-bpf --root %s provider register %s --npi a --name late "
				">%s/reg.out 2>%s/reg.err; echo $? >%s/reg.rc; wait $d",
				env.tmp, env.bin, env.root, env.root, env.tmp, env.bin, env.root,
				bpf_obj("frame_counter"), env.tmp, env.tmp, env.tmp), 0);
		if (sh("test -e %s/saw", env.tmp) == 0) {
			raced++;
			snprintf(path, sizeof(path), "%s/reg.out", env.tmp);
			f = fopen(path, "r");
			if (f) {
				if (fscanf(f, "%63s", guid) != 1)
					guid[0] = 0;
				fclose(f);
			}
			if (sh("grep -qx 0 %s/reg.rc", env.tmp) == 0) {
				/* reported: it is in the registry that came after the destroy */
				cr_assert(guid[0], "round %d: exit 0 without a GUID", round);
				cr_assert_eq(cli(&r, "provider show %s", guid), 0,
					     "round %d: registration %s reported, then lost: %s",
					     round, guid, r.err);
			} else {
				cr_assert_eq(sh("grep -q '^Error: ' %s/reg.err", env.tmp), 0,
					     "round %d: failed without saying why", round);
			}
		}
		sh("%s/nmr-bpf --root %s registry destroy >/dev/null 2>&1", env.bin, env.root);
	}
	cr_assert_gt(raced, 0, "no round caught destroy holding the lock");
}
