// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nmr-bench: what nmr-bpf costs, measured side by side in one run on its own
 * network namespace, veth pair and registry root (all removed at exit).
 *
 *   1. BPF_PROG_TEST_RUN ns per 64-byte packet: the provider run directly,
 *      client chains of 1..32 providers, a naive chain of the same lengths
 *      whose position is a per-CPU cursor, and chains of bare tail calls.
 *   2. Swap latency: the one write that makes a chain change live,
 *      over >= 1,000 replacements in a 4-provider chain; beside it, an XDP
 *      bpf_link_update and a netlink XDP replace.
 *   3. Hitless: live frames through the veth during those swaps.
 *   4. Live frames per second: 4-provider chain vs the provider attached alone.
 *   5. Registry: `nmr-bpf -j provider list` with 1,000 providers; CLI cold start.
 *
 * Usage: nmr-bench [--quick] [--out DIR]   (writes DIR/results.json, DIR/chain.dat, DIR/scale.dat,
 *        and the report docs/BENCHMARKS.md is made from them by bench/report.sh)
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include "libnmrbpf.h"
#include "netenv.h"	/* the namespace, veth pairs and frames, as the tests have them */

#define NLEN 6
static const int lengths[NLEN] = { 1, 2, 4, 8, 16, 32 };

static struct {
	bool quick, overhead_only;
	char bin[256];		/* build directory */
	char out[256];
	char root[128];
	char netns[64];
	int repeat, runs, swaps, link_swaps;
	double live_seconds;
	double deadline;	/* the whole run's time bound */
} cfg;

static struct {
	double direct, chain[NLEN], naive[NLEN], bare[NLEN];
	double overhead, overhead_se, per_hop, naive_per_hop, bare_per_hop;
	int overhead_copies, overhead_rounds;
	double counting, overhead_counting;	/* alone, counting per CPU; the chain against it */
	double swap_p50, swap_p99, swap_max, replace_ms_p50;
	double busy_swap_p50, busy_swap_p99;	/* the same, under live frames */
	double link_update_p50, link_update_p99, netlink_p50, netlink_p99;
	long swaps, sent, received, lost, misrouted;
	double pps_direct, pps_chain4, pps_ratio;
	double list_ms, cold_ms;
	int list_providers;
	double change_ms_p50, change_ms_p99, unbind_ms_p50;	/* one client, 4 -> 5 -> 4 */
	double change_stamp_ms_p50, change_stamp_ms_p99;	/* the same with stamp providers */
	double register_ms[4], deregister_ms[4];	/* by clients of the NPI: scale_clients */
} res;

static const int scale_clients[4] = { 1, 10, 50, 100 };

