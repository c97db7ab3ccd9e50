// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Hitless swaps: frames flow through a veth while the whole chain is swapped
 * at least 1,000 times between two versions whose providers stamp their
 * version into each frame. Every frame sent must be received, and each must
 * carry one whole chain: all three stamps from one version, never a mix,
 * never a provider missing or twice.
 */
#include <criterion/criterion.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include "helpers.h"

#define SWAPS		1000
#define BURST		32
#define PACE_US		300		/* between bursts: leaves the swapper a CPU */
#define MAX_FRAMES	20000000L	/* bounds: count ... */
#define MAX_SECONDS	240		/* ... and time */

TestSuite(hitless, .init = env_setup, .fini = env_teardown, .timeout = 300);

struct traffic {
	atomic_bool stop;
	bool stopped_early;		/* by a bound, before the swaps were done */
	int rx;
	long sent, received, mixed, by_version[4];
};

static void check_frame(struct traffic *t, const unsigned char *f, int len)
{
	int v = f[TRACE_OFF] >> 6;
	bool whole = len >= TRACE_OFF + 32 && (v == 1 || v == 2);

	for (int i = 0; whole && i < 3; i++)
		whole = f[TRACE_OFF + i] == STAMP(v, i + 1);
	whole = whole && f[TRACE_OFF + 3] == 0;
	if (whole)
		t->by_version[v]++;
	else
		t->mixed++;
	t->received++;
}

static void drain(struct traffic *t)
{
	unsigned char frame[256];
	int len;

	while ((len = rx_next(t->rx, frame, sizeof(frame))) > 0)
		check_frame(t, frame, len);
}

/* Sends bursts on veth1 and checks what arrives on veth0, until told to stop. */
static void *traffic(void *arg)
{
	unsigned char frame[TEST_FRAME_LEN];
	struct sockaddr_ll sll;
	struct traffic *t = arg;
	double start = mono_now();
	int fd = tx_open(env.netns, "veth1", &sll);

	test_frame(frame);
	while (fd >= 0 && !atomic_load(&t->stop) && t->sent < MAX_FRAMES &&
	       mono_now() - start < MAX_SECONDS) {
		for (int i = 0; i < BURST; i++) {
			memcpy(frame + 14, &t->sent, sizeof(t->sent));
			if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll,
				   sizeof(sll)) == sizeof(frame))
				t->sent++;
		}
		drain(t);
		usleep(PACE_US);	/* pacing: leaves the swapper a CPU */
	}
	t->stopped_early = !atomic_load(&t->stop);
	/* what is still in flight: until all came, at most 1 s */
	while (t->received < t->sent && mono_now() - start < MAX_SECONDS + 1) {
		unsigned char f[256];
		int len = rx_next_wait(t->rx, f, sizeof(f), 1.0);

		if (len < 0)
			break;
		check_frame(t, f, len);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/*
 * 1,000 swaps of a 3-provider chain on hook (of client dev) between the two
 * versions of prog, frames flowing from veth1 to veth0 all the while.
 */
static void swaps_under_live_frames(const char *hook, const char *dev, const char *prog,
				    const char *opts)
{
	struct nmr_provider_replacement to_v2[3], to_v1[3];
	const char *names[] = { "s1", "s2", "s3" };
	struct traffic t = { .stop = false };
	struct nmr_registry *reg;
	struct cli_result r;
	pthread_t thread;
	char v1[256], v2[256], name[64];

	snprintf(v1, sizeof(v1), "%s", test_obj(prog));
	snprintf(name, sizeof(name), "%s_v2", prog);
	snprintf(v2, sizeof(v2), "%s", test_obj(name));
	demo_npi_client(hook, dev, "");
	for (int i = 0; i < 3; i++) {
		char binding[16];

		cr_assert_eq(cli(&r, "provider register %s --npi demo --name %s --priority %d %s",
				 v1, names[i], i + 1, opts), 0, "%s", r.err);
		snprintf(binding, sizeof(binding), "c0:%s", names[i]);
		cr_assert_eq(set_binding_context(binding, i + 1, -1), 0);
		to_v2[i] = (struct nmr_provider_replacement){ .provider = names[i], .object_path = v2 };
		to_v1[i] = (struct nmr_provider_replacement){ .provider = names[i], .object_path = v1 };
	}
	t.rx = rx_open("veth0");
	reg = open_registry();
	cr_assert_eq(pthread_create(&thread, NULL, traffic, &t), 0);
	for (int i = 0; i < SWAPS; i++)
		cr_assert_eq(nmr_provider_replace(reg, i % 2 ? to_v1 : to_v2, 3), 0,
			     "swap %d: %s", i, nmr_last_error());
	atomic_store(&t.stop, true);
	pthread_join(thread, NULL);
	nmr_registry_close(reg);
	cr_log_info("hitless %s: %d swaps, %ld sent, %ld received, %ld v1, %ld v2, %ld mixed",
		    hook, SWAPS, t.sent, t.received, t.by_version[1], t.by_version[2], t.mixed);
	cr_assert_not(t.stopped_early, "traffic stopped before the last swap");
	cr_assert_gt(t.sent, 0);
	cr_assert_eq(t.mixed, 0, "%ld frames ran a mixed or partial chain", t.mixed);
	cr_assert_eq(t.received, t.sent, "%ld frames lost", t.sent - t.received);
	cr_assert_gt(t.by_version[1], 0, "no frame ran version 1");
	cr_assert_gt(t.by_version[2], 0, "no frame ran version 2");
}

Test(hitless, one_thousand_chain_swaps_under_live_frames)
{
	swaps_under_live_frames("xdp", "veth0", "stamp", "");
}

/* The same on TC: the chain runs on veth1's egress, before the frames cross. */
Test(hitless, one_thousand_tc_chain_swaps_under_live_frames)
{
	swaps_under_live_frames("tc-egress", "veth1", "tc_stamp", "--continue-on ok");
}
