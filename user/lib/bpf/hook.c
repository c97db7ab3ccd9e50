// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The client side of the data path:
 *
 *   hook --> dispatcher --tail call, slot 0--> chain table --> chain (linker.c)
 *
 * The dispatcher goes on the device's hook once, at registration, through a
 * pinned BPF link (XDP, TCX) so that it outlives the registrar process, or a
 * cls_bpf filter (TC through netlink), and never changes while the client
 * exists. Every change of the client's chain is one write of its chain
 * table's slot (commit.c). Pins under client/<id>/: NMR_PIN_* in
 * nmr_internal.h.
 */
#include <errno.h>
#include <stddef.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpf/nmr_bpf.h"

/* Missing from bookworm's uapi headers; the kernel has them (TCX, 6.6+). */
#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46
#define BPF_TCX_EGRESS 47
#endif

static void prog_describe(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &info_len))
		snprintf(buf, len, "program %s (id %u)", info.name, id);
	else
		snprintf(buf, len, "program id %u", id);
	if (fd >= 0)
		close(fd);
}

/* What XDP program, if any, the device runs now; *flags: the mode it runs in. */
static __u32 xdp_current(const struct nmr_client_record *c, __u32 *flags)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(c->ifindex, 0, &q) || q.attach_mode == XDP_ATTACHED_NONE)
		return 0;
	*flags = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
		 q.attach_mode == XDP_ATTACHED_HW ? XDP_FLAGS_HW_MODE : XDP_FLAGS_DRV_MODE;
	return q.prog_id ?: q.drv_prog_id ?: q.skb_prog_id ?: q.hw_prog_id;
}

/*
 * A device already running XDP that nmr-bpf did not put there is never
 * clobbered, unless the user says --force; then the foreign program is
 * detached, and put back if our attachment fails.
 */
static int attach_xdp(struct nmr_client_record *c, int prog_fd, bool force)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	__u32 foreign, foreign_flags = 0;
	char what[64];
	int fd, err;

	foreign = xdp_current(c, &foreign_flags);
	if (foreign) {
		prog_describe(foreign, what, sizeof(what));
		if (!force)
			return nmr_error(-EBUSY, "register client %s: device %s already runs XDP "
					 "%s, which nmr-bpf did not attach; it is left alone "
					 "(detach it first, or replace it with --force)", c->name,
					 c->dev, what);
		if (bpf_xdp_detach(c->ifindex, foreign_flags, NULL))
			return nmr_error(-errno, "register client %s: detach %s from %s: %s%s",
					 c->name, what, c->dev, strerror(errno), errno == EBUSY ?
					 " (it is attached through a BPF link: remove the link)" :
					 "");
	}
	lo.flags = c->mode == NMR_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(prog_fd, c->ifindex, BPF_XDP, &lo);
	if (fd >= 0)
		return fd;
	if (c->mode == NMR_MODE_NATIVE && (errno == EOPNOTSUPP || errno == EINVAL))
		err = nmr_error(-errno, "register client %s: device %s does not support native "
				"XDP (%s); use --mode skb", c->name, c->dev, strerror(errno));
	else
		err = nmr_error(-errno, "register client %s: attach to %s: %s", c->name, c->dev,
				strerror(errno));
	if (foreign) {
		int ffd = bpf_prog_get_fd_by_id(foreign);

		if (ffd < 0 || bpf_xdp_attach(c->ifindex, ffd, foreign_flags, NULL))
			nmr_error_prefix(err, "could not put %s back on %s", what, c->dev);
		if (ffd >= 0)
			close(ffd);
	}
	return err;
}