static double now(void)
{
	return mono_now();
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "nmr-bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void check_time(const char *phase)
{
	if (now() > cfg.deadline)
		die("time bound reached in %s", phase);
}

static void cleanup(void)
{
	if (!cfg.root[0])
		return;
	registry_remove(cfg.bin, cfg.root);
	netns_remove(cfg.netns);
	cfg.root[0] = 0;
}

static void on_signal(int sig)
{
	exit(128 + sig);	/* runs cleanup() */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(double *v, int n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(int)fmin(n - 1, floor(p * (n - 1) + 0.5))];
}

/* The mean of the middle half: sub-ns resolution from whole-ns readings, robust to drift. */
static double trimmed_mean(double *v, int n)
{
	double sum = 0;
	int k = 0;

	qsort(v, n, sizeof(*v), cmp_double);
	for (int i = n / 4; i < n - n / 4; i++, k++)
		sum += v[i];
	return k ? sum / k : 0;
}

/* Least-squares slope of y over x. */
static double slope(const int *x, const double *y, int n)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;

	for (int i = 0; i < n; i++) {
		sx += x[i];
		sy += y[i];
		sxx += (double)x[i] * x[i];
		sxy += x[i] * y[i];
	}
	return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/* ---- the environment ---------------------------------------------------- */

/* cpu >= 0: only that CPU; -1: all. */
static void pin_to_cpu(long cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	for (long c = 0; c < n; c++)
		if (cpu < 0 || c == cpu)
			CPU_SET(c, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int enter_netns(void)
{
	int saved, err = netns_enter_named(cfg.netns, &saved);

	if (err)
		die("enter netns %s: %s", cfg.netns, strerror(-err));
	return saved;
}

static void leave_netns(int saved)
{
	int err = netns_return(saved);

	if (err)
		die("leave netns: %s", strerror(-err));
}

/* A veth pair dev <-> devp in the bench's namespace, dev up. */
static void veth(const char *dev)
{
	char peer[32];

	snprintf(peer, sizeof(peer), "%sp", dev);
	if (veth_add(cfg.netns, dev, peer, false))
		die("create veth pair %s in %s", dev, cfg.netns);
}

static struct nmr_registry *reg;

static void must(int err, const char *what)
{
	if (err)
		die("%s: %s", what, nmr_last_error());
}

static void client(const char *name)
{
	NMR_OPTS(nmr_client_opts, o, .npi = "bench", .dev = "veth0", .netns = cfg.netns,
				     .name = name);

	must(nmr_client_register(reg, &o, NULL), "register client");
}

static void provider(const char *object, const char *name, int priority)
{
	NMR_OPTS(nmr_provider_opts, o, .object_path = object, .npi = "bench", .name = name,
				       .priority = priority, .priority_set = true);

	must(nmr_provider_register(reg, &o, NULL), "register provider");
}

static const char *obj(const char *dir, const char *name)
{
	static char path[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s/%s.bpf.o", cfg.bin, dir, name);
	return path[i];
}

/* A program or map pinned under the registry: "client", "c0", "dispatcher". */
static int pinned(const char *kind, const char *name, const char *leaf)
{
	char path[512], guid[NMR_GUID_STR_LEN];
	struct nmr_provider_record p;
	struct nmr_client_record c;
	int fd;

	if (!strcmp(kind, "client")) {
		must(nmr_client_find(reg, name, &c), "find client");
		nmr_guid_format(&c.id, guid);
	} else {
		must(nmr_provider_find(reg, name, &p), "find provider");
		nmr_guid_format(&p.id, guid);
	}
	snprintf(path, sizeof(path), "%s/%s/%s/%s", cfg.root, kind, guid, leaf);
	fd = bpf_obj_get(path);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

/* ---- 1. BPF_PROG_TEST_RUN --------------------------------------------- */

static double test_run_once(int prog_fd, int repeat)
{
	unsigned char pkt[64] = { [12] = 0x88, [13] = 0xb5 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = repeat);

	/*
	 * The kernel's own time of the loop, in whole ns. Not the wall clock
	 * around the call: for an XDP program not attached anywhere, each call
	 * also swaps it into the kernel's XDP dispatcher and back (two RCU
	 * grace periods), which would weigh on some configurations only.
	 */
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		die("BPF_PROG_TEST_RUN: %s", strerror(errno));
	return opts.duration;
}

/* A chain of n bare hops, built once per length from the naive object. */
static int bare_chain(int n, int *maps, int *progs)
{
	__u32 zero = 0;

	for (int i = 0; i < n; i++) {
		struct bpf_object *o = bpf_object__open_file(obj("bench/bpf", "naive"), NULL);
		struct bpf_program *p;

		if (!o)
			die("open bare hop: %s", strerror(errno));
		bpf_object__for_each_program(p, o)
			bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), "bare_hop"));
		maps[i] = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "bare_next", 4, 4, 1, NULL);
		if (bpf_map__reuse_fd(bpf_object__find_map_by_name(o, "bare_next"), maps[i]) ||
		    bpf_object__load(o))
			die("load bare hop: %s", strerror(errno));
		progs[i] = dup(bpf_program__fd(bpf_object__find_program_by_name(o, "bare_hop")));
		bpf_object__close(o);
		if (i && bpf_map_update_elem(maps[i - 1], &zero, &progs[i], BPF_ANY))
			die("link bare hop: %s", strerror(errno));
	}
	return progs[0];
}

/*
 * Every configuration exists at once: for each length L a client on its own
 * veth (NPI "trL") with L providers, a naive chain of L and a bare chain of L.
 * Each round measures all of them back to back in rotating order, so the
 * host's drifts (its speed here changes by 2x from one moment to the next)
 * hit a round's figures together; slopes are computed within each round,
 * and the medians over rounds are reported. No program measured is attached
 * anywhere (the clients are deregistered once their chain is taken): a test
 * run then puts the program alone in the kernel's XDP dispatcher, where an
 * attached one would sit among the others, at a place that moves its time.
 */
#define NCONF (2 + 3 * NLEN)	/* alone, then per length: nmr-bpf, naive, bare; counting */
#define COUNTING (NCONF - 1)	/* a program alone that counts what it runs per CPU */

static void bench_test_run(void)
{
	int fds[NCONF], maps[NLEN][NMR_MAX_CHAIN], progs[NLEN][NMR_MAX_CHAIN];
	struct bpf_object *naive[NLEN];
	double *v[NCONF], hop[64], nhop[64], bhop[64];
	char name[32], cname[32];

	if (cfg.runs > 64)
		cfg.runs = 64;
	for (int i = 0; i < NLEN; i++) {
		NMR_OPTS(nmr_npi_opts, n, .name = name, .hook = NMR_HOOK_XDP);
		NMR_OPTS(nmr_client_opts, c, .npi = name, .dev = cname, .netns = cfg.netns,
					     .name = cname);
		int naive_prog, table;

		snprintf(name, sizeof(name), "tr%d", lengths[i]);
		snprintf(cname, sizeof(cname), "tr%d", lengths[i]);
		veth(cname);
		must(nmr_npi_register(reg, &n, NULL), "register npi");
		must(nmr_client_register(reg, &c, NULL), "register client");
		for (int j = 1; j <= lengths[i]; j++) {
			NMR_OPTS(nmr_provider_opts, o, .object_path = obj("bench/bpf", "bench_pass"),
						       .npi = name, .priority = j,
						       .priority_set = true);
			char pname[32];

			snprintf(pname, sizeof(pname), "tr%d-%d", lengths[i], j);
			o.name = pname;
			must(nmr_provider_register(reg, &o, NULL), "register provider");
		}
		/* hook -> dispatcher -> chain table -> chain: the whole data path */
		fds[1 + 3 * i] = pinned("client", cname, "dispatcher");

		naive[i] = bpf_object__open_file(obj("bench/bpf", "naive"), NULL);
		if (!naive[i] || bpf_object__load(naive[i]))
			die("load naive chain: %s", strerror(errno));
		naive_prog = bpf_program__fd(bpf_object__find_program_by_name(naive[i],
									      "naive_provider"));
		table = bpf_map__fd(bpf_object__find_map_by_name(naive[i], "naive_table"));
		for (__u32 k = 0; k < (__u32)lengths[i]; k++)
			if (bpf_map_update_elem(table, &k, &naive_prog, BPF_ANY))
				die("fill naive chain: %s", strerror(errno));
		fds[2 + 3 * i] = bpf_program__fd(bpf_object__find_program_by_name(naive[i],
										  "naive_dispatcher"));
		fds[3 + 3 * i] = bare_chain(lengths[i], maps[i], progs[i]);
		check_time("test run setup");
	}
	fds[0] = pinned("provider", "tr1-1", "prog");	/* the provider alone */
	fds[COUNTING] = bpf_program__fd(bpf_object__find_program_by_name(naive[0], "xdp_count"));

	for (int c = 0; c < NCONF; c++) {
		v[c] = calloc(cfg.runs, sizeof(double));
		test_run_once(fds[c], cfg.repeat / 10);	/* warm-up */
	}
	for (int r = 0; r < cfg.runs; r++) {
		double chain[NLEN], nv[NLEN], bare[NLEN];

		check_time("test run");
		for (int j = 0; j < NCONF; j++) {
			int c = (j + r) % NCONF;

			v[c][r] = test_run_once(fds[c], cfg.repeat);
		}
		for (int i = 0; i < NLEN; i++) {
			chain[i] = v[1 + 3 * i][r];
			nv[i] = v[2 + 3 * i][r];
			bare[i] = v[3 + 3 * i][r];
		}

		hop[r] = slope(lengths, chain, NLEN);
		nhop[r] = slope(lengths, nv, NLEN);
		bhop[r] = slope(lengths, bare, NLEN);
	}
	res.direct = percentile(v[0], cfg.runs, 0.5);
	for (int i = 0; i < NLEN; i++) {
		res.chain[i] = percentile(v[1 + 3 * i], cfg.runs, 0.5);
		res.naive[i] = percentile(v[2 + 3 * i], cfg.runs, 0.5);
		res.bare[i] = percentile(v[3 + 3 * i], cfg.runs, 0.5);
		fprintf(stderr, "  chain %2d: nmr-bpf %6.1f  naive %6.1f  bare hops %6.1f ns/packet "
			"(provider alone %.1f)\n", lengths[i], res.chain[i], res.naive[i],
			res.bare[i], res.direct);
	}
	res.counting = percentile(v[COUNTING], cfg.runs, 0.5);
	res.per_hop = percentile(hop, cfg.runs, 0.5);
	res.naive_per_hop = percentile(nhop, cfg.runs, 0.5);
	res.bare_per_hop = percentile(bhop, cfg.runs, 0.5);
	fprintf(stderr, "  per hop: nmr-bpf %.1f, naive %.1f, bare %.1f ns\n", res.per_hop,
		res.naive_per_hop, res.bare_per_hop);

	for (int c = 0; c < NCONF; c++)
		free(v[c]);
	close(fds[0]);
	for (int i = 0; i < NLEN; i++) {
		snprintf(cname, sizeof(cname), "tr%d", lengths[i]);
		must(nmr_client_deregister(reg, cname), "deregister client");
		close(fds[1 + 3 * i]);
		bpf_object__close(naive[i]);
		for (int j = 0; j < lengths[i]; j++) {
			close(maps[i][j]);
			close(progs[i][j]);
		}
	}
}

/*
 * The dispatcher's own cost: a 1-provider chain against the provider alone,
 * a few ns against readings that drift by more. Where a program's JIT image
 * lands moves its time by up to 2 ns (two loads of one program differ by
 * that much here), so each program is loaded COPIES times and the copies are
 * averaged within each round; the rounds' differences are then averaged.
 * Nothing is attached (see above).
 */
#define COPIES 6

static void bench_overhead(void)
{
	int alone[COPIES], chain[COPIES], count[COPIES], n = cfg.quick ? 3 : COPIES;
	int rounds = cfg.quick ? 16 : 64, repeat = 50000;
	struct bpf_object *objs[COPIES];
	double over[64], cover[64], sum = 0, sq = 0;	/* rounds <= 64 */

	for (int k = 0; k < n; k++) {
		char name[32], pname[40];
		NMR_OPTS(nmr_npi_opts, np, .name = name, .hook = NMR_HOOK_XDP);
		NMR_OPTS(nmr_client_opts, c, .npi = name, .dev = name, .netns = cfg.netns,
					     .name = name);
		NMR_OPTS(nmr_provider_opts, o, .object_path = obj("bench/bpf", "bench_pass"),
					       .npi = name, .name = pname);
		struct bpf_program *p;

		snprintf(name, sizeof(name), "ov%d", k);
		snprintf(pname, sizeof(pname), "ov%d-1", k);
		veth(name);
		must(nmr_npi_register(reg, &np, NULL), "register npi");
		must(nmr_client_register(reg, &c, NULL), "register client");
		must(nmr_provider_register(reg, &o, NULL), "register provider");
		chain[k] = pinned("client", name, "dispatcher");	/* dispatcher -> table -> chain */
		alone[k] = pinned("provider", pname, "prog");
		objs[k] = bpf_object__open_file(obj("bench/bpf", "naive"), NULL);
		if (!objs[k])
			die("open xdp_count: %s", strerror(errno));
		bpf_object__for_each_program(p, objs[k])
			bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), "xdp_count"));
		if (bpf_object__load(objs[k]))
			die("load xdp_count: %s", strerror(errno));
		count[k] = bpf_program__fd(bpf_object__find_program_by_name(objs[k], "xdp_count"));
		check_time("overhead setup");
	}
	for (int k = 0; k < n; k++) {
		test_run_once(alone[k], repeat / 10);	/* warm-up */
		test_run_once(chain[k], repeat / 10);
		test_run_once(count[k], repeat / 10);
	}
	for (int r = 0; r < rounds; r++) {
		double a = 0, c = 0, q = 0;

		check_time("overhead");
		for (int j = 0; j < 3 * n; j++) {	/* rotating order */
			int k = (j / 3 + r) % n, which = (j + r) % 3;

			if (which == 0)
				a += test_run_once(alone[k], repeat);
			else if (which == 1)
				c += test_run_once(chain[k], repeat);
			else
				q += test_run_once(count[k], repeat);
		}
		over[r] = (c - a) / n;
		cover[r] = (c - q) / n;
		sum += over[r];
		sq += over[r] * over[r];
	}
	res.overhead_se = sqrt((sq / rounds - (sum / rounds) * (sum / rounds)) / (rounds - 1));
	res.overhead = trimmed_mean(over, rounds);
	res.overhead_counting = trimmed_mean(cover, rounds);
	res.overhead_copies = n;
	res.overhead_rounds = rounds;
	fprintf(stderr, "  dispatcher %+.2f ns (standard error %.2f; %+.2f against a program that "
		"counts per CPU itself), %d copies of each, %d rounds\n", res.overhead,
		res.overhead_se, res.overhead_counting, n, rounds);
	for (int k = 0; k < n; k++) {
		char name[32];

		snprintf(name, sizeof(name), "ov%d", k);
		must(nmr_client_deregister(reg, name), "deregister client");
		close(alone[k]);
		close(chain[k]);
		bpf_object__close(objs[k]);
	}
}

