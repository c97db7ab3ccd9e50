// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The network side of the test and bench environments: see netenv.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "netenv.h"

int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		/* a cut command could fail, or succeed, for the wrong reason */
		fprintf(stderr, "sh: command of %d bytes too long: %.80s...\n", n, cmd);
		abort();
	}
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool poll_until(bool (*cond)(void *arg), void *arg, double seconds)
{
	double end = mono_now() + seconds;
	struct timespec tick = { .tv_nsec = 500 * 1000 };

	for (;;) {
		if (cond(arg))
			return true;
		if (mono_now() > end)
			return cond(arg);
		nanosleep(&tick, NULL);	/* the poll's period, not a wait for anything */
	}
}

/* ---- namespaces and devices ---- */

int netns_create(const char *ns)
{
	if (sh("ip netns add %s && ip netns exec %s sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
	       "net.ipv6.conf.default.disable_ipv6=1 && ip -n %s link set lo up", ns, ns, ns))
		return -1;
	return veth_add(ns, "veth0", "veth1", true);
}

void netns_remove(const char *ns)
{
	sh("for ns in $(ip netns list | awk '{print $1}' | grep '^%s'); do ip netns del $ns; "
	   "done 2>/dev/null", ns);
}

int veth_add(const char *ns, const char *dev, const char *peer, bool peer_up)
{
	if (sh("ip -n %s link add %s type veth peer name %s && ip -n %s link set %s up", ns, dev,
	       peer, ns, dev))
		return -1;
	return peer_up && sh("ip -n %s link set %s up", ns, peer) ? -1 : 0;
}

int netns_enter_named(const char *ns, int *saved)
{
	char path[128];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return -errno;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err) {
		close(*saved);
		*saved = -1;
	}
	return err;
}

int netns_return(int saved)
{
	int err = setns(saved, CLONE_NEWNET) ? -errno : 0;

	close(saved);
	return err;
}

int ifindex_in(const char *ns, const char *dev)
{
	int saved, ifindex;

	if (netns_enter_named(ns, &saved))
		return 0;
	ifindex = if_nametoindex(dev);
	netns_return(saved);
	return ifindex;
}

/*
 * A device's counters and its veth peer (IFLA_LINK), asked of rtnetlink
 * through nl, a socket of the device's namespace.
 */
struct link_stats {
	int peer;
	__u64 rx_taken;		/* received or dropped on receipt */
	__u64 tx_dropped;
};

