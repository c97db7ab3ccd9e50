// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live modules of two processes bound to each other: a live provider in a
 * child process, a live client in the test process. Both attach callbacks
 * run, each in its own process; either declines with its reason; detach,
 * its asynchronous completion and cleanup run on both sides; a provider
 * killed mid-attach, or one that never answers, leaves the client's side
 * with no binding and the registry whole.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "helpers.h"

TestSuite(live_peers, .init = env_setup, .fini = env_teardown, .timeout = 120);

/* What the child's provider does when asked. */
enum child_mode { ACCEPT, ACCEPT_DETACH_LATER, DECLINE, HANG };

/* Events the child reports, one byte each: attach, detach, cleanup, hung. */
#define EV_ATTACH	'A'
#define EV_DETACH	'D'
#define EV_CLEANUP	'C'
#define EV_HUNG		'H'
#define EV_READY	'R'
/* Commands to the child: complete the pending detach, deregister, quit. */
#define CMD_COMPLETE	'c'
#define CMD_DEREGISTER	'd'

static struct {
	enum child_mode mode;
	int events;			/* child: where it reports */
	struct nmr_binding *binding;	/* child: its provider's binding */
} child;

static void report(char ev)
{
	if (write(child.events, &ev, 1) != 1)
		_exit(3);
}

static int child_attach(struct nmr_binding *b, void *provider_context,
			const struct nmr_registration_instance *client)
{
	static int ctx = 0x9a0d;

	if (child.mode == HANG) {
		report(EV_HUNG);
		pause();	/* never answers: the test kills it here */
	}
	if (child.mode == DECLINE || strcmp(client->name, "live")) {
		nmr_binding_decline(b, "child provider declines");
		return NMR_STATUS_NOINTERFACE;
	}
	child.binding = b;
	report(EV_ATTACH);
	/* the client's context is its process's: nothing of it crosses */
	return nmr_provider_attach_client(b, &ctx, NULL, NULL, NULL);
}

static int child_detach(void *ctx)
{
	report(EV_DETACH);
	return child.mode == ACCEPT_DETACH_LATER ? NMR_STATUS_PENDING : 0;
}

static void child_cleanup(void *ctx)
{
	report(EV_CLEANUP);
}

/* A child process with a live provider "remote" of NPI p; returns its pid. */
static pid_t provider_child(enum child_mode mode, int *events, int *commands)
{
	int ev[2], cmd[2];
	char c;
	pid_t pid;

	cr_assert_eq(pipe(ev), 0);
	cr_assert_eq(pipe(cmd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		NMR_OPTS(nmr_provider_opts, p, .object_path = bpf_obj("frame_counter"),
			 .npi = "p", .name = "remote");
		NMR_OPTS(nmr_provider_module_opts, o,
			.provider = &p,
			.attach_client = child_attach, .detach_client = child_detach,
			.cleanup_binding_context = child_cleanup,
		);
		struct nmr_registry *reg = NULL;
		struct nmr_module *m;

		close(ev[0]);
		close(cmd[1]);
		child.mode = mode;
		child.events = ev[1];
		if (nmr_registry_open(env.root, 0, &reg) ||
		    nmr_provider_module_register(reg, &o, &m))
			_exit(1);
		report(EV_READY);
		while (read(cmd[0], &c, 1) == 1) {
			if (c == CMD_COMPLETE && child.binding)
				nmr_provider_detach_complete(child.binding);
			if (c == CMD_DEREGISTER) {
				nmr_module_deregister(m);
				nmr_module_wait(m);
			}
		}
		_exit(0);
	}
	env_track_child(pid);
	close(ev[1]);
	close(cmd[0]);
	*events = ev[0];
	*commands = cmd[1];
	cr_assert_eq(read(*events, &c, 1), 1, "the child did not register its provider");
	cr_assert_eq(c, EV_READY, "the child reported %c before it registered", c);
	return pid;
}

/* The next event from the child within seconds, or 0. */
static char next_event(int fd, double seconds)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c = 0;

	if (poll(&p, 1, (int)(seconds * 1000)) == 1 && read(fd, &c, 1) != 1)
		c = 0;
	return c;
}

static void command(int fd, char c)
{
	cr_assert_eq(write(fd, &c, 1), 1);
}

static void stop_child(pid_t pid, int events, int commands)
{
	close(commands);	/* its loop ends */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(events);
}

/* The client side, in this process. */
static struct {
	bool decline;
	int attached, detached, cleaned;
	void *peer_ctx;
	const struct nmr_dispatch_table *peer_dispatch;
	__u32 npi_slots;
} me;

static int client_attach(struct nmr_binding *b, void *client_context,
			 const struct nmr_registration_instance *provider)
{
	static int ctx = 0xc11e;
	int status;

	if (me.decline) {
		nmr_binding_decline(b, "test client declines");
		return NMR_STATUS_NOINTERFACE;
	}
	status = nmr_client_attach_provider(b, &ctx, &me.peer_ctx, &me.peer_dispatch);
	if (!status) {
		me.attached++;
		me.npi_slots = me.peer_dispatch ? me.peer_dispatch->count : 0;
	}
	return status;
}