/* ---- 2, 3. swaps under live frames -------------------------------------- */

#define TRACE_OFF 24
#define BURST 32

struct traffic {
	atomic_bool stop;
	int rx, nstamps;
	long sent, received, misrouted;
	useconds_t pace;
};

static int rx_socket(const char *dev)
{
	int fd = rx_open_in(cfg.netns, dev);

	if (fd < 0)
		die("receiver on %s: %s", dev, strerror(-fd));
	return fd;
}

/* A frame ran one whole chain: stamps 1..n of one version, nothing else. */
static void check_frame(struct traffic *t, const unsigned char *f, int len)
{
	int v = f[TRACE_OFF] >> 6;
	bool whole = len >= TRACE_OFF + 32 && (v == 1 || v == 2);

	for (int i = 0; whole && i < t->nstamps; i++) {
		int sv = f[TRACE_OFF + i] >> 6, id = f[TRACE_OFF + i] & 0x3f;

		/* only s2 changes version; the others stay at version 1 */
		whole = id == i + 1 && (i == 1 ? (sv == 1 || sv == 2) : sv == 1);
	}
	whole = whole && f[TRACE_OFF + t->nstamps] == 0;
	t->misrouted += !whole;
	t->received++;
}

static void drain(struct traffic *t)
{
	unsigned char f[256];
	ssize_t len;

	while (t->rx >= 0 && (len = recv(t->rx, f, sizeof(f), 0)) > 0)
		check_frame(t, f, len);
}

static int tx_socket(struct sockaddr_ll *sll)
{
	int fd = tx_open(cfg.netns, "veth1", sll);

	if (fd < 0)
		die("sender: %s", strerror(-fd));
	return fd;
}

static void *traffic_loop(void *arg)
{
	struct traffic *t = arg;
	unsigned char frame[TEST_FRAME_LEN];
	struct sockaddr_ll sll;
	int fd = tx_socket(&sll);
	double start = now();

	test_frame(frame);
	while (!atomic_load(&t->stop) && now() < cfg.deadline && now() - start < 600) {
		for (int i = 0; i < BURST; i++)
			if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll,
				   sizeof(sll)) > 0)
				t->sent++;
		drain(t);
		if (t->pace)
			usleep(t->pace);
	}
	for (int i = 0; i < 100 && t->received < t->sent; i++) {
		usleep(10000);
		drain(t);
	}
	close(fd);
	return NULL;
}

static void set_context(const char *binding, __u8 id)
{
	struct nmr_binding_record b;
	__u8 data[2] = { id, 0 };

	must(nmr_binding_find(reg, binding, &b), "find binding");
	must(nmr_binding_context_write(reg, &b, data, sizeof(data)), "write binding context");
}

/* n replacements of s2 between its two versions; the swap (slot write) times in us. */
static void swap_series(int n, double *swap_us, double *replace_ms, const char *v1,
			const char *v2)
{
	for (int i = 0; i < n; i++) {
		struct nmr_provider_replacement r = { .provider = "s2",
						      .object_path = i % 2 ? v1 : v2 };
		double start = now();

		check_time("swaps");
		must(nmr_provider_replace(reg, &r, 1), "replace");
		if (replace_ms)
			replace_ms[i] = (now() - start) * 1e3;
		swap_us[i] = nmr_registry_last_swap_ns(reg) / 1e3;
	}
}

/*
 * What a user waits for: binding one provider into a 4-provider chain of
 * one client, the library call from call to return (verify the object, load
 * its instance and the new chain, one slot write), then unbinding it (one
 * slot write and a grace period). With providers that do nothing (bench_pass,
 * as everywhere in this bench: what is measured is nmr-bpf's own work) on
 * their own client, and with c1's stamp providers, whose loops the verifier
 * walks again in every chain it verifies.
 */
