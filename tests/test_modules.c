// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * NMR semantics through libnmrbpf's live modules: attach callbacks and their
 * registration instances, declines, attach failures, binding contexts and
 * dispatch tables on both sides (and in BPF), asynchronous detach,
 * deregister-and-wait under live frames, peers from other processes, and a
 * killed owner's cleanup. Declarative policies of each kind at the end.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "helpers.h"
#include "nmr_internal.h"	/* nmr_prog_id */

TestSuite(modules, .init = env_setup, .fini = env_teardown, .timeout = 180);

/* What the callbacks saw. */
static struct {
	int attach_provider, attach_client, detach, cleanup, pending;
	bool decline_client, decline_provider, detach_pending;
	struct nmr_registration_instance seen;	/* the last peer */
	char seen_name[64], seen_dev[16];
	/* copies: the instance's pointers are valid only during the callback */
	struct nmr_provider_characteristics seen_pchars;
	struct nmr_client_characteristics seen_cchars;
	struct nmr_binding *binding;
	void *peer_ctx;
	const struct nmr_dispatch_table *peer_dispatch;
	double attach_time;
	__u8 stamp_id;
} cb;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void remember(const struct nmr_registration_instance *peer)
{
	cb.seen = *peer;
	if (peer->provider_characteristics)
		cb.seen_pchars = *peer->provider_characteristics;
	if (peer->client_characteristics)
		cb.seen_cchars = *peer->client_characteristics;
	snprintf(cb.seen_name, sizeof(cb.seen_name), "%s", peer->name);
	snprintf(cb.seen_dev, sizeof(cb.seen_dev), "%s", peer->dev ? peer->dev : "");
}

struct ctx {
	int magic;
	struct nmr_binding *binding;
};

static int client_attach(struct nmr_binding *b, void *client_context,
			 const struct nmr_registration_instance *provider)
{
	struct ctx *c;
	int status;

	cb.attach_provider++;
	cb.attach_time = now();
	remember(provider);
	if (cb.decline_client) {
		nmr_binding_decline(b, "test client declines");
		return NMR_STATUS_NOINTERFACE;
	}
	c = calloc(1, sizeof(*c));
	c->magic = 0xc11e;
	c->binding = b;
	status = nmr_client_attach_provider(b, c, &cb.peer_ctx, &cb.peer_dispatch);
	if (status) {
		free(c);	/* the callback's allocations go on failure */
		cb.cleanup++;
		return status;
	}
	cb.binding = b;
	if (cb.stamp_id) {
		__u8 data[2] = { cb.stamp_id, 0 };

		cr_assert(nmr_binding_record(b));
		cr_assert_eq(nmr_binding_write_context(b, data, sizeof(data)), 0, "%s",
			     nmr_last_error());
	}
	return 0;
}

static int client_detach(void *ctx)
{
	cb.detach++;
	cr_assert_eq(((struct ctx *)ctx)->magic, 0xc11e);
	if (cb.detach_pending) {
		cb.pending++;
		return NMR_STATUS_PENDING;
	}
	return 0;
}

static void cleanup(void *ctx)
{
	cb.cleanup++;
	free(ctx);
}

static int provider_attach(struct nmr_binding *b, void *provider_context,
			   const struct nmr_registration_instance *client)
{
	struct ctx *p;

	cb.attach_client++;
	remember(client);
	if (cb.decline_provider) {
		nmr_binding_decline(b, "test provider declines");
		return NMR_STATUS_NOINTERFACE;
	}
	p = calloc(1, sizeof(*p));
	p->magic = 0x9a0d;
	p->binding = b;
	return nmr_provider_attach_client(b, p, NULL, &cb.peer_ctx, &cb.peer_dispatch);
}

static int provider_detach(void *ctx)
{
	cb.detach++;
	cr_assert_eq(((struct ctx *)ctx)->magic, 0x9a0d);
	return 0;
}

