// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "helpers.h"

struct test_env env;
static int env_seq;

static void vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	if ((size_t)vsnprintf(buf, len, fmt, ap) >= len)
		cr_assert_fail("command too long");
}

static void read_into(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = 0;
}

int cli(struct cli_result *r, const char *fmt, ...)
{
	char args[4096], out[128], err[128];
	va_list ap;

	va_start(ap, fmt);
	vformat(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out), "%s/out", env.tmp);
	snprintf(err, sizeof(err), "%s/err", env.tmp);
	r->status = sh("%s/nmr-bpf --root %s %s >%s 2>%s </dev/null", env.bin, env.root, args,
		       out, err);
	read_into(out, r->out, sizeof(r->out));
	read_into(err, r->err, sizeof(r->err));
	return r->status;
}

static void common_setup(void)
{
	const char *bin = getenv("NMR_TEST_BIN");

	if (geteuid() != 0)
		cr_skip_test("needs root (BPF, network namespaces)");
	snprintf(env.bin, sizeof(env.bin), "%s", bin ? bin : "build");
	env_seq++;
	snprintf(env.root, sizeof(env.root), "/sys/fs/bpf/nmrt-%d-%d", getpid(), env_seq);
	snprintf(env.tmp, sizeof(env.tmp), "/tmp/nmrt-%d-%d", getpid(), env_seq);
	if (sh("mkdir -p %s", env.tmp))
		cr_assert_fail("cannot create %s", env.tmp);
	/* bpffs is not mounted at boot on our machines */
	sh("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf");
}

void env_setup_no_netns(void)
{
	env.netns[0] = 0;
	common_setup();
}

void env_setup(void)
{
	common_setup();
	snprintf(env.netns, sizeof(env.netns), "nmrt-%d-%d", getpid(), env_seq);
	if (netns_create(env.netns))
		cr_assert_fail("cannot create network namespace %s with a veth pair", env.netns);
}

void demo_npi_client(const char *hook, const char *dev, const char *extra)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register demo --hook %s", hook), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "client register --npi demo --dev %s --netns %s --name c0 %s", dev,
			 env.netns, extra), 0, "%s", r.err);
}

void env_setup_demo(void)
{
	env_setup();
	demo_npi_client("xdp", "veth0", "");
}

static pid_t children[16];
static int nchildren;

void env_track_child(pid_t pid)
{
	if (pid > 0 && nchildren < (int)(sizeof(children) / sizeof(children[0])))
		children[nchildren++] = pid;
}

/* Processes a test started and did not reap (it failed half-way): SIGKILL, by pid. */
static void reap_children(void)
{
	for (int i = 0; i < nchildren; i++) {
		if (waitpid(children[i], NULL, WNOHANG) != 0)
			continue;	/* reaped already, or not ours */
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
	}
	nchildren = 0;
}

void env_teardown(void)
{
	reap_children();
	if (!env.root[0])
		return;
	registry_remove(env.bin, env.root);
	if (env.netns[0])	/* and those a test made beside it, named after it */
		netns_remove(env.netns);
	sh("rm -rf %s", env.tmp);
	env.root[0] = 0;
}

const char *bpf_obj(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/bpf/%s.bpf.o", env.bin, name);
	return path;
}

const char *test_obj(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/tests/bpf/%s.bpf.o", env.bin, name);
	return path;
}

int netns_enter(int *saved)
{
	return netns_enter_named(env.netns, saved);
}

void netns_leave(int saved)
{
	if (netns_return(saved))
		cr_assert_fail("cannot return to the test's network namespace");
}

int send_frames(const char *dev, int count)
{
	return frames_send(env.netns, dev, count);
}

__u32 xdp_prog_on(const char *dev)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int saved;
	__u32 id = 0;

	if (netns_enter(&saved))
		cr_assert_fail("cannot enter %s", env.netns);
	if (!bpf_xdp_query(if_nametoindex(dev), 0, &q))
		id = q.prog_id ?: q.drv_prog_id ?: q.skb_prog_id;
	netns_leave(saved);
	return id;
}

char *registry_snapshot(void)
{
	char path[128];
	char *buf = malloc(1 << 20);

	snprintf(path, sizeof(path), "%s/snapshot", env.tmp);
	sh("(for m in meta npis providers clients bindings; do echo \"== $m\"; "
	   "bpftool map dump pinned %s/$m 2>&1; done; echo '== pins'; "
	   "find %s 2>&1 | sort) >%s", env.root, env.root, path);
	read_into(path, buf, 1 << 20);
	return buf;
}