static enum bpf_tc_attach_point tc_point(const struct nmr_client_record *c)
{
	return c->hook == NMR_HOOK_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

/* A cls_bpf filter found by the program it runs: its handle and priority. */
struct tc_found {
	__u32 prog_id;		/* the program to look for; 0: none */
	__u32 handle, priority;	/* where it is; 0: not found */
};

/* The cls_bpf program id in a filter's TCA_OPTIONS, or 0. */
static __u32 tc_filter_prog(struct tcmsg *tc, int len)
{
	struct rtattr *rta = (struct rtattr *)((char *)tc + NLMSG_ALIGN(sizeof(*tc)));

	len -= NLMSG_ALIGN(sizeof(*tc));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		struct rtattr *opt = RTA_DATA(rta);
		int olen = RTA_PAYLOAD(rta);

		if (rta->rta_type != TCA_OPTIONS)
			continue;
		for (; RTA_OK(opt, olen); opt = RTA_NEXT(opt, olen))
			if (opt->rta_type == TCA_BPF_ID && RTA_PAYLOAD(opt) >= sizeof(__u32))
				return *(__u32 *)RTA_DATA(opt);
	}
	return 0;
}

/* Calls fn for each object a netlink dump of type (RTM_GETTFILTER, RTM_GETQDISC) returns. */
static int tc_dump(__u16 type, int ifindex, __u32 parent,
		   void (*fn)(struct nlmsghdr *nh, struct tcmsg *tc, void *ctx), void *ctx)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = type,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = parent },
	};
	char buf[16384];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), err = 0;
	bool done = false;

	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0) {
		close(fd);
		return -errno;
	}
	while (!done) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;

		if (len <= 0) {
			err = len < 0 ? -errno : -EIO;
			break;
		}
		for (; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR) {
				err = nh->nlmsg_type == NLMSG_ERROR ? -EIO : 0;
				done = true;
				break;
			}
			if (nh->nlmsg_type == type - 2)	/* RTM_NEW* answers RTM_GET* */
				fn(nh, NLMSG_DATA(nh), ctx);
		}
	}
	close(fd);
	return err;
}

struct tc_count {
	int n;
	struct tc_found *found;
};

static void count_filter(struct nlmsghdr *nh, struct tcmsg *tc, void *ctx)
{
	struct tc_count *k = ctx;

	k->n++;
	if (k->found && k->found->prog_id && tc->tcm_handle &&
	    tc_filter_prog(tc, nh->nlmsg_len - NLMSG_HDRLEN) == k->found->prog_id) {
		k->found->handle = tc->tcm_handle;
		k->found->priority = TC_H_MAJ(tc->tcm_info) >> 16;
	}
}

/*
 * How many filters the device's clsact holds on one side (parent), by a netlink dump;
 * with found, also where the one running found->prog_id is.
 */
static int clsact_filters(int ifindex, __u32 parent, struct tc_found *found)
{
	struct tc_count k = { .found = found };
	int err = tc_dump(RTM_GETTFILTER, ifindex, parent, count_filter, &k);

	return err ?: k.n;
}

static void find_clsact(struct nlmsghdr *nh, struct tcmsg *tc, void *ctx)
{
	struct rtattr *rta = (struct rtattr *)((char *)tc + NLMSG_ALIGN(sizeof(*tc)));
	int len = nh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(*tc));

	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == TCA_KIND && !strcmp(RTA_DATA(rta), "clsact"))
			*(bool *)ctx = true;
}

/* Whether the device (of this network namespace) has a clsact qdisc; false if unsure. */
static bool has_clsact(int ifindex)
{
	bool found = false;

	return !tc_dump(RTM_GETQDISC, ifindex, 0, find_clsact, &found) && found;
}

/*
 * TC through clsact + cls_bpf: not a link, so it is found again by handle and priority.
 * That the qdisc is ours is saved before the filter goes in: a kill then leaves a record
 * that says what to remove.
 */