static struct nmr_module *client_module(struct nmr_registry *reg, const char *dev,
					const char *npi, const struct nmr_dispatch_table *d)
{
	NMR_OPTS(nmr_client_opts, c, .npi = npi, .dev = dev, .netns = env.netns, .name = "live");
	NMR_OPTS(nmr_client_module_opts, o,
		.client = &c,
		.attach_provider = client_attach, .detach_provider = client_detach,
		.cleanup_binding_context = cleanup, .dispatch = d,
	);
	struct nmr_module *m = NULL;

	cr_assert_eq(nmr_client_module_register(reg, &o, &m), 0, "%s", nmr_last_error());
	return m;
}

static struct nmr_module *provider_module(struct nmr_registry *reg, const char *obj,
					  const char *npi, const char *name)
{
	NMR_OPTS(nmr_provider_opts, p, .object_path = obj, .npi = npi, .name = name);
	NMR_OPTS(nmr_provider_module_opts, o,
		.provider = &p,
		.attach_client = provider_attach, .detach_client = provider_detach,
		.cleanup_binding_context = cleanup,
	);
	struct nmr_module *m = NULL;

	cr_assert_eq(nmr_provider_module_register(reg, &o, &m), 0, "%s", nmr_last_error());
	return m;
}

static void npi(const char *name)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register %s --hook xdp", name), 0, "%s", r.err);
}

static const char *binding_state(const char *binding)
{
	static char out[256];
	struct cli_result r;

	if (cli(&r, "-j binding show %s", binding))
		return "none";
	snprintf(out, sizeof(out), "%s", strstr(r.out, "\"state\":\"bound\"") ? "bound" :
		 strstr(r.out, "\"state\":\"declined\"") ? strstr(r.out, "\"reason\"") : "?");
	return out;
}

struct met {
	struct nmr_registry *reg;
	__u64 gen;
};

static bool watcher_met(void *arg)
{
	struct met *m = arg;

	return __atomic_load_n(&m->reg->seen_generation, __ATOMIC_ACQUIRE) >= m->gen;
}

/*
 * Waits (bounded) until this process's watcher thread has met every change
 * made so far by any process, and finished meeting them (its pass holds the
 * registry's lock): what it would do about them is done.
 */
static void watcher_caught_up(struct nmr_registry *reg)
{
	struct met m = { .reg = reg };

	cr_assert_eq(nmr_registry_generation(reg, &m.gen), 0, "%s", nmr_last_error());
	cr_assert(poll_until(watcher_met, &m, 2.0),
		  "the watcher did not meet generation %llu within 2 s",
		  (unsigned long long)m.gen);
	cr_assert_eq(nmr_lock(reg, false), 0, "%s", nmr_last_error());
	nmr_unlock(reg);
}

Test(modules, only_providers_of_the_same_npi_are_attached)
{
	struct nmr_registry *reg = open_registry();
	struct cli_result r;

	npi("a");
	npi("b");
	client_module(reg, "veth0", "a", NULL);
	cr_assert_eq(cli(&r, "provider register %s --npi b --name pb", bpf_obj("frame_counter")), 0);
	cr_assert_eq(cli(&r, "provider register %s --npi a --name pa", bpf_obj("frame_counter")), 0);
	/* the watcher thread attaches what other processes registered: pa, not pb */
	watcher_caught_up(reg);
	cr_assert_eq(cb.attach_provider, 1);
	cr_assert_str_eq(cb.seen_name, "pa");
	cr_assert_str_eq(binding_state("live:pa"), "bound");
	cr_assert_str_eq(binding_state("live:pb"), "none");
	nmr_registry_close(reg);
}

Test(modules, a_module_registered_for_two_npis_serves_both)
{
	struct nmr_registry *reg = open_registry();
	struct cli_result r;

	npi("a");
	npi("b");
	cr_assert_eq(cli(&r, "client register --npi a --dev veth0 --netns %s --name ca", env.netns), 0);
	cr_assert_eq(cli(&r, "client register --npi b --dev veth1 --netns %s --name cb", env.netns), 0);
	/* the same program, registered once per NPI, as NMR modules do */
	provider_module(reg, bpf_obj("frame_counter"), "a", "fa");
	provider_module(reg, bpf_obj("frame_counter"), "b", "fb");
	cr_assert_eq(cb.attach_client, 2);
	cr_assert_str_eq(binding_state("ca:fa"), "bound");
	cr_assert_str_eq(binding_state("cb:fb"), "bound");
	cr_assert_str_eq(binding_state("ca:fb"), "none");
	nmr_registry_close(reg);
}