static void change_series(const char *npi, const char *object, double *p50, double *p99,
			  double *unbind_p50)
{
	int n = cfg.quick ? 20 : 100;
	double *bind_ms = calloc(n, sizeof(double)), *unbind_ms = calloc(n, sizeof(double));

	for (int i = 0; i < n; i++) {
		NMR_OPTS(nmr_provider_opts, o, .object_path = object, .npi = npi, .name = "added",
			 .priority = 5, .priority_set = true);
		double start = now();

		check_time("changes");
		must(nmr_provider_register(reg, &o, NULL), "register provider");
		bind_ms[i] = (now() - start) * 1e3;
		start = now();
		must(nmr_provider_deregister(reg, "added"), "deregister provider");
		unbind_ms[i] = (now() - start) * 1e3;
	}
	*p50 = percentile(bind_ms, n, 0.5);
	*p99 = percentile(bind_ms, n, 0.99);
	if (unbind_p50)
		*unbind_p50 = percentile(unbind_ms, n, 0.5);
	fprintf(stderr, "  %d changes of a 4-provider chain (%s): bind p50 %.2f ms (p99 %.2f), "
		"unbind p50 %.2f ms\n", n, npi, *p50, *p99, percentile(unbind_ms, n, 0.5));
	free(bind_ms);
	free(unbind_ms);
}

/* A client of its own with four providers that do nothing, for change_series(). */
static void bench_change(void)
{
	NMR_OPTS(nmr_npi_opts, np, .name = "chg", .hook = NMR_HOOK_XDP);
	NMR_OPTS(nmr_client_opts, c, .npi = "chg", .dev = "chg0", .netns = cfg.netns,
		 .name = "chg0");

	veth("chg0");
	must(nmr_npi_register(reg, &np, NULL), "register npi");
	must(nmr_client_register(reg, &c, NULL), "register client");
	for (int i = 1; i <= 4; i++) {
		NMR_OPTS(nmr_provider_opts, o, .object_path = obj("bench/bpf", "bench_pass"),
			 .npi = "chg", .priority = i, .priority_set = true);
		char name[8];

		snprintf(name, sizeof(name), "chg%d", i);
		o.name = name;
		must(nmr_provider_register(reg, &o, NULL), "register provider");
	}
	change_series("chg", obj("bench/bpf", "bench_pass"), &res.change_ms_p50,
		      &res.change_ms_p99, &res.unbind_ms_p50);
	must(nmr_client_deregister(reg, "chg0"), "deregister client");
	for (int i = 1; i <= 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "chg%d", i);
		must(nmr_provider_deregister(reg, name), "deregister provider");
	}
}

/*
 * A 4-provider chain of stamp providers; provider 2 replaced back and forth.
 * First alone (swap latency), then under live frames (hitless).
 */
static void bench_swaps(void)
{
	struct traffic t = { .stop = false, .nstamps = 4, .pace = 300 };
	double *swap_us = calloc(cfg.swaps, sizeof(double));
	double *replace_ms = calloc(cfg.swaps, sizeof(double));
	char v1[512], v2[512];
	pthread_t thread;

	snprintf(v1, sizeof(v1), "%s", obj("tests/bpf", "stamp"));
	snprintf(v2, sizeof(v2), "%s", obj("tests/bpf", "stamp_v2"));
	client("c1");
	for (int i = 1; i <= 4; i++) {
		char name[8], binding[16];

		snprintf(name, sizeof(name), "s%d", i);
		provider(v1, name, i);
		snprintf(binding, sizeof(binding), "c1:%s", name);
		set_context(binding, i);
	}

	swap_series(cfg.swaps, swap_us, replace_ms, v1, v2);
	res.swap_p50 = percentile(swap_us, cfg.swaps, 0.5);
	res.swap_p99 = percentile(swap_us, cfg.swaps, 0.99);
	res.swap_max = percentile(swap_us, cfg.swaps, 1.0);
	res.replace_ms_p50 = percentile(replace_ms, cfg.swaps, 0.5);
	fprintf(stderr, "  %d swaps: p50 %.1f us, p99 %.1f us (whole replace p50 %.1f ms)\n",
		cfg.swaps, res.swap_p50, res.swap_p99, res.replace_ms_p50);

	change_series("bench", v1, &res.change_stamp_ms_p50, &res.change_stamp_ms_p99, NULL);

	t.rx = rx_socket("veth0");
	pthread_create(&thread, NULL, traffic_loop, &t);
	swap_series(cfg.swaps, swap_us, NULL, v1, v2);
	res.swaps = cfg.swaps;
	atomic_store(&t.stop, true);
	pthread_join(thread, NULL);
	close(t.rx);
	res.busy_swap_p50 = percentile(swap_us, cfg.swaps, 0.5);
	res.busy_swap_p99 = percentile(swap_us, cfg.swaps, 0.99);
	res.sent = t.sent;
	res.received = t.received;
	res.lost = t.sent - t.received;
	res.misrouted = t.misrouted;
	fprintf(stderr, "  %ld swaps under live frames: p50 %.1f us, p99 %.1f us; %ld frames "
		"sent, %ld received, %ld misrouted\n", res.swaps, res.busy_swap_p50,
		res.busy_swap_p99, res.sent, res.received, res.misrouted);
	must(nmr_client_deregister(reg, "c1"), "deregister client");
	for (int i = 1; i <= 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "s%d", i);
		must(nmr_provider_deregister(reg, name), "deregister provider");
	}
	free(swap_us);
	free(replace_ms);
}

/* The swap paths of other designs: relinking the XDP program, or netlink replace. */
static void bench_relink(void)
{
	struct bpf_object *o = bpf_object__open_file(obj("bench/bpf", "naive"), NULL);
	double *link_us = calloc(cfg.link_swaps, sizeof(double));
	double *nl_us = calloc(cfg.link_swaps, sizeof(double));
	int fds[2], ifindex = ifindex_in(cfg.netns, "veth1"), saved, link;

	if (!o || bpf_object__load(o))
		die("load relink programs: %s", strerror(errno));
	fds[0] = bpf_program__fd(bpf_object__find_program_by_name(o, "xdp_a"));
	fds[1] = bpf_program__fd(bpf_object__find_program_by_name(o, "xdp_b"));
	saved = enter_netns();
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);
	link = bpf_link_create(fds[0], ifindex, BPF_XDP, &lo);
	if (link < 0)
		die("XDP link: %s", strerror(errno));
	for (int i = 0; i < cfg.link_swaps; i++) {
		double start = now();

		if (bpf_link_update(link, fds[(i + 1) % 2], NULL))
			die("bpf_link_update: %s", strerror(errno));
		link_us[i] = (now() - start) * 1e6;
	}
	close(link);	/* detaches */
	if (bpf_xdp_attach(ifindex, fds[0], XDP_FLAGS_DRV_MODE, NULL))
		die("netlink XDP attach: %s", strerror(errno));
	for (int i = 0; i < cfg.link_swaps; i++) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, xo, .old_prog_fd = fds[i % 2]);
		double start = now();

		if (bpf_xdp_attach(ifindex, fds[(i + 1) % 2], XDP_FLAGS_DRV_MODE |
				   XDP_FLAGS_REPLACE, &xo))
			die("netlink XDP replace: %s", strerror(errno));
		nl_us[i] = (now() - start) * 1e6;
	}
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	leave_netns(saved);
	bpf_object__close(o);
	res.link_update_p50 = percentile(link_us, cfg.link_swaps, 0.5);
	res.link_update_p99 = percentile(link_us, cfg.link_swaps, 0.99);
	res.netlink_p50 = percentile(nl_us, cfg.link_swaps, 0.5);
	res.netlink_p99 = percentile(nl_us, cfg.link_swaps, 0.99);
	fprintf(stderr, "  bpf_link_update p50 %.0f us; netlink replace p50 %.0f us\n",
		res.link_update_p50, res.netlink_p50);
	free(link_us);
	free(nl_us);
}