static int attach_tc_netlink(struct nmr_registry *reg, struct nmr_client_record *c, int prog_fd,
			     nmr_client_save_fn save)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = c->ifindex, .attach_point = tc_point(c));
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	int err = 0;

	/*
	 * A clsact we make is ours: removed with the last filter, if no one else's is
	 * there. The record says so before the qdisc exists, so that a kill after it
	 * is made leaves a record that says to remove it.
	 */
	if (!has_clsact(c->ifindex)) {
		c->flags |= NMR_CLIENT_F_CLSACT;
		err = save(reg, c);
	}
	if (!err)
		err = bpf_tc_hook_create(&hook);
	if (err == -EEXIST) {	/* there already, or made since we looked: not ours */
		c->flags &= ~NMR_CLIENT_F_CLSACT;
		err = 0;
	}
	if (err)
		return nmr_error(err, "register client %s: create clsact on %s: %s", c->name,
				 c->dev, strerror(-err));
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		if (c->flags & NMR_CLIENT_F_CLSACT) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
		return nmr_error(err, "register client %s: attach cls_bpf to %s %s: %s", c->name,
				 c->dev, nmr_hook_name(c->hook), strerror(-err));
	}
	c->tc_handle = opts.handle;
	c->tc_priority = opts.priority;
	return 0;
}

/* Returns a link fd, 0 for TC through netlink, or a negative error. */
static int attach(struct nmr_registry *reg, struct nmr_client_record *c, int prog_fd, bool force,
		  nmr_client_save_fn save)
{
	int fd;

	if (c->hook == NMR_HOOK_XDP)
		return attach_xdp(c, prog_fd, force);
	if (c->flags & NMR_CLIENT_F_TC_NETLINK)
		return attach_tc_netlink(reg, c, prog_fd, save);
	fd = bpf_link_create(prog_fd, c->ifindex, c->hook == NMR_HOOK_TC_INGRESS ?
			     BPF_TCX_INGRESS : BPF_TCX_EGRESS, NULL);
	if (fd < 0)
		return nmr_error(-errno, "register client %s: attach TCX to %s %s: %s%s", c->name,
				 c->dev, nmr_hook_name(c->hook), strerror(errno),
				 errno == EINVAL ? " (a kernel without TCX? try --tc-netlink)" :
				 "");
	return fd;
}

static int pin_fd(struct nmr_registry *reg, const struct nmr_client_record *c, int fd,
		  const char *leaf)
{
	char path[PATH_MAX];
	int err = nmr_client_path(reg, c, leaf, path, sizeof(path));

	if (!err && bpf_obj_pin(fd, path))
		err = nmr_error(-errno, "register client %s: pin %s: %s", c->name, path,
				strerror(errno));
	return err;
}

/*
 * The client's own dispatch table in NMR's sense (its callbacks): one
 * program, its default action, run when its chain hands a packet on.
 */
static int client_dispatch(const struct nmr_client_record *c, int prog_fd)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "nmr_client_disp", 4, 4, 1, NULL);
	__u32 zero = 0;

	if (fd < 0)
		return nmr_error(-errno, "register client %s: create its client dispatch table: %s",
				 c->name, strerror(errno));
	if (bpf_map_update_elem(fd, &zero, &prog_fd, BPF_ANY)) {
		close(fd);
		return nmr_error(-errno, "register client %s: default action into its client "
				 "dispatch table: %s (a program of the client's kind?)", c->name,
				 strerror(errno));
	}
	return fd;
}

/*
 * The client's dispatcher: the one program on its hook for as long as the
 * client exists. It tail-calls slot 0 of the client's chain table with a
 * constant key, which the JIT turns into a direct jump that a write of the
 * slot re-patches. When the table is empty (no provider bound) the tail call
 * falls through: the packet is counted as finding no provider, handed to the
 * client's default action if it has one, and passed.
 */
#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
						  .off = (o), .imm = (i) })

static size_t emit_tail_call(struct bpf_insn *p, int table_fd)
{
	p[0] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0);
	p[1] = INSN(BPF_LD | BPF_IMM | BPF_DW, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0, table_fd);
	p[2] = INSN(0, 0, 0, 0, 0);
	p[3] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0);
	p[4] = INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call);
	return 5;
}