Test(modules, client_first_then_provider_first)
{
	struct nmr_registry *reg = open_registry();
	NMR_OPTS(nmr_provider_opts, p, .object_path = bpf_obj("frame_counter"), .npi = "a",
				       .name = "later");
	struct cli_result r;

	npi("a");
	/* provider first: attach_provider runs during the client's registration */
	cr_assert_eq(cli(&r, "provider register %s --npi a --name earlier",
			 bpf_obj("frame_counter")), 0);
	client_module(reg, "veth0", "a", NULL);
	cr_assert_eq(cb.attach_provider, 1);
	cr_assert_str_eq(cb.seen_name, "earlier");
	/* client first: a provider registered later in this process is attached at once */
	cr_assert_eq(nmr_provider_register(reg, &p, NULL), 0, "%s", nmr_last_error());
	cr_assert_eq(cb.attach_provider, 2);
	cr_assert_str_eq(cb.seen_name, "later");
	cr_assert_str_eq(binding_state("live:earlier"), "bound");
	cr_assert_str_eq(binding_state("live:later"), "bound");
	nmr_registry_close(reg);
}

Test(modules, fan_out_to_every_existing_peer)
{
	struct nmr_registry *reg = open_registry();
	struct cli_result r;

	npi("a");
	for (int i = 0; i < 3; i++) {
		char dev[8], peer[8];

		snprintf(dev, sizeof(dev), "fan%d", i);
		snprintf(peer, sizeof(peer), "fan%dp", i);
		cr_assert_eq(veth_add(env.netns, dev, peer, false), 0);
		cr_assert_eq(cli(&r, "client register --npi a --dev fan%d --netns %s --name c%d", i,
				 env.netns, i), 0, "%s", r.err);
	}
	provider_module(reg, bpf_obj("frame_counter"), "a", "p");
	cr_assert_eq(cb.attach_client, 3);
	cr_assert_eq(cli(&r, "-j binding list --provider p"), 0);
	cr_assert_eq(strstr(r.out, "declined"), NULL, "%s", r.out);
	for (int i = 0; i < 3; i++) {
		char b[16];

		snprintf(b, sizeof(b), "c%d:p", i);
		cr_assert_str_eq(binding_state(b), "bound");
	}
	nmr_registry_close(reg);
}

Test(modules, registration_instances_carry_ids_numbers_interfaces_and_characteristics)
{
	struct nmr_registry *reg = open_registry();
	struct nmr_provider_record p;
	struct nmr_client_record c;
	struct nmr_npi_record n;
	struct cli_result r;

	npi("a");
	cr_assert_eq(cli(&r, "provider register %s --npi a --name v --version 2-5 --af inet "
			 "--tag fast", bpf_obj("frame_counter")), 0, "%s", r.err);
	client_module(reg, "veth0", "a", NULL);
	cr_assert_eq(nmr_provider_find(reg, "v", &p), 0);
	cr_assert_eq(nmr_npi_find(reg, "a", &n), 0);
	cr_assert_eq(cb.seen.kind, NMR_MODULE_PROVIDER);
	cr_assert(nmr_guid_equal(&cb.seen.module_id, &p.id));
	cr_assert(nmr_guid_equal(&cb.seen.npi_id, &n.id));
	cr_assert_eq(cb.seen.number, p.number);
	cr_assert_eq(cb.seen_pchars.version_min, 2);
	cr_assert_eq(cb.seen_pchars.version_max, 5);
	cr_assert_eq(cb.seen_pchars.af_mask, NMR_AF_INET);
	cr_assert_str_eq(cb.seen_pchars.tags[0], "fast");

	/* and a provider module sees a client as its interface */
	npi("b");
	cr_assert_eq(cli(&r, "client register --npi b --dev veth1 --netns %s --name c1 "
			 "--require-version 1 --af inet6", env.netns), 0, "%s", r.err);
	provider_module(reg, bpf_obj("frame_counter"), "b", "pm");
	cr_assert_eq(nmr_client_find(reg, "c1", &c), 0);
	cr_assert_eq(cb.seen.kind, NMR_MODULE_CLIENT);
	cr_assert(nmr_guid_equal(&cb.seen.module_id, &c.id));
	cr_assert_eq(cb.seen.ifindex, c.ifindex);
	cr_assert_neq(cb.seen.netns_ino, 0);
	cr_assert_eq(cb.seen.netns_ino, c.netns_ino);
	cr_assert_str_eq(cb.seen_dev, "veth1");
	cr_assert_eq(cb.seen_cchars.require_version, 1);
	cr_assert_eq(cb.seen_cchars.af_mask, NMR_AF_INET6);
	nmr_registry_close(reg);
}

