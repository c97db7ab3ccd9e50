/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The network side of the test and bench environments, shared by the tests
 * (tests/helpers.c, which turns failures into Criterion failures) and nmr-bench
 * (which dies on them): a network namespace holding a veth pair, test frames
 * (ethertype 0x88b5) sent out of one end and received on the other, and the
 * registry root removed. Nothing here knows Criterion: functions that can fail
 * return a negative errno (or -1) and the caller says what failed.
 */
#ifndef NMR_NETENV_H
#define NMR_NETENV_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct sockaddr_ll;

#define TEST_ETHERTYPE 0x88b5
#define TEST_FRAME_LEN 60	/* ETH_ZLEN */

/* Runs a shell command; returns its exit status (-1: did not run). Aborts if too long. */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* CLOCK_MONOTONIC in seconds. */
double mono_now(void);
/* Polls cond(arg) every millisecond or so until it holds or seconds passed: whether it held. */
bool poll_until(bool (*cond)(void *arg), void *arg, double seconds);

/*
 * Network namespace ns with veth0 <-> veth1 up, lo up and no IPv6 (its link-up
 * chatter would go through the chains with the test frames).
 */
int netns_create(const char *ns);
/* Removes ns and every namespace whose name begins with it (tests make some beside theirs). */
void netns_remove(const char *ns);
/* A veth pair dev <-> peer in ns; dev up, peer up too when asked. */
int veth_add(const char *ns, const char *dev, const char *peer, bool peer_up);
/* Enters ns from this thread (its namespace kept in *saved); leaving returns to it. */
int netns_enter_named(const char *ns, int *saved);
int netns_return(int saved);
/* dev's ifindex in ns (0: no such device). */
int ifindex_in(const char *ns, const char *dev);

/* A broadcast test frame: 0x88b5, from 02:00:00:00:00:01, zero payload. */
void test_frame(unsigned char frame[TEST_FRAME_LEN]);
/* A raw sender out of dev in ns, and the address to send the test frames to. */
int tx_open(const char *ns, const char *dev, struct sockaddr_ll *to);
/*
 * Sends count test frames out of dev in ns (bytes 14..17 of each: its number)
 * and waits, at most 2 s, until the peer device has taken them all (its rx
 * counter, or a drop): for XDP that is after the program ran. Returns how
 * many were sent, or -1.
 */
int frames_send(const char *ns, const char *dev, int count);
/* Frames dev's veth peer has taken: received or dropped (-1: no such device or peer). */
long long peer_rx_frames(const char *ns, const char *dev);

/* A non-blocking receiver of the test frames on dev in ns (-errno on failure). */
int rx_open_in(const char *ns, const char *dev);
/* Frames waiting on the receiver, read and counted. */
int rx_drain(int fd);
/* The next frame waiting, into buf: its length, or -1 when none is waiting. */
int rx_next(int fd, unsigned char *buf, size_t len);
/* The same, waiting for it at most seconds. */
int rx_next_wait(int fd, unsigned char *buf, size_t len, double seconds);
/*
 * Frames received until want have come (then those already behind them too),
 * or seconds passed: their count.
 */
int rx_wait(int fd, int want, double seconds);

/* Removes a registry root: through the CLI in bin first (detaches links), then the pins. */
void registry_remove(const char *bin, const char *root);

#endif
