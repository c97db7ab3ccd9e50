// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A live module whose owner and watchdog both died (killed together) is not left in the
 * registry for good: the next registrar that opens the registry removes it.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "helpers.h"
#include "nmr_internal.h"

TestSuite(orphans, .init = env_setup_no_netns, .fini = env_teardown, .timeout = 60);

static int attach(struct nmr_binding *b, void *ctx, const struct nmr_registration_instance *c)
{
	return nmr_provider_attach_client(b, NULL, NULL, NULL, NULL);
}

Test(orphans, a_module_killed_with_its_watchdog_is_removed_by_the_next_registrar)
{
	struct cli_result r;
	int pipefd[2], watchdog = 0, status;
	pid_t owner;

	cr_assert_eq(cli(&r, "npi register a --hook xdp"), 0, "%s", r.err);
	cr_assert_eq(pipe(pipefd), 0);
	owner = fork();
	cr_assert_geq(owner, 0);
	if (owner == 0) {
		NMR_OPTS(nmr_provider_opts, p, .object_path = bpf_obj("frame_counter"),
			 .npi = "a", .name = "orphan");
		NMR_OPTS(nmr_provider_module_opts, o, .provider = &p, .attach_client = attach);
		struct nmr_registry *reg;
		struct nmr_module *m;

		if (nmr_registry_open(env.root, 0, &reg) ||
		    nmr_provider_module_register(reg, &o, &m))
			_exit(1);
		if (write(pipefd[1], &reg->watchdog_pid, sizeof(int)) != sizeof(int))
			_exit(1);
		pause();	/* until killed */
		_exit(0);
	}
	close(pipefd[1]);
	cr_assert_eq(read(pipefd[0], &watchdog, sizeof(watchdog)), sizeof(watchdog),
		     "the module did not register");
	close(pipefd[0]);
	cr_assert_gt(watchdog, 0);
	cr_assert_eq(cli(&r, "provider show orphan"), 0, "%s", r.err);
	/* both at once: the watchdog is gone before it can see its owner end */
	kill(watchdog, SIGKILL);
	kill(owner, SIGKILL);
	waitpid(owner, &status, 0);
	/* the watchdog is not our child: wait (bounded) until it is gone */
	for (int i = 0; i < 500 && !kill(watchdog, 0); i++)
		usleep(10000);
	cr_assert_neq(kill(watchdog, 0), 0, "the watchdog outlived SIGKILL");
	/* any command opens the registry, sees the orphan and removes it */
	cr_assert_eq(cli(&r, "-j provider list"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider show orphan"), 1, "the orphan is still registered");
	cr_assert(strstr(r.err, "unknown provider orphan"), "%s", r.err);
}