Test(modules, a_client_declines_and_the_reason_is_visible)
{
	struct nmr_registry *reg = open_registry();
	struct cli_result r;

	npi("a");
	cr_assert_eq(cli(&r, "provider register %s --npi a --name p", bpf_obj("frame_counter")), 0);
	cb.decline_client = true;
	client_module(reg, "veth0", "a", NULL);
	cr_assert_eq(cb.attach_provider, 1);
	cr_assert(strstr(binding_state("live:p"), "test client declines"), "%s",
		  binding_state("live:p"));
	cr_assert_eq(cli(&r, "client show live"), 0);
	cr_assert(strstr(r.out, "declined:     p: test client declines"), "%s", r.out);
	cr_assert_eq(cb.cleanup, 0);
	nmr_registry_close(reg);
}

Test(modules, a_provider_declines_and_the_reason_is_visible)
{
	struct nmr_registry *reg = open_registry();
	struct cli_result r;

	npi("a");
	cr_assert_eq(cli(&r, "client register --npi a --dev veth0 --netns %s --name c", env.netns), 0);
	cb.decline_provider = true;
	provider_module(reg, bpf_obj("frame_counter"), "a", "p");
	cr_assert_eq(cb.attach_client, 1);
	cr_assert(strstr(binding_state("c:p"), "test provider declines"), "%s",
		  binding_state("c:p"));
	/* both live in one process: the client asks, the provider declines */
	client_module(reg, "veth1", "a", NULL);
	cr_assert_eq(cb.attach_provider, 1);
	cr_assert_eq(cb.attach_client, 2);
	cr_assert(strstr(binding_state("live:p"), "test provider declines"));
	cr_assert_eq(cb.cleanup, 1, "the client's context was not freed after the decline");
	nmr_registry_close(reg);
}

Test(modules, a_failed_attach_cleans_up_both_sides_and_binds_nothing)
{
	struct nmr_registry *reg = open_registry();
	__u32 chain;

	npi("a");
	client_module(reg, "veth0", "a", NULL);		/* a plain xdp dispatcher */
	chain = chain_table_prog("live");
	/* an xdp.frags provider cannot join it: the bind fails after both sides accepted */
	provider_module(reg, test_obj("frags_pass"), "a", "fr");
	cr_assert_eq(cb.attach_provider, 1);
	cr_assert_eq(cb.attach_client, 1);
	cr_assert_eq(cb.cleanup, 2, "contexts freed: %d of 2", cb.cleanup);
	cr_assert(strstr(binding_state("live:fr"), "attach failed"), "%s", binding_state("live:fr"));
	cr_assert_eq(sh("test -z \"$(find %s/binding -mindepth 1)\"", env.root), 0,
		     "a binding was left pinned");
	cr_assert_eq(chain_table_prog("live"), chain, "the failed attach changed the chain");
	nmr_registry_close(reg);
}