/* This CPU's chain event at off (of struct nmr_chain_events) counted, from the CPU number. */
static size_t emit_event_count(struct bpf_insn *p, int stats_fd, int ncpus, short off)
{
	__u32 events = ncpus * sizeof(struct nmr_chain_stats);

	p[0] = INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_smp_processor_id);
	p[1] = INSN(BPF_JMP | BPF_JLT | BPF_K, BPF_REG_0, 0, 1, ncpus);
	p[2] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	p[3] = INSN(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_0, 0, 0, NMR_CHAIN_EVENTS_SHIFT);
	p[4] = INSN(BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, BPF_PSEUDO_MAP_VALUE, 0, stats_fd);
	p[5] = INSN(0, 0, 0, 0, events);
	p[6] = INSN(BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_1, BPF_REG_0, 0, 0);
	p[7] = INSN(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_2, BPF_REG_1, off, 0);
	p[8] = INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, 1);
	p[9] = INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_2, off, 0);
	return 10;
}

static int dispatcher_load(const struct nmr_client_record *c, int table_fd, int stats_fd,
			   int default_fd)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o);
	struct bpf_insn insns[64];
	char log[4096];
	size_t n = 0;
	int ncpus, fd;

	ncpus = nmr_chain_stats_cpus(stats_fd);
	if (ncpus < 0)
		return ncpus;
	insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
	n += emit_tail_call(&insns[n], table_fd);
	n += emit_event_count(&insns[n], stats_fd, ncpus,
			      offsetof(struct nmr_chain_events, no_provider));
	if (default_fd >= 0) {
		n += emit_tail_call(&insns[n], default_fd);
		n += emit_event_count(&insns[n], stats_fd, ncpus,
				      offsetof(struct nmr_chain_events, default_missed));
	}
	insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0,
			  c->hook == NMR_HOOK_XDP ? XDP_PASS : TC_ACT_UNSPEC);
	insns[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

	if (c->hook == NMR_HOOK_XDP) {
		o.expected_attach_type = BPF_XDP;
		o.prog_flags = c->flags & NMR_CLIENT_F_FRAGS ? BPF_F_XDP_HAS_FRAGS : 0;
	}
	o.log_buf = log;
	o.log_size = sizeof(log);
	log[0] = 0;
	fd = bpf_prog_load(c->hook == NMR_HOOK_XDP ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS,
			   "nmr_dispatcher", "GPL", insns, n, &o);
	if (fd < 0)
		return nmr_error(-errno, "register client %s: load its dispatcher: %s%s%s", c->name,
				 strerror(errno), log[0] ? ": " : "", log);
	return fd;
}

/* The client's chain table: one slot, the chain that runs; empty when none is bound. */
static int chain_table_create(const struct nmr_client_record *c)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "nmr_chain_table", 4, 4, 1, NULL);

	if (fd < 0)
		return nmr_error(-errno, "register client %s: create its chain table: %s",
				 c->name, strerror(errno));
	return fd;
}

int nmr_chain_table_open(struct nmr_registry *reg, const struct nmr_client_record *c)
{
	int fd = nmr_client_pin_open(reg, c, NMR_PIN_CHAIN_TABLE);

	return fd < 0 ? nmr_error_prefix(fd, "client %s: its chain table", c->name) : fd;
}

/* The program id the table's slot holds now: 0 when empty. */
int nmr_chain_table_running(int table_fd, __u32 *prog_id)
{
	__u32 zero = 0;

	*prog_id = 0;
	if (bpf_map_lookup_elem(table_fd, &zero, prog_id) && errno != ENOENT)
		return nmr_error(-errno, "read chain table: %s", strerror(errno));
	return 0;
}

/*
 * The swap: one write of the table's slot. A packet that entered the
 * dispatcher before it runs the whole old chain, one after it the whole new
 * one. chain_fd < 0 empties the table.
 */
int nmr_chain_table_swap(int table_fd, int chain_fd)
{
	__u32 zero = 0;
	int err;

	if (chain_fd >= 0)
		err = bpf_map_update_elem(table_fd, &zero, &chain_fd, BPF_ANY);
	else
		err = bpf_map_delete_elem(table_fd, &zero);
	if (err && !(chain_fd < 0 && errno == ENOENT))
		return nmr_error(-errno, "write the chain table: %s", strerror(errno));
	return 0;
}