/* ---- 4. live frames per second ------------------------------------------ */

/* Packets counted so far: by a chain's column (fd: its stats), or by xdp_count. */
static __u64 counted(int fd, int column)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 n = 0;
	__u32 zero = 0;

	if (column >= 0) {
		/* the value: a column block per CPU, then the chain's events (nmr_abi.h) */
		struct nmr_chain_stats *st = calloc(ncpus, sizeof(struct nmr_chain_parts));

		if (!st || bpf_map_lookup_elem(fd, &zero, st))
			die("read chain counters: %s", strerror(errno));
		for (int c = 0; c < ncpus; c++)
			for (int v = 0; v < NMR_VERDICT_SLOTS; v++)
				n += st[c].binding[column].verdicts[v];
		free(st);
	} else {
		__u64 *v = calloc(ncpus, sizeof(*v));

		if (!v || bpf_map_lookup_elem(fd, &zero, v))
			die("read live counter: %s", strerror(errno));
		for (int c = 0; c < ncpus; c++)
			n += v[c];
		free(v);
	}
	return n;
}

static bool all_taken(void *arg)
{
	const long long *want = arg;

	return peer_rx_frames(cfg.netns, "veth1") >= *want;
}

/* Frames the program ran per second, while the sender goes as fast as it can. */
static double blast(int fd, int column)
{
	unsigned char frame[TEST_FRAME_LEN];
	struct sockaddr_ll sll;
	int tx = tx_socket(&sll);
	__u64 before = counted(fd, column);
	long long want = peer_rx_frames(cfg.netns, "veth1");
	double start = now(), sending;

	if (want < 0)
		die("read veth0's counters in %s", cfg.netns);
	test_frame(frame);
	while (now() - start < cfg.live_seconds)
		for (int i = 0; i < 256; i++)
			want += sendto(tx, frame, sizeof(frame), 0, (struct sockaddr *)&sll,
				       sizeof(sll)) > 0;
	sending = now() - start;
	close(tx);
	/* the frames still in veth0's ring run too: until it has taken all that were sent */
	if (!poll_until(all_taken, &want, 1.0))
		die("veth0 did not take the frames sent within 1 s");
	return (counted(fd, column) - before) / sending;
}

#define LIVE_ROUNDS 5

/* veth has NAPI only while XDP is attached: make it threaded after each attach. */
static void threaded_napi(void)
{
	if (sh("ip netns exec %s sh -c 'echo 1 > /sys/class/net/veth0/threaded'", cfg.netns))
		die("threaded NAPI on veth0");
}

static double live_chain(void)
{
	struct nmr_binding_record b;
	double pps;

	client("c2");
	threaded_napi();
	must(nmr_binding_find(reg, "c2:q4", &b), "find binding");
	int stats = pinned("client", "c2", "stats");

	pps = blast(stats, b.column);
	close(stats);
	must(nmr_client_deregister(reg, "c2"), "deregister client");
	return pps;
}

/* One program alone on the device, counting what it runs as the chain does. */
static double live_direct(int ifindex)
{
	struct bpf_object *o = bpf_object__open_file(obj("bench/bpf", "naive"), NULL);
	struct bpf_program *p;
	int prog, saved;
	double pps;

	if (!o)
		die("open xdp_count: %s", strerror(errno));
	bpf_object__for_each_program(p, o)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), "xdp_count"));
	if (bpf_object__load(o))
		die("load xdp_count: %s", strerror(errno));
	prog = bpf_program__fd(bpf_object__find_program_by_name(o, "xdp_count"));
	saved = enter_netns();
	if (bpf_xdp_attach(ifindex, prog, XDP_FLAGS_DRV_MODE, NULL))
		die("attach directly: %s", strerror(errno));
	leave_netns(saved);
	threaded_napi();
	pps = blast(bpf_map__fd(bpf_object__find_map_by_name(o, "live_count")), -1);
	saved = enter_netns();
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	leave_netns(saved);
	bpf_object__close(o);
	return pps;
}

/* Rounds of chain and direct back to back, alternating which goes first. */
static void bench_live(void)
{
	double direct[LIVE_ROUNDS], chain[LIVE_ROUNDS], ratio[LIVE_ROUNDS];
	int ifindex = ifindex_in(cfg.netns, "veth0");

	for (int i = 1; i <= 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "q%d", i);
		provider(obj("bench/bpf", "bench_pass"), name, i);
	}
	for (int r = 0; r < LIVE_ROUNDS; r++) {
		check_time("live");
		if (r % 2) {
			direct[r] = live_direct(ifindex);
			chain[r] = live_chain();
		} else {
			chain[r] = live_chain();
			direct[r] = live_direct(ifindex);
		}
		ratio[r] = chain[r] / direct[r];
	}
	res.pps_direct = percentile(direct, LIVE_ROUNDS, 0.5);
	res.pps_chain4 = percentile(chain, LIVE_ROUNDS, 0.5);
	res.pps_ratio = percentile(ratio, LIVE_ROUNDS, 0.5);
	fprintf(stderr, "  live: direct %.0f pps, 4-provider chain %.0f pps (ratio %.3f)\n",
		res.pps_direct, res.pps_chain4, res.pps_ratio);
	for (int i = 1; i <= 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "q%d", i);
		must(nmr_provider_deregister(reg, name), "deregister provider");
	}
}

/* ---- 5. registry -------------------------------------------------------- */

/* The CLI from exec to exit, with no shell in between; args: two words. */
static double time_cli_ms(const char *a1, const char *a2, const char *a3)
{
	char cli[300];
	double v[9];

	snprintf(cli, sizeof(cli), "%s/nmr-bpf", cfg.bin);
	for (int i = 0; i < 9; i++) {
		char *argv[] = { cli, "--root", cfg.root, (char *)a1, (char *)a2, (char *)a3,
				 NULL };
		double start = now();
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			execv(cli, argv);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || status)
			die("nmr-bpf %s %s %s failed", a1, a2, a3);
		v[i] = (now() - start) * 1e3;
	}
	return percentile(v, 9, 0.5);
}