Test(modules, contexts_and_dispatch_tables_reach_both_sides_and_bpf)
{
	const __u8 want[] = { STAMP(1, 9), 0x3f };
	struct nmr_dispatch_table client_table = { .count = 1 };
	struct nmr_registry *reg = open_registry();
	struct bpf_object *def;
	struct ctx *provider_ctx;
	unsigned char frame[256];
	int rx;

	npi("a");
	def = bpf_object__open_file(test_obj("default_mark"), NULL);
	cr_assert(def && !bpf_object__load(def));
	client_table.prog_fds[0] = bpf_program__fd(bpf_object__find_program_by_name(def,
										   "default_mark"));
	provider_module(reg, test_obj("stamp"), "a", "st");
	cb.stamp_id = 9;
	client_module(reg, "veth0", "a", &client_table);

	/* the provider got the client's context and table: the default action */
	cr_assert_eq(cb.attach_client, 1);
	cr_assert_eq(cb.attach_provider, 1);
	/* the client got the provider's context and table: its instance */
	provider_ctx = cb.peer_ctx;
	cr_assert(provider_ctx && provider_ctx->magic == 0x9a0d);
	cr_assert_eq(cb.peer_dispatch->count, 1);
	cr_assert_eq(nmr_prog_id(cb.peer_dispatch->prog_fds[0]),
		     nmr_binding_record(cb.binding)->prog_id);

	/* BPF: the stamp comes from the binding context the client wrote; 0x3f from its default */
	rx = rx_open("veth0");
	cr_assert_eq(send_frames("veth1", 5), 5);
	for (int i = 0; i < 5; i++) {
		cr_assert_gt(rx_next_wait(rx, frame, sizeof(frame), 2.0), TRACE_OFF + 2,
			     "frame %d", i);
		cr_assert_eq(frame[TRACE_OFF], want[0]);
		cr_assert_eq(frame[TRACE_OFF + 1], want[1], "the client's default action did not run");
	}
	bpf_object__close(def);
	nmr_registry_close(reg);
}

/* A detach the client completes 300 ms later: the delay is what the test is about. */
static void *complete_later(void *arg)
{
	usleep(300 * 1000);
	nmr_client_detach_complete(arg);
	return NULL;
}

Test(modules, detach_may_complete_later_and_cleanup_waits_for_it)
{
	struct nmr_registry *reg = open_registry();
	struct nmr_module *m;
	struct cli_result r;
	pthread_t t;
	double start;

	npi("a");
	cr_assert_eq(cli(&r, "provider register %s --npi a --name p", bpf_obj("frame_counter")), 0);
	m = client_module(reg, "veth0", "a", NULL);
	cr_assert_eq(cb.attach_provider, 1);
	cb.detach_pending = true;

	cr_assert_eq(nmr_module_deregister(m), 0, "%s", nmr_last_error());
	cr_assert_eq(cb.detach, 1);
	cr_assert_eq(cb.pending, 1);
	cr_assert_eq(cb.cleanup, 0, "cleanup ran before detach completed");
	cr_assert_eq(xdp_prog_on("veth0"), 0, "deregistered, but the dispatcher is attached");
	pthread_create(&t, NULL, complete_later, cb.binding);
	start = now();
	cr_assert_eq(nmr_module_wait(m), 0);
	cr_assert_geq(now() - start, 0.25, "the wait did not wait for the pending detach");
	cr_assert_eq(cb.cleanup, 1);
	pthread_join(t, NULL);
	nmr_registry_close(reg);
}

struct flood {
	atomic_bool stop;
	atomic_long sent;
};

static void *flood(void *arg)
{
	struct flood *f = arg;

	while (!atomic_load(&f->stop) && f->sent < 2000000)
		f->sent += send_frames("veth1", 64);
	return NULL;
}

struct counted {
	int map;
	__u64 n;
};

static bool provider_counted(void *arg)
{
	struct counted *c = arg;
	__u32 zero = 0;

	return !bpf_map_lookup_elem(c->map, &zero, &c->n) && c->n > 0;
}

struct taken {
	long long want;
};

static bool veth0_took(void *arg)
{
	return peer_rx_frames(env.netns, "veth1") >= ((struct taken *)arg)->want;
}

