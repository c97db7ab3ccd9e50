/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Test environment: each test gets its own registry root under /sys/fs/bpf
 * and its own network namespace holding a veth pair (veth0 <-> veth1), both
 * named after the test process so Criterion's parallel workers never collide,
 * and both removed by env_teardown() (the tests' .fini), on failure too.
 */
#ifndef NMR_TEST_HELPERS_H
#define NMR_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include "libnmrbpf.h"
#include "lib/netenv.h"	/* sh(), frames, receivers: shared with nmr-bench */

struct test_env {
	char root[128];		/* registry root */
	char netns[32];		/* /run/netns/<netns>, holds veth0 and veth1 */
	char bin[256];		/* directory of the built binaries */
	char tmp[64];		/* scratch directory */
};
extern struct test_env env;

void env_setup(void);		/* root + netns with veth pair; skips if not root */
void env_setup_no_netns(void);	/* root only */
void env_teardown(void);
/*
 * The shape most tests start from: NPI demo for hook, and client c0 of it on
 * dev of the test netns (extra: more of the client's options).
 */
void demo_npi_client(const char *hook, const char *dev, const char *extra);
/* A fixture: env_setup(), then NPI demo (xdp) and client c0 on veth0. */
void env_setup_demo(void);
/* A process the test started: killed by env_teardown() if the test did not reap it. */
void env_track_child(int pid);

/* Path of a built BPF object: "frame_counter" -> build/bpf/frame_counter.bpf.o */
const char *bpf_obj(const char *name);
const char *test_obj(const char *name);	/* build/tests/bpf/<name>.bpf.o */

/* Runs "nmr-bpf --root ROOT ARGS"; returns the exit status, output in out/err. */
struct cli_result {
	int status;
	char out[65536];
	char err[65536];
};
int cli(struct cli_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Sends count raw Ethernet frames out of dev (in the test netns), and returns
 * once dev's veth peer has taken them (frames_send()): an XDP chain there has
 * run them. A TC ingress chain runs on the peer's backlog after that: poll
 * its effects (pinned_u64_wait()).
 */
int send_frames(const char *dev, int count);
/*
 * A receiver for the test frames (ethertype 0x88b5) on dev: frames the XDP
 * chain passes reach it, dropped ones do not. rx_count() drains and counts
 * what is there (for "none came", after send_frames() returned: the chain has
 * run them); rx_wait(fd, n, seconds) waits for n frames to come.
 */
int rx_open(const char *dev);
int rx_count(int fd);
/* Stamp providers: byte 0 of the context is the id, byte 1 the verdict + 1 (-1: pass). */
int set_binding_context(const char *binding, __u8 id, int verdict);
#define TRACE_OFF 24
#define STAMP(version, id) ((__u8)((version) << 6 | (id)))
/* Enters/leaves the test netns from the test process. */
int netns_enter(int *saved);
void netns_leave(int saved);
/* The XDP program attached to dev in the test netns (0: none). */
__u32 xdp_prog_on(const char *dev);

/* Programs attached to dev's TCX ingress or egress hook (-1: query failed). */
int tcx_prog_count(const char *dev, bool ingress);

/* Everything in the registry as text (records and pins), for "unchanged" checks. */
char *registry_snapshot(void);

/* The registry opened by the test process through the library. */
struct nmr_registry *open_registry(void);

/* The path of a client's pin ROOT/client/<id>/<leaf> ("": no such client). */
const char *client_pin(const char *client, const char *leaf);
/* The program id in slot 0 of a client's chain table (0: empty or no such client). */
__u32 chain_table_prog(const char *client);
/* Reads a __u64 at offset in the value of key 0 of a pinned array map. */
__u64 pinned_u64(const char *path, size_t offset);
/* The same once it reads want, or after 2 s: for counts a chain updates after a send returns. */
__u64 pinned_u64_wait(const char *path, size_t offset, __u64 want);
/* The pinned map of a provider: ROOT/provider/<id>/maps/<name>. */
const char *provider_map(const char *provider, const char *map);

#endif