struct nmr_registry *open_registry(void)
{
	struct nmr_registry *reg = NULL;

	if (nmr_registry_open(env.root, 0, &reg))
		cr_assert_fail("open registry %s: %s", env.root, nmr_last_error());
	return reg;
}

__u64 pinned_u64(const char *path, size_t offset)
{
	char value[4096];
	__u32 zero = 0;
	__u64 v = 0;
	int fd = bpf_obj_get(path);

	if (fd < 0)
		cr_assert_fail("open pinned map %s: %s", path, strerror(errno));
	if (bpf_map_lookup_elem(fd, &zero, value))
		cr_assert_fail("read %s: %s", path, strerror(errno));
	memcpy(&v, value + offset, sizeof(v));
	close(fd);
	return v;
}

struct u64_at {
	const char *path;
	size_t offset;
	__u64 want, got;
};

static bool u64_reached(void *arg)
{
	struct u64_at *u = arg;

	u->got = pinned_u64(u->path, u->offset);
	return u->got == u->want;
}

__u64 pinned_u64_wait(const char *path, size_t offset, __u64 want)
{
	struct u64_at u = { .path = path, .offset = offset, .want = want };

	poll_until(u64_reached, &u, 2.0);
	return u.got;
}

const char *provider_map(const char *provider, const char *map)
{
	static char path[512];
	struct nmr_provider_record p;
	struct nmr_registry *reg = open_registry();
	char guid[NMR_GUID_STR_LEN];

	if (nmr_provider_find(reg, provider, &p))
		cr_assert_fail("no provider %s: %s", provider, nmr_last_error());
	nmr_guid_format(&p.id, guid);
	snprintf(path, sizeof(path), "%s/provider/%s/maps/%s", env.root, guid, map);
	nmr_registry_close(reg);
	return path;
}

int rx_open(const char *dev)
{
	int fd = rx_open_in(env.netns, dev);

	if (fd < 0)
		cr_assert_fail("AF_PACKET receiver on %s in %s: %s", dev, env.netns, strerror(-fd));
	return fd;
}

int rx_count(int fd)
{
	return rx_drain(fd);
}

int set_binding_context(const char *binding, __u8 id, int verdict)
{
	struct nmr_registry *reg = open_registry();
	struct nmr_binding_record b;
	__u8 data[2] = { id, verdict < 0 ? 0 : (__u8)(verdict + 1) };
	int err = nmr_binding_find(reg, binding, &b);

	if (!err)
		err = nmr_binding_context_write(reg, &b, data, sizeof(data));
	nmr_registry_close(reg);
	return err;
}

int tcx_prog_count(const char *dev, bool ingress)
{
	LIBBPF_OPTS(bpf_prog_query_opts, q);
	__u32 ids[16];
	int saved, err;

	q.prog_ids = ids;
	q.prog_cnt = 16;
	if (netns_enter(&saved))
		cr_assert_fail("cannot enter %s", env.netns);
	/* BPF_TCX_INGRESS / BPF_TCX_EGRESS: 46 / 47, missing from bookworm's headers */
	err = bpf_prog_query_opts(if_nametoindex(dev), ingress ? 46 : 47, &q);
	netns_leave(saved);
	return err ? -1 : (int)q.prog_cnt;
}

const char *client_pin(const char *client, const char *leaf)
{
	static char path[512];
	struct nmr_registry *reg = open_registry();
	struct nmr_client_record c;
	char guid[NMR_GUID_STR_LEN];

	path[0] = 0;
	if (!nmr_client_find(reg, client, &c)) {
		nmr_guid_format(&c.id, guid);
		snprintf(path, sizeof(path), "%s/client/%s/%s", env.root, guid, leaf);
	}
	nmr_registry_close(reg);
	return path;
}

__u32 chain_table_prog(const char *client)
{
	const char *path = client_pin(client, "chain_table");
	__u32 zero = 0, id = 0;
	int fd = path[0] ? bpf_obj_get(path) : -1;

	if (fd >= 0 && bpf_map_lookup_elem(fd, &zero, &id))
		id = 0;
	if (fd >= 0)
		close(fd);
	return id;
}