static void bench_registry(void)
{
	NMR_OPTS(nmr_npi_opts, n, .name = "many", .hook = NMR_HOOK_XDP);

	/* the CLI's own start, before the registry holds a thousand providers to list */
	res.cold_ms = time_cli_ms("-j", "npi", "list");
	must(nmr_npi_register(reg, &n, NULL), "register npi");
	res.list_providers = 1000;
	for (int i = 0; i < res.list_providers; i++) {
		NMR_OPTS(nmr_provider_opts, o, .object_path = obj("bench/bpf", "bench_pass"),
					       .npi = "many");
		char name[16];

		snprintf(name, sizeof(name), "l%04d", i);
		o.name = name;
		if (i % 100 == 0)
			check_time("registry");
		must(nmr_provider_register(reg, &o, NULL), "register provider");
	}
	res.list_ms = time_cli_ms("-j", "provider", "list");
	fprintf(stderr, "  provider list with %d providers: %.1f ms; cold start: %.1f ms\n",
		res.list_providers, res.list_ms, res.cold_ms);
}

/*
 * provider register and deregister for an NPI with 1, 10, 50 and 100
 * clients: veth pairs in the bench's own namespace, each with an XDP client.
 */
static void bench_scale(void)
{
	NMR_OPTS(nmr_npi_opts, n, .name = "scale", .hook = NMR_HOOK_XDP);
	int have = 0;

	must(nmr_npi_register(reg, &n, NULL), "register npi");
	for (int k = 0; k < 4; k++) {
		NMR_OPTS(nmr_provider_opts, o, .object_path = obj("bench/bpf", "bench_pass"),
			 .npi = "scale", .name = "scalep");
		double start;

		for (; have < scale_clients[k]; have++) {
			char dev[16];
			NMR_OPTS(nmr_client_opts, c, .npi = "scale", .dev = dev,
				 .netns = cfg.netns, .name = dev);

			snprintf(dev, sizeof(dev), "sc%d", have);
			veth(dev);
			must(nmr_client_register(reg, &c, NULL), "register client");
			check_time("scale setup");
		}
		start = now();
		must(nmr_provider_register(reg, &o, NULL), "register provider");
		res.register_ms[k] = (now() - start) * 1e3;
		start = now();
		must(nmr_provider_deregister(reg, "scalep"), "deregister provider");
		res.deregister_ms[k] = (now() - start) * 1e3;
		fprintf(stderr, "  %3d clients: provider register %.1f ms, deregister %.1f ms\n",
			scale_clients[k], res.register_ms[k], res.deregister_ms[k]);
	}
}

/* ---- output ------------------------------------------------------------- */