/*
 * Makes the client's directory, its counters, its client dispatch table (the
 * default action), its chain table and its dispatcher, and puts the
 * dispatcher on the device. Undone on failure.
 */
int nmr_hook_attach(struct nmr_registry *reg, struct nmr_client_record *c, bool force,
		    int default_fd, nmr_client_save_fn save)
{
	struct nmr_netns_guard ns;
	int stats_fd = -1, table_fd = -1, client_dispatch_fd = -1, disp_fd = -1, link_fd = -1;
	char dir[PATH_MAX];
	int err;

	err = nmr_client_path(reg, c, NULL, dir, sizeof(dir));
	if (err || (err = nmr_mkdir(dir)))
		return err;
	err = stats_fd = nmr_chain_stats_create(nmr_registry_btf(reg));
	if (err >= 0)
		err = pin_fd(reg, c, stats_fd, NMR_PIN_STATS);
	if (!err && default_fd >= 0 && (err = client_dispatch_fd = client_dispatch(c, default_fd)) >= 0)
		err = pin_fd(reg, c, client_dispatch_fd, NMR_PIN_CLIENT_DISPATCH);
	if (!err && (err = table_fd = chain_table_create(c)) >= 0)
		err = pin_fd(reg, c, table_fd, NMR_PIN_CHAIN_TABLE);
	if (!err && (err = disp_fd = dispatcher_load(c, table_fd, stats_fd,
						       client_dispatch_fd)) >= 0)
		err = pin_fd(reg, c, disp_fd, NMR_PIN_DISPATCHER);
	if (err)
		goto fail;

	err = nmr_netns_enter(c->netns, &ns);
	if (err)
		goto fail;
	c->ifindex = if_nametoindex(c->dev);
	c->dispatcher_prog_id = nmr_prog_id(disp_fd);
	c->chain_table_id = nmr_map_id(table_fd);
	if (!c->ifindex)
		err = nmr_error(-ENODEV, "register client %s: unknown device %s%s%s", c->name,
				c->dev, c->netns[0] ? " in network namespace " : "", c->netns);
	else if (!(err = save(reg, c)))	/* from here a kill leaves what to undo */
		err = link_fd = attach(reg, c, disp_fd, force, save);
	nmr_netns_leave(&ns);
	if (err < 0)
		goto fail;
	if (link_fd == 0)
		link_fd = -1;	/* TC through netlink: no link */
	if (link_fd >= 0 && (err = pin_fd(reg, c, link_fd, NMR_PIN_LINK))) {
		nmr_hook_detach(reg, c);
		goto out;
	}
	if (link_fd >= 0) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(link_fd, &info, &len))
			c->link_id = info.id;
	}
	goto out;
fail:
	nmr_unpin_tree(dir);
out:
	for (int *fd = (int[]){ link_fd, disp_fd, table_fd, client_dispatch_fd, stats_fd, -2 };
	     *fd != -2; fd++)
		if (*fd >= 0)
			close(*fd);
	return err < 0 ? err : 0;
}

/* The clsact qdisc nmr-bpf made, once no filter of anyone is left in it. */
static void remove_clsact_if_empty(const struct nmr_client_record *c)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = c->ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	if (!(c->flags & NMR_CLIENT_F_CLSACT) ||
	    clsact_filters(c->ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), NULL) != 0 ||
	    clsact_filters(c->ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), NULL) != 0)
		return;
	bpf_tc_hook_destroy(&hook);
}

/*
 * A cls_bpf filter is found by handle and priority, which another tool may
 * have reused since (or the namespace may be a new one of the same name):
 * it is ours only if it runs our dispatcher in the namespace we registered in.
 * A registration killed before it wrote where its filter went has none in its
 * record: the filter is then found by the dispatcher it runs.
 */