static int client_detach(void *ctx)
{
	cr_assert_eq(*(int *)ctx, 0xc11e, "the client's own context came back");
	me.detached++;
	return 0;
}

static void client_cleanup(void *ctx)
{
	me.cleaned++;
}

static struct nmr_module *live_client(struct nmr_registry *reg)
{
	NMR_OPTS(nmr_client_opts, c, .npi = "p", .dev = "veth0", .netns = env.netns,
		 .name = "live");
	NMR_OPTS(nmr_client_module_opts, o,
		.client = &c,
		.attach_provider = client_attach, .detach_provider = client_detach,
		.cleanup_binding_context = client_cleanup,
	);
	struct nmr_module *m = NULL;

	cr_assert_eq(nmr_client_module_register(reg, &o, &m), 0, "%s", nmr_last_error());
	return m;
}

static const char *binding_show(void)
{
	static struct cli_result r;

	if (cli(&r, "-j binding show live:remote"))
		return "none";
	return r.out;
}

static bool binding_gone(void *arg)
{
	return !strcmp(binding_show(), "none");
}

static bool binding_bound(void *arg)
{
	return strstr(binding_show(), "\"state\":\"bound\"") != NULL;
}

static bool client_cleaned(void *arg)
{
	return __atomic_load_n(&me.cleaned, __ATOMIC_ACQUIRE) >= 1;
}

static void registry_whole(void)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "registry check"), 0, "registry check: %s%s", r.out, r.err);
}

static void setup_npi(void)
{
	struct cli_result r;

	memset(&me, 0, sizeof(me));
	cr_assert_eq(cli(&r, "npi register p --hook xdp"), 0, "%s", r.err);
}

Test(live_peers, both_accept_each_in_its_process_and_detach_on_both_sides)
{
	struct nmr_registry *reg;
	struct nmr_module *m;
	int events, commands, rx;
	pid_t pid;

	setup_npi();
	pid = provider_child(ACCEPT, &events, &commands);
	reg = open_registry();
	m = live_client(reg);
	/* the provider's attach_client ran in the child, the client's here */
	cr_assert_eq(next_event(events, 5.0), EV_ATTACH, "the child's provider was not asked");
	cr_assert_eq(me.attached, 1);
	cr_assert_null(me.peer_ctx, "a process-local context crossed the process boundary");
	cr_assert_not_null(me.peer_dispatch, "no dispatch table from the provider");
	cr_assert_geq(me.npi_slots, 1);
	cr_assert(strstr(binding_show(), "\"state\":\"bound\""), "%s", binding_show());
	/* packets run the provider's program in the client's chain */
	rx = rx_open("veth0");
	cr_assert_eq(send_frames("veth1", 4), 4);
	cr_assert_eq(rx_wait(rx, 4, 2.0), 4);
	cr_assert(strstr(binding_show(), "\"packets\":4"), "%s", binding_show());
	/* the client goes: detach and cleanup run here and in the child */
	cr_assert_eq(nmr_module_deregister(m), 0, "%s", nmr_last_error());
	cr_assert_eq(nmr_module_wait(m), 0, "%s", nmr_last_error());
	cr_assert_eq(me.detached, 1);
	cr_assert_eq(me.cleaned, 1);
	cr_assert_eq(next_event(events, 5.0), EV_DETACH, "the child's provider was not detached");
	cr_assert_eq(next_event(events, 5.0), EV_CLEANUP);
	cr_assert_str_eq(binding_show(), "none");
	registry_whole();
	nmr_registry_close(reg);
	stop_child(pid, events, commands);
}

Test(live_peers, the_client_declines_in_its_process)
{
	struct nmr_registry *reg;
	int events, commands;
	pid_t pid;

	setup_npi();
	pid = provider_child(ACCEPT, &events, &commands);
	me.decline = true;
	reg = open_registry();
	live_client(reg);
	cr_assert(strstr(binding_show(), "\"state\":\"declined\""), "%s", binding_show());
	cr_assert(strstr(binding_show(), "test client declines"), "%s", binding_show());
	/* NMR asks the client first: declined there, the provider was never asked */
	cr_assert_eq(next_event(events, 0.2), 0, "the provider was asked after the client declined");
	registry_whole();
	nmr_registry_close(reg);
	stop_child(pid, events, commands);
}

Test(live_peers, the_provider_declines_in_its_process_with_its_reason)
{
	struct nmr_registry *reg;
	int events, commands;
	pid_t pid;

	setup_npi();
	pid = provider_child(DECLINE, &events, &commands);
	reg = open_registry();
	live_client(reg);
	cr_assert_eq(me.attached, 0);
	cr_assert(strstr(binding_show(), "\"state\":\"declined\""), "%s", binding_show());
	cr_assert(strstr(binding_show(), "child provider declines"), "%s", binding_show());
	registry_whole();
	nmr_registry_close(reg);
	stop_child(pid, events, commands);
}