Test(modules, deregister_and_wait_under_live_frames_leaves_no_frame_to_the_provider)
{
	struct nmr_registry *reg = open_registry();
	struct flood f = { .stop = false };
	struct nmr_module *m;
	struct cli_result r;
	struct taken after;
	pthread_t t;
	__u32 zero = 0;
	__u64 count[2], later;
	int map;

	npi("a");
	cr_assert_eq(cli(&r, "client register --npi a --dev veth0 --netns %s --name c",
			 env.netns), 0);
	m = provider_module(reg, bpf_obj("frame_counter"), "a", "p");
	map = bpf_obj_get(provider_map("p", "frame_counts"));
	cr_assert_geq(map, 0);
	pthread_create(&t, NULL, flood, &f);
	/* frames run the provider ... */
	cr_assert(poll_until(provider_counted, &(struct counted){ .map = map }, 5.0),
		  "no frame reached the provider");
	cr_assert_eq(nmr_module_deregister(m), 0, "%s", nmr_last_error());
	cr_assert_eq(nmr_module_wait(m), 0);
	/* ... and from here on none does */
	cr_assert_eq(bpf_map_lookup_elem(map, &zero, count), 0);
	/* 1,000 more frames through veth0's hook since, then the count again */
	after = (struct taken){ .want = peer_rx_frames(env.netns, "veth1") + 1000 };
	cr_assert_geq(after.want, 1000, "cannot read veth0's counters");
	cr_assert(poll_until(veth0_took, &after, 10.0), "the flood stopped");
	cr_assert_eq(bpf_map_lookup_elem(map, &zero, &later), 0);
	atomic_store(&f.stop, true);
	pthread_join(t, NULL);
	cr_assert_gt(count[0], 0, "the provider saw no frame before");
	cr_assert_eq(later, count[0], "%llu frames reached the provider after the wait",
		     (unsigned long long)(later - count[0]));
	cr_assert_gt(f.sent, 0);
	close(map);
	nmr_registry_close(reg);
}

Test(modules, a_peer_from_another_process_is_attached_within_100_ms)
{
	struct nmr_registry *reg = open_registry();
	struct cli_result r;
	double done;

	npi("a");
	client_module(reg, "veth0", "a", NULL);
	cr_assert_eq(cb.attach_provider, 0);
	cr_assert_eq(cli(&r, "provider register %s --npi a --name p", bpf_obj("frame_counter")), 0);
	done = now();
	for (int i = 0; i < 200 && !cb.attach_provider; i++)
		usleep(1000);
	cr_assert_eq(cb.attach_provider, 1, "no callback");
	cr_log_info("callback %.1f ms after the registering process returned",
		    (cb.attach_time - done) * 1e3);
	cr_assert_lt(cb.attach_time - done, 0.1);
	cr_assert_str_eq(binding_state("live:p"), "bound");
	nmr_registry_close(reg);
}

/*
 * A child process registers a live provider (and the test kills it): returns
 * its pid, and the pid of its watchdog into *watchdog.
 */
static pid_t live_provider_in_child(bool persistent, int *watchdog)
{
	int ready[2];
	pid_t pid;

	cr_assert_eq(pipe(ready), 0);
	pid = fork();
	if (pid == 0) {
		struct nmr_registry *reg = NULL;
		NMR_OPTS(nmr_provider_opts, p, .object_path = bpf_obj("frame_counter"), .npi = "a",
			 .name = "mortal");
		NMR_OPTS(nmr_provider_module_opts, o,
			.provider = &p,
			.attach_client = provider_attach, .persistent = persistent,
		);
		struct nmr_module *m;

		if (nmr_registry_open(env.root, 0, &reg) ||
		    nmr_provider_module_register(reg, &o, &m))
			_exit(1);
		if (write(ready[1], &reg->watchdog_pid, sizeof(int)) != sizeof(int))
			_exit(1);
		pause();
		_exit(0);
	}
	env_track_child(pid);
	cr_assert_eq(read(ready[0], watchdog, sizeof(int)), sizeof(int),
		     "the child did not register");
	cr_assert_gt(*watchdog, 0);
	close(ready[0]);
	close(ready[1]);
	return pid;
}