static int link_stats(int nl, int ifindex, struct link_stats *st)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
			.nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	static __thread char buf[32768];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct rtattr *a;
	ssize_t n;
	int len;

	memset(st, 0, sizeof(*st));
	if (send(nl, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(nl, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	if (!NLMSG_OK(nh, (size_t)n) || nh->nlmsg_type != RTM_NEWLINK)
		return -ENODEV;
	len = IFLA_PAYLOAD(nh);
	for (a = IFLA_RTA(NLMSG_DATA(nh)); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_LINK && RTA_PAYLOAD(a) >= sizeof(int)) {
			memcpy(&st->peer, RTA_DATA(a), sizeof(int));
		} else if (a->rta_type == IFLA_STATS64) {
			struct rtnl_link_stats64 s = {};

			memcpy(&s, RTA_DATA(a), RTA_PAYLOAD(a) < sizeof(s) ? RTA_PAYLOAD(a) :
			       sizeof(s));
			st->rx_taken = s.rx_packets + s.rx_dropped;
			st->tx_dropped = s.tx_dropped;
		}
	}
	return 0;
}

/* What the sender dev's peer has taken, plus what dev dropped on its way there. */
static long long taken(int nl, int ifindex)
{
	struct link_stats dev, peer;

	if (link_stats(nl, ifindex, &dev) || !dev.peer || dev.peer == ifindex ||
	    link_stats(nl, dev.peer, &peer))
		return -1;
	return peer.rx_taken + dev.tx_dropped;
}

static int netlink_in(const char *ns)
{
	int saved, nl;

	if (netns_enter_named(ns, &saved))
		return -1;
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	netns_return(saved);
	return nl;
}

long long peer_rx_frames(const char *ns, const char *dev)
{
	int nl = netlink_in(ns), ifindex = ifindex_in(ns, dev);
	long long n = nl >= 0 && ifindex ? taken(nl, ifindex) : -1;

	if (nl >= 0)
		close(nl);
	return n;
}

/* ---- frames ---- */

void test_frame(unsigned char frame[TEST_FRAME_LEN])
{
	memset(frame, 0, TEST_FRAME_LEN);
	memset(frame, 0xff, ETH_ALEN);
	memcpy(frame + ETH_ALEN, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	frame[12] = TEST_ETHERTYPE >> 8;
	frame[13] = TEST_ETHERTYPE & 0xff;
}

int tx_open(const char *ns, const char *dev, struct sockaddr_ll *to)
{
	int saved, fd, err;

	err = netns_enter_named(ns, &saved);
	if (err)
		return err;
	memset(to, 0, sizeof(*to));
	to->sll_family = AF_PACKET;
	to->sll_halen = ETH_ALEN;
	to->sll_ifindex = if_nametoindex(dev);
	memset(to->sll_addr, 0xff, ETH_ALEN);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	err = fd < 0 ? -errno : !to->sll_ifindex ? -ENODEV : 0;
	netns_return(saved);
	if (err && fd >= 0)
		close(fd);
	return err ?: fd;
}

struct drained {
	int nl, ifindex;
	long long want;
};

static bool all_taken(void *arg)
{
	struct drained *d = arg;

	return taken(d->nl, d->ifindex) >= d->want;
}

int frames_send(const char *ns, const char *dev, int count)
{
	unsigned char frame[TEST_FRAME_LEN];
	struct sockaddr_ll to;
	struct drained d = { .nl = netlink_in(ns) };
	int fd = tx_open(ns, dev, &to), sent = 0;
	long long before = -1;

	if (fd < 0 || d.nl < 0) {
		if (fd >= 0)
			close(fd);
		if (d.nl >= 0)
			close(d.nl);
		return -1;
	}
	d.ifindex = to.sll_ifindex;
	before = taken(d.nl, d.ifindex);
	test_frame(frame);
	for (int i = 0; i < count; i++) {
		memcpy(frame + 14, &i, sizeof(i));
		if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to)) ==
		    sizeof(frame))
			sent++;
	}
	close(fd);
	/* veth delivers on the peer's NAPI or backlog: until the peer has taken them all */
	d.want = before + sent;
	if (before >= 0)
		poll_until(all_taken, &d, 2.0);
	close(d.nl);
	return sent;
}

int rx_open_in(const char *ns, const char *dev)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(TEST_ETHERTYPE) };
	int saved, fd, err;

	err = netns_enter_named(ns, &saved);
	if (err)
		return err;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(TEST_ETHERTYPE));
	sll.sll_ifindex = if_nametoindex(dev);
	err = fd < 0 ? -errno : !sll.sll_ifindex ? -ENODEV :
	      bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ? -errno : 0;
	netns_return(saved);
	if (err && fd >= 0)
		close(fd);
	return err ?: fd;
}

int rx_next(int fd, unsigned char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, 0);

	return n > 0 ? (int)n : -1;
}

int rx_next_wait(int fd, unsigned char *buf, size_t len, double seconds)
{
	double end = mono_now() + seconds;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	while ((n = rx_next(fd, buf, len)) < 0) {
		int ms = (int)((end - mono_now()) * 1e3);

		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			return rx_next(fd, buf, len);
	}
	return n;
}

int rx_drain(int fd)
{
	unsigned char buf[2048];
	int n = 0;

	while (rx_next(fd, buf, sizeof(buf)) > 0)
		n++;
	return n;
}

int rx_wait(int fd, int want, double seconds)
{
	unsigned char buf[2048];
	double end = mono_now() + seconds;
	int n = 0;

	while (n < want && rx_next_wait(fd, buf, sizeof(buf), end - mono_now()) > 0)
		n++;
	return n + rx_drain(fd);
}

void registry_remove(const char *bin, const char *root)
{
	sh("%s/nmr-bpf --root %s registry destroy >/dev/null 2>&1", bin, root);
	sh("rm -rf %s 2>/dev/null", root);
}