Test(live_peers, the_provider_meets_a_client_registered_before_it)
{
	struct nmr_registry *reg;
	int events, commands;
	pid_t pid;

	setup_npi();
	reg = open_registry();
	live_client(reg);
	/* this process's watcher asks the child's provider once it is there */
	pid = provider_child(ACCEPT, &events, &commands);
	cr_assert_eq(next_event(events, 5.0), EV_ATTACH, "the child's provider was not asked");
	cr_assert(poll_until(binding_bound, NULL, 5.0), "%s", binding_show());
	cr_assert_eq(me.attached, 1);
	nmr_registry_close(reg);
	stop_child(pid, events, commands);
}

Test(live_peers, an_asynchronous_detach_completes_in_the_providers_process)
{
	struct nmr_registry *reg;
	struct nmr_module *m;
	int events, commands;
	pid_t pid;

	setup_npi();
	pid = provider_child(ACCEPT_DETACH_LATER, &events, &commands);
	reg = open_registry();
	m = live_client(reg);
	cr_assert_eq(next_event(events, 5.0), EV_ATTACH);
	cr_assert_eq(nmr_module_deregister(m), 0, "%s", nmr_last_error());
	cr_assert_eq(nmr_module_wait(m), 0, "%s", nmr_last_error());
	cr_assert_eq(next_event(events, 5.0), EV_DETACH);
	/* pending: no cleanup until the child says its detach is complete */
	cr_assert_eq(next_event(events, 0.3), 0, "cleaned up before the detach completed");
	command(commands, CMD_COMPLETE);
	cr_assert_eq(next_event(events, 5.0), EV_CLEANUP);
	nmr_registry_close(reg);
	stop_child(pid, events, commands);
}

Test(live_peers, the_providers_process_deregistering_detaches_the_client_here)
{
	struct nmr_registry *reg;
	int events, commands;
	pid_t pid;

	setup_npi();
	pid = provider_child(ACCEPT, &events, &commands);
	reg = open_registry();
	live_client(reg);
	cr_assert_eq(next_event(events, 5.0), EV_ATTACH);
	command(commands, CMD_DEREGISTER);
	cr_assert_eq(next_event(events, 5.0), EV_DETACH);
	cr_assert_eq(next_event(events, 5.0), EV_CLEANUP);
	/* this process's watcher sees the binding gone and detaches the client's side */
	cr_assert(poll_until(binding_gone, NULL, 5.0), "%s", binding_show());
	cr_assert(poll_until(client_cleaned, NULL, 5.0), "the client's side was not cleaned up");
	cr_assert_eq(me.detached, 1);
	registry_whole();
	nmr_registry_close(reg);
	stop_child(pid, events, commands);
}

struct killer {
	int events;
	pid_t pid;
	bool killed;
};

/* Kills the child once its provider is inside attach_client. */
static void *kill_when_hung(void *arg)
{
	struct killer *k = arg;

	if (next_event(k->events, 10.0) == EV_HUNG) {
		kill(k->pid, SIGKILL);
		k->killed = true;
	}
	return NULL;
}

Test(live_peers, a_provider_killed_mid_attach_leaves_no_binding)
{
	struct nmr_registry *reg;
	struct killer k;
	pthread_t t;
	int events, commands;
	pid_t pid;

	setup_npi();
	pid = provider_child(HANG, &events, &commands);
	k = (struct killer){ .events = events, .pid = pid };
	cr_assert_eq(pthread_create(&t, NULL, kill_when_hung, &k), 0);
	reg = open_registry();
	live_client(reg);	/* returns once the peer is seen to have ended */
	pthread_join(t, NULL);
	cr_assert(k.killed, "the child's provider was not asked");
	waitpid(pid, NULL, 0);
	cr_assert_eq(me.attached, 0);
	/* declined, then gone with the dead process's provider (its watchdog) */
	cr_assert(poll_until(binding_gone, NULL, 10.0), "%s", binding_show());
	registry_whole();
	nmr_registry_close(reg);
	close(commands);
	close(events);
}

Test(live_peers, a_peer_that_never_answers_is_declined_after_the_timeout)
{
	struct nmr_registry *reg;
	struct timespec t0, t1;
	int events, commands;
	double took;
	pid_t pid;

	setup_npi();
	pid = provider_child(ACCEPT, &events, &commands);
	kill(pid, SIGSTOP);	/* alive, but answers nothing */
	setenv("NMR_PEER_TIMEOUT_MS", "400", 1);
	reg = open_registry();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	live_client(reg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unsetenv("NMR_PEER_TIMEOUT_MS");
	took = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_geq(took, 0.4, "declined before the timeout (%.3f s)", took);
	cr_assert_lt(took, 5.0, "the wait was not bounded by the timeout (%.3f s)", took);
	cr_assert(strstr(binding_show(), "peer did not answer"), "%s", binding_show());
	/* woken, the provider finds no offer to answer any more */
	kill(pid, SIGCONT);
	cr_assert_eq(next_event(events, 0.5), 0, "the provider attached after the decline");
	cr_assert(strstr(binding_show(), "\"state\":\"declined\""), "%s", binding_show());
	registry_whole();
	nmr_registry_close(reg);
	stop_child(pid, events, commands);
}