static void cpu_name(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			snprintf(buf, len, "%s", c + 2);
			buf[strcspn(buf, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
}

static void write_results(void)
{
	char path[512], cpu[256];
	struct utsname u;
	FILE *f;

	uname(&u);
	cpu_name(cpu, sizeof(cpu));
	snprintf(path, sizeof(path), "%s/results.json", cfg.out);
	f = fopen(path, "w");
	if (!f)
		die("write %s: %s", path, strerror(errno));
	fprintf(f, "{\n  \"kernel\": \"%s\",\n  \"cpu\": \"%s\",\n  \"cpus\": %ld,\n"
		"  \"quick\": %s,\n", u.release, cpu, sysconf(_SC_NPROCESSORS_ONLN),
		cfg.quick ? "true" : "false");
	fprintf(f, "  \"test_run_ns\": {\n    \"repeat\": %d,\n    \"runs\": %d,\n"
		"    \"direct\": %.2f,\n", cfg.repeat, cfg.runs, res.direct);
	for (int k = 0; k < 2; k++) {
		fprintf(f, "    \"%s\": {", k ? "naive_chain" : "chain");
		for (int i = 0; i < NLEN; i++)
			fprintf(f, "%s\"%d\": %.2f", i ? ", " : "", lengths[i],
				k ? res.naive[i] : res.chain[i]);
		fprintf(f, "}%s\n", k ? "" : ",");
	}
	fprintf(f, "    ,\"bare_hops\": {");
	for (int i = 0; i < NLEN; i++)
		fprintf(f, "%s\"%d\": %.2f", i ? ", " : "", lengths[i], res.bare[i]);
	fprintf(f, "}\n");
	fprintf(f, "  },\n  \"dispatcher_overhead_se_ns\": %.2f,\n", res.overhead_se);
	fprintf(f, "  \"dispatcher_overhead_ns\": %.2f,\n"
		"  \"dispatcher_overhead_vs_counting_ns\": %.2f,\n  \"per_hop_ns\": %.2f,\n"
		"  \"naive_per_hop_ns\": %.2f,\n  \"bare_hop_ns\": %.2f,\n", res.overhead,
		res.overhead_counting, res.per_hop, res.naive_per_hop, res.bare_per_hop);
	fprintf(f, "  \"swap_us\": {\"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f, \"count\": %ld},\n",
		res.swap_p50, res.swap_p99, res.swap_max, res.swaps);
	fprintf(f, "  \"swap_under_traffic_us\": {\"p50\": %.1f, \"p99\": %.1f},\n",
		res.busy_swap_p50, res.busy_swap_p99);
	fprintf(f, "  \"replace_ms\": {\"p50\": %.2f},\n", res.replace_ms_p50);
	fprintf(f, "  \"change_ms\": {\"p50\": %.2f, \"p99\": %.2f},\n", res.change_ms_p50,
		res.change_ms_p99);
	fprintf(f, "  \"unbind_ms\": {\"p50\": %.2f},\n", res.unbind_ms_p50);
	fprintf(f, "  \"change_stamp_ms\": {\"p50\": %.2f, \"p99\": %.2f},\n",
		res.change_stamp_ms_p50, res.change_stamp_ms_p99);
	for (int k = 0; k < 2; k++) {
		fprintf(f, "  \"%s\": {", k ? "provider_deregister_ms" : "provider_register_ms");
		for (int i = 0; i < 4; i++)
			fprintf(f, "%s\"%d\": %.1f", i ? ", " : "", scale_clients[i],
				k ? res.deregister_ms[i] : res.register_ms[i]);
		fprintf(f, "},\n");
	}
	fprintf(f, "  \"link_update_us\": {\"p50\": %.1f, \"p99\": %.1f},\n", res.link_update_p50,
		res.link_update_p99);
	fprintf(f, "  \"netlink_replace_us\": {\"p50\": %.1f, \"p99\": %.1f},\n", res.netlink_p50,
		res.netlink_p99);
	fprintf(f, "  \"hitless\": {\"swaps\": %ld, \"sent\": %ld, \"received\": %ld, "
		"\"lost\": %ld, \"misrouted\": %ld},\n", res.swaps, res.sent, res.received,
		res.lost, res.misrouted);
	fprintf(f, "  \"live_pps\": {\"direct\": %.0f, \"chain4\": %.0f},\n", res.pps_direct,
		res.pps_chain4);
	fprintf(f, "  \"live_pps_ratio_chain4\": %.3f,\n", res.pps_ratio);
	fprintf(f, "  \"list_1000_ms\": %.1f,\n  \"cold_start_ms\": %.1f\n}\n", res.list_ms,
		res.cold_ms);
	fclose(f);

	snprintf(path, sizeof(path), "%s/chain.dat", cfg.out);
	f = fopen(path, "w");
	if (!f)
		die("write %s: %s", path, strerror(errno));
	fprintf(f, "# providers direct nmr-bpf naive bare-hops (ns/packet, BPF_PROG_TEST_RUN)\n");
	for (int i = 0; i < NLEN; i++)
		fprintf(f, "%d %.2f %.2f %.2f %.2f\n", lengths[i], res.direct, res.chain[i],
			res.naive[i], res.bare[i]);
	fclose(f);

	snprintf(path, sizeof(path), "%s/scale.dat", cfg.out);
	f = fopen(path, "w");
	if (!f)
		die("write %s: %s", path, strerror(errno));
	fprintf(f, "# clients provider-register-ms provider-deregister-ms\n");
	for (int i = 0; i < 4; i++)
		fprintf(f, "%d %.2f %.2f\n", scale_clients[i], res.register_ms[i],
			res.deregister_ms[i]);
	fclose(f);
}

static const char *verdict(bool ok)
{
	return ok ? "met" : "**missed**";
}

/* docs/BENCHMARKS.md: the last run's table, each figure beside its goal. */
static void write_report(const char *path)
{
	char cpu[256];
	struct utsname u;
	FILE *f = fopen(path, "w");

	if (!f)
		die("write %s: %s", path, strerror(errno));
	uname(&u);
	cpu_name(cpu, sizeof(cpu));
	fprintf(f, "# nmr-bpf benchmarks\n\n"
		"Made by `make bench`%s (bench/bench.c); every figure below comes from one run, "
		"measured side by side.\n\nMachine: %s, %ld CPUs, kernel %s.\n\n",
		cfg.quick ? " with QUICK=1 (fewer repeats and swaps)" : "", cpu,
		sysconf(_SC_NPROCESSORS_ONLN), u.release);
	fprintf(f, "## Goals\n\n| figure | measured | goal | |\n|---|---|---|---|\n");
	fprintf(f, "| change: bind one provider into a 4-provider chain (`nmr_provider_register`, "
		"call to return), p50 | %.2f ms | <= 5 ms | %s |\n", res.change_ms_p50,
		verdict(res.change_ms_p50 <= 5));
	fprintf(f, "| CLI cold start (`nmr-bpf -j npi list`, exec to exit) | %.1f ms | <= 10 ms "
		"| %s |\n", res.cold_ms, verdict(res.cold_ms <= 10));
	for (int k = 0; k < 4; k++)
		fprintf(f, "| provider register / deregister, NPI with %d clients | %.1f / %.1f ms "
			"| %s | %s |\n", scale_clients[k], res.register_ms[k], res.deregister_ms[k],
			scale_clients[k] == 100 ? "<= 500 ms each" : "",
			scale_clients[k] == 100 ? verdict(res.register_ms[k] <= 500 &&
							  res.deregister_ms[k] <= 500) : "");
	fprintf(f, "| swap, p50 (the one write of the client's chain table) | %.1f us | <= 100 us "
		"| %s |\n", res.swap_p50, verdict(res.swap_p50 <= 100));
	fprintf(f, "| swap, p99 | %.1f us | <= 1000 us | %s |\n", res.swap_p99,
		verdict(res.swap_p99 <= 1000));
	fprintf(f, "| dispatcher overhead: hook -> table -> 1-provider chain vs the provider "
		"alone (standard error %.2f ns) | %.2f ns | <= bare hop + 1 = %.2f ns | %s |\n",
		res.overhead_se, res.overhead, res.bare_per_hop + 1,
		verdict(res.overhead <= res.bare_per_hop + 1));
	fprintf(f, "| (reference) a bare constant-key tail-call hop on this machine | %.2f ns | | |\n",
		res.bare_per_hop);
	fprintf(f, "| per extra provider (slope over 1..32) | %.2f ns | <= 1.5 ns | %s |\n",
		res.per_hop, verdict(res.per_hop <= 1.5));
	fprintf(f, "| frames lost during %ld XDP swaps (the TC hitless test: tests/test_hitless.c) "
		"| %ld of %ld | 0 | %s |\n", res.swaps, res.lost, res.sent,
		verdict(res.lost == 0));
	fprintf(f, "| frames misrouted (not one whole chain) | %ld | 0 | %s |\n", res.misrouted,
		verdict(res.misrouted == 0));
	fprintf(f, "| live frames/s, 4-provider chain / provider alone | %.3f | >= 0.95 | %s |\n\n",
		res.pps_ratio, verdict(res.pps_ratio >= 0.95));

	fprintf(f, "## BPF_PROG_TEST_RUN, ns per 64-byte packet\n\n"
		"Median of %d runs of %d repeats (the kernel's figure, in whole ns). *nmr-bpf*: "
		"the client's chain program, the providers' code linked into one program. "
		"*naive*: one prog array for the whole chain and the position in a per-CPU "
		"cursor, so each hop tail-calls with a key read at run time. *bare hops*: "
		"programs that do nothing but tail-call their own one-slot table with a "
		"constant key, what a tail-call chain costs at the least. The provider "
		"(bench/bpf/bench_pass.bpf.c) does nothing but return its verdict, so what "
		"is measured is the composition itself. Provider alone: %.2f ns; a program "
		"alone that counts what it runs in a per-CPU counter (bench/bpf/naive.bpf.c, "
		"xdp_count): %.2f ns.\n\n"
		"| providers | nmr-bpf | naive | bare hops | nmr-bpf - alone | naive - alone |\n"
		"|---|---|---|---|---|---|\n", cfg.runs, cfg.repeat, res.direct, res.counting);
	for (int i = 0; i < NLEN; i++)
		fprintf(f, "| %d | %.1f | %.1f | %.1f | %+.1f | %+.1f |\n", lengths[i], res.chain[i],
			res.naive[i], res.bare[i], res.chain[i] - res.direct,
			res.naive[i] - res.direct);
	fprintf(f, "\nPer hop (slope, the median of per-round slopes): nmr-bpf %.2f ns, naive "
		"%.2f ns, bare hops %.2f ns. An nmr-bpf hop is no call and no tail call: a few "
		"instructions that count the verdict in the binding's per-CPU counters and test "
		"it against the continue-on set. A constant-key tail call costs the bare-hop "
		"figure here (kernel 6.18 keeps the tail-call counter in memory).\n\n"
		"Each round measures every configuration back to back, in rotating order: this "
		"machine's speed drifts by up to 2x from moment to moment, and side-by-side "
		"rounds keep the comparisons fair. The nmr-bpf column runs the client's "
		"dispatcher, which tail-calls the chain from the client's chain table.\n\n"
		"![ns per packet against chain length](bench-chain.png)\n\n"
		"### The dispatcher itself\n\n"
		"What the dispatcher and a 1-provider chain cost over the provider alone: the "
		"dispatcher's constant-key tail call into the chain table, and the chain's own "
		"work per packet (it finds this CPU's counters from the CPU number and counts "
		"the verdict in the binding's column). %.2f ns over the "
		"provider alone (standard error %.2f), %.2f ns over a program that counts per "
		"CPU itself (bench/bpf/naive.bpf.c, xdp_count). Where a program's JIT image "
		"lands moves its time by up to 2 ns, so %d loads of each program are measured, "
		"not attached, and averaged per round; the figure is the trimmed mean of %d "
		"rounds' differences.\n\n",
		res.per_hop, res.naive_per_hop, res.bare_per_hop, res.overhead, res.overhead_se,
		res.overhead_counting, res.overhead_copies, res.overhead_rounds);

	fprintf(f, "## Changes and swaps\n\n| path | p50 | p99 |\n|---|---|---|\n"
		"| nmr-bpf swap: the new chain written into slot 0 of the client's chain table | "
		"%.1f us | %.1f us |\n"
		"| the same, while live frames keep the other CPU busy | %.1f us | %.1f us |\n"
		"| (other designs) XDP bpf_link_update | %.0f us | %.0f us |\n"
		"| (other designs) netlink XDP replace (libxdp's path) | %.0f us | %.0f us |\n\n"
		"The hook runs the client's dispatcher, attached once at registration; it "
		"tail-calls slot 0 of the client's chain table with a constant key. A change "
		"loads the new chain and writes it into that slot: no link update, nothing "
		"else on the hook changes. What a user waits for:\n\n"
		"| change | p50 | p99 |\n|---|---|---|\n"
		"| bind one provider into a 4-provider chain (`provider register`: verify "
		"the object, load its instance and the new chain, one slot write) | %.2f ms | "
		"%.2f ms |\n"
		"| the same with stamp providers, whose loops the verifier walks in every chain | "
		"%.2f ms | %.2f ms |\n"
		"| unbind it again (`provider deregister`: load the chain without it, one slot "
		"write, then one RCU grace period so that no packet still runs it) | %.2f ms | |\n"
		"| `provider replace` of provider 2 (new instance, new chain, one slot write, "
		"one grace period) | %.2f ms | |\n\n"
		"A command waits for a grace period once, whatever the number of clients it "
		"changed, and only when code left a chain: a bind waits for none.\n\n"
		"### Provider registration against the number of clients\n\n"
		"| clients of the NPI | provider register | provider deregister |\n|---|---|---|\n",
		res.swap_p50, res.swap_p99, res.busy_swap_p50, res.busy_swap_p99,
		res.link_update_p50, res.link_update_p99, res.netlink_p50, res.netlink_p99,
		res.change_ms_p50, res.change_ms_p99, res.change_stamp_ms_p50,
		res.change_stamp_ms_p99, res.unbind_ms_p50, res.replace_ms_p50);
	for (int k = 0; k < 4; k++)
		fprintf(f, "| %d | %.1f ms | %.1f ms |\n", scale_clients[k], res.register_ms[k],
			res.deregister_ms[k]);
	fprintf(f, "\nPer client: one instance load, one chain load, one slot write.\n\n"
		"![provider register and deregister against clients](bench-scale.png)\n\n");
	fprintf(f, "## Hitless\n\n%ld swaps of provider 2 of a 4-provider chain between two "
		"versions, under live frames on a veth pair: %ld sent, %ld received, %ld lost, "
		"%ld misrouted (a frame is checked to carry the stamps of all four providers, "
		"in order, with one version of provider 2).\n\n",
		res.swaps, res.sent, res.received, res.lost, res.misrouted);
	fprintf(f, "## Live frames\n\nFrames per second the XDP hook ran, an AF_PACKET sender "
		"on the peer (kept to CPU 0) going as fast as it can, the receiving veth's NAPI "
		"threaded so that, as on a NIC, frames are processed on another CPU (rounds of both back to back, medians of %d): "
		"one program alone that counts what it runs (as the chain counts per binding) "
		"%.0f, 4-provider chain %.0f, ratio %.3f. The sender is the bottleneck here, so "
		"this shows that the chain costs no throughput, not its ceiling.\n\n",
		LIVE_ROUNDS, res.pps_direct, res.pps_chain4, res.pps_ratio);
	fprintf(f, "## Registry\n\n`nmr-bpf -j provider list` with %d providers: %.1f ms. "
		"CLI cold start (`nmr-bpf -j npi list`, exec to exit, before those providers were "
		"registered: open the registry, list its NPIs): %.1f ms.\n",
		res.list_providers, res.list_ms, res.cold_ms);
	fclose(f);
}

int main(int argc, char **argv)
{
	NMR_OPTS(nmr_npi_opts, npi, .name = "bench", .hook = NMR_HOOK_XDP);
	double start = now();

	snprintf(cfg.out, sizeof(cfg.out), "bench");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			cfg.quick = true;
		else if (!strcmp(argv[i], "--overhead"))
			cfg.overhead_only = true;
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			snprintf(cfg.out, sizeof(cfg.out), "%s", argv[++i]);
		else
			die("usage: nmr-bench [--quick] [--overhead] [--out DIR]");
	}
	if (geteuid())
		die("needs root (BPF, network namespaces)");
	snprintf(cfg.bin, sizeof(cfg.bin), "%s", getenv("NMR_BENCH_BIN") ?: "build");
	cfg.repeat = cfg.quick ? 50000 : 200000;
	cfg.runs = cfg.quick ? 11 : 31;
	cfg.swaps = cfg.quick ? 200 : 1000;
	cfg.link_swaps = cfg.quick ? 40 : 200;
	cfg.live_seconds = cfg.quick ? 0.5 : 1.5;
	cfg.deadline = start + (cfg.quick ? 60 : 300);

	snprintf(cfg.root, sizeof(cfg.root), "/sys/fs/bpf/nmr-bench-%d", getpid());
	snprintf(cfg.netns, sizeof(cfg.netns), "nmr-bench-%d", getpid());
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, on_signal);	/* e.g. piped into head: still clean up */
	libbpf_set_print(NULL);
	if (netns_create(cfg.netns))
		die("cannot create netns %s with a veth pair", cfg.netns);
	must(nmr_registry_open(cfg.root, 0, &reg), "open registry");
	must(nmr_npi_register(reg, &npi, NULL), "register npi");

	pin_to_cpu(sysconf(_SC_NPROCESSORS_ONLN) - 1);	/* test runs execute on the caller's CPU */
	fprintf(stderr, "nmr-bench%s: 1. BPF_PROG_TEST_RUN (repeat %d, median of %d)\n",
		cfg.quick ? " (quick)" : "", cfg.repeat, cfg.runs);
	if (cfg.overhead_only) {	/* the dispatcher's own cost, alone: no report */
		bench_overhead();
		return 0;
	}
	bench_test_run();
	bench_overhead();
	pin_to_cpu(-1);
	fprintf(stderr, "2, 3. changes, and swaps under live frames\n");
	bench_change();
	bench_swaps();
	bench_relink();
	fprintf(stderr, "4. live frames per second\n");
	/*
	 * As on a NIC, frames are processed on another CPU than the one making
	 * them: veth0's NAPI runs threaded, and the sender keeps to CPU 0.
	 */
	pin_to_cpu(0);
	bench_live();
	pin_to_cpu(-1);
	fprintf(stderr, "5. registry\n");
	bench_scale();
	bench_registry();
	nmr_registry_close(reg);
	write_results();
	write_report(getenv("NMR_BENCH_REPORT") ?: "docs/BENCHMARKS.md");
	fprintf(stderr, "nmr-bench: done in %.0f s: %s/results.json\n", now() - start, cfg.out);
	return 0;
}