static bool process_gone(void *pid)
{
	return kill(*(int *)pid, 0) != 0;
}

Test(modules, a_killed_live_module_is_deregistered)
{
	struct cli_result r;
	pid_t pid;
	int rx, watchdog;

	npi("a");
	cr_assert_eq(cli(&r, "client register --npi a --dev veth0 --netns %s --name c",
			 env.netns), 0);
	pid = live_provider_in_child(false, &watchdog);
	cr_assert_str_eq(binding_state("c:mortal"), "bound");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* its watchdog saw it end, deregistered its modules, and ended */
	cr_assert(poll_until(process_gone, &watchdog, 10.0), "the watchdog outlived its owner");
	cr_assert_neq(cli(&r, "provider show mortal"), 0,
		      "the dead process's provider is still registered");
	cr_assert_str_eq(binding_state("c:mortal"), "none");
	cr_assert_eq(sh("test -z \"$(find %s/binding %s/provider -mindepth 1)\"", env.root,
			env.root), 0, "pins left");
	/* its program runs no more: frames pass through the empty chain */
	rx = rx_open("veth0");
	cr_assert_eq(send_frames("veth1", 5), 5);
	cr_assert_eq(rx_wait(rx, 5, 2.0), 5);
}


Test(modules, a_persistent_live_module_outlives_its_process)
{
	struct cli_result r;
	int watchdog;
	pid_t pid;

	npi("a");
	cr_assert_eq(cli(&r, "client register --npi a --dev veth0 --netns %s --name c",
			 env.netns), 0);
	pid = live_provider_in_child(true, &watchdog);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* its watchdog saw it end and did all it does (it keeps persistent modules), then ended */
	cr_assert(poll_until(process_gone, &watchdog, 10.0), "the watchdog outlived its owner");
	cr_assert_eq(cli(&r, "provider show mortal"), 0, "a persistent module was removed");
	cr_assert_str_eq(binding_state("c:mortal"), "bound");
	cr_assert_eq(send_frames("veth1", 4), 4);
	cr_assert_eq(pinned_u64(provider_map("mortal", "frame_counts"), 0), 4);
}

/* ---- declarative modules: each policy ---- */

static void declarative(const char *client_args, const char *provider_args, const char *want)
{
	struct cli_result r;
	const char *state;

	cr_assert_eq(cli(&r, "client register --npi a --dev veth0 --netns %s --name c %s",
			 env.netns, client_args), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi a --name p1 %s", bpf_obj("frame_counter"),
			 provider_args), 0, "%s", r.err);
	state = binding_state("c:p1");
	cr_assert(strstr(state, want), "c:p1 is '%s', expected '%s'", state, want);
}

Test(modules, declarative_version)
{
	npi("a");
	declarative("--require-version 3", "--version 1-2",
		    "version: provider implements 1-2, client requires 3");
}

Test(modules, declarative_address_families)
{
	npi("a");
	declarative("--af inet6", "--af inet", "address families");
}

Test(modules, declarative_tags)
{
	struct cli_result r;

	npi("a");
	declarative("--require-tag ddos", "--tag fast", "lacks required tag 'ddos'");
	cr_assert_eq(cli(&r, "provider register %s --npi a --name p2 --tag ddos --tag fast",
			 bpf_obj("frame_counter")), 0);
	cr_assert_str_eq(binding_state("c:p2"), "bound");
}

Test(modules, declarative_exclusive_and_max_providers)
{
	struct cli_result r;

	npi("a");
	declarative("--exclusive", "", "bound");
	cr_assert_eq(cli(&r, "provider register %s --npi a --name p2", bpf_obj("frame_counter")), 0);
	cr_assert(strstr(binding_state("c:p2"), "exclusive"));
	cr_assert_eq(cli(&r, "client register --npi a --dev veth1 --netns %s --name m "
			 "--max-providers 1", env.netns), 0);
	cr_assert_str_eq(binding_state("m:p1"), "bound");
	cr_assert(strstr(binding_state("m:p2"), "at most 1 providers"));
}