static void detach_tc_netlink_if_ours(const struct nmr_client_record *c)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = c->ifindex, .attach_point = tc_point(c));
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = c->tc_handle, .priority = c->tc_priority);
	struct tc_found found = { .prog_id = c->dispatcher_prog_id };
	struct nmr_netns_guard ns;
	__u64 ino = 0;

	if (!c->ifindex || !c->dispatcher_prog_id || nmr_netns_ino(c->netns, &ino) ||
	    ino != c->netns_ino || nmr_netns_enter(c->netns, &ns))
		return;
	if (!opts.handle &&
	    clsact_filters(c->ifindex, TC_H_MAKE(TC_H_CLSACT, c->hook == NMR_HOOK_TC_INGRESS ?
						 TC_H_MIN_INGRESS : TC_H_MIN_EGRESS),
			   &found) > 0) {
		opts.handle = found.handle;
		opts.priority = found.priority;
	}
	if (opts.handle && !bpf_tc_query(&hook, &opts) && opts.prog_id == c->dispatcher_prog_id) {
		opts.prog_id = 0;
		opts.prog_fd = 0;
		opts.flags = 0;
		bpf_tc_detach(&hook, &opts);
	}
	remove_clsact_if_empty(c);	/* a kill may have left it before its filter went in */
	nmr_netns_leave(&ns);
}

int nmr_hook_detach(struct nmr_registry *reg, const struct nmr_client_record *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int fd, err;

	err = nmr_client_path(reg, c, NMR_PIN_LINK, path, sizeof(path));
	if (err)
		return err;
	/*
	 * Detach explicitly: dropping the last reference of a link releases it
	 * from a workqueue, later; the client must be off the device on return.
	 * A link whose device is gone is detached already (ENOLINK).
	 */
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
			err = nmr_error(-errno, "detach client %s from %s: %s", c->name, c->dev,
					strerror(errno));
		close(fd);
	} else if (c->flags & NMR_CLIENT_F_TC_NETLINK) {
		detach_tc_netlink_if_ours(c);
	}
	if (!err && !nmr_client_path(reg, c, NULL, dir, sizeof(dir)))
		nmr_unpin_tree(dir);
	return err;
}

/* Whether the dispatcher runs on the hook (XDP, TCX or the cls_bpf filter we made). */
static bool dispatcher_attached(const struct nmr_client_record *c)
{
	if (c->hook == NMR_HOOK_XDP) {
		__u32 flags;

		return xdp_current(c, &flags) == c->dispatcher_prog_id;
	}
	if (c->flags & NMR_CLIENT_F_TC_NETLINK) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = c->ifindex, .attach_point = tc_point(c));
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = c->tc_handle, .priority = c->tc_priority);

		return !bpf_tc_query(&hook, &opts) && opts.prog_id == c->dispatcher_prog_id;
	} else {
		__u32 ids[64], n = ARRAY_SIZE(ids);
		LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = n);

		if (bpf_prog_query_opts(c->ifindex, c->hook == NMR_HOOK_TC_INGRESS ?
					BPF_TCX_INGRESS : BPF_TCX_EGRESS, &q))
			return false;
		for (__u32 i = 0; i < q.prog_cnt && i < n; i++)
			if (ids[i] == c->dispatcher_prog_id)
				return true;
		return false;
	}
}

int nmr_hook_state(const struct nmr_client_record *c)
{
	struct nmr_netns_guard ns;
	__u64 ino = 0;
	int state;

	if (nmr_netns_ino(c->netns, &ino) || ino != c->netns_ino)
		return NMR_HOOK_GONE;
	if (nmr_netns_enter(c->netns, &ns))
		return NMR_HOOK_GONE;
	if (if_nametoindex(c->dev) != c->ifindex)
		state = NMR_HOOK_GONE;
	else
		state = dispatcher_attached(c) ? NMR_HOOK_OURS : NMR_HOOK_OTHER;
	nmr_netns_leave(&ns);
	return state;
}