/* ---- examples/version_client: a client module in its own process ---- */

Test(modules, example_client_declines_providers_by_version)
{
	struct cli_result r;
	char log[160];
	pid_t pid;
	int ok = 0;

	npi("a");
	snprintf(log, sizeof(log), "%s/example.log", env.tmp);
	pid = fork();
	if (pid == 0) {
		char bin[300];

		snprintf(bin, sizeof(bin), "%s/examples/version_client", env.bin);
		if (!freopen(log, "w", stdout))
			_exit(1);
		execl(bin, bin, "--root", env.root, "--npi", "a", "--dev", "veth0", "--netns",
		      env.netns, "--version", "2", (char *)NULL);
		_exit(127);
	}
	env_track_child(pid);
	for (int i = 0; i < 300 && !ok; i++, usleep(10000))
		ok = !sh("grep -qs registered: %s", log);	/* -s: not there yet */
	cr_assert(ok, "the example did not register");
	/* providers from another process: one too old, one that fits */
	cr_assert_eq(cli(&r, "provider register %s --npi a --name old --version 1",
			 bpf_obj("frame_counter")), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi a --name fits --version 1-3",
			 bpf_obj("frame_counter")), 0, "%s", r.err);
	for (int i = 0, n = 0; i < 300 && n < 2; i++, usleep(10000))
		n = !sh("grep -q 'attached fits' %s", log) + !sh("grep -q 'declined old' %s", log);
	cr_assert(strstr(binding_state("version-client:old"), "needs version 2, provider has 1-1"),
		  "%s", binding_state("version-client:old"));
	cr_assert_str_eq(binding_state("version-client:fits"), "bound");
	cr_assert_eq(send_frames("veth1", 3), 3);
	cr_assert_eq(pinned_u64(provider_map("fits", "frame_counts"), 0), 3);

	/* SIGTERM: it deregisters, waits, and leaves nothing on the device */
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &ok, 0), pid);
	cr_assert(WIFEXITED(ok) && WEXITSTATUS(ok) == 0);
	cr_assert_eq(sh("grep -q 'detached fits' %s && grep -q deregistered %s", log, log), 0);
	cr_assert_eq(xdp_prog_on("veth0"), 0);
	cr_assert_neq(cli(&r, "client show version-client"), 0);
}

Test(modules, a_provider_dispatch_table_holds_a_program_per_npi_slot)
{
	struct nmr_registry *reg = open_registry();
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), one = 1, id;
	unsigned char pkt[64] = {};
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register s --hook xdp --slots main,aux"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "provider register %s --npi s --name two --prog main_path "
			 "--slot aux=aux_path", test_obj("slotted")), 0, "%s", r.err);
	client_module(reg, "veth0", "s", NULL);
	cr_assert_eq(cb.attach_provider, 1);
	cr_assert_eq(cb.peer_dispatch->count, 2);
	/* slot 0: the instance the chain runs; slot 1: the provider's aux function */
	cr_assert_eq(nmr_prog_id(cb.peer_dispatch->prog_fds[0]),
		     nmr_binding_record(cb.binding)->prog_id);
	cr_assert_eq(bpf_obj_get_info_by_fd(cb.peer_dispatch->prog_fds[1], &info, &len), 0);
	cr_assert_str_eq(info.name, "aux_path");
	cr_assert_eq(bpf_map_lookup_elem(cb.peer_dispatch->map_fd, &one, &id), 0);
	cr_assert_eq(id, info.id, "the prog array does not hold slot 1's program");
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt));
	cr_assert_eq(bpf_prog_test_run_opts(cb.peer_dispatch->prog_fds[1], &opts), 0);
	cr_assert_eq(opts.retval, 3 /* XDP_TX */);
	/* the chain runs slot 0 */
	cr_assert_eq(send_frames("veth1", 4), 4);
	struct nmr_binding_counts c;

	cr_assert_eq(nmr_binding_counts(reg, nmr_binding_record(cb.binding), &c), 0);
	cr_assert_eq(c.packets, 4);
	nmr_registry_close(reg);
}
