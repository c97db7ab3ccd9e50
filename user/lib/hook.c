// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The client side of the data path: the client's chain program (chain.c) on
 * its device's hook, through a pinned BPF link (XDP, TCX) so that it outlives
 * the registrar process, or a cls_bpf filter (TC through netlink). Pins:
 * client/<id>/{dispatcher,switch,switch_slots,switch_armed,stats,default,link}:
 * the chain now on the hook, the switch a change goes live through and its
 * maps, the client's counters, its default action, the link.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nmr_internal.h"

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

/* TC through clsact + cls_bpf: not a link, so it is found again by handle and priority. */
static int attach_tc_netlink(struct nmr_client_record *c, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = c->ifindex, .attach_point = tc_point(c));
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return nmr_error(err, "register client %s: create clsact on %s: %s", c->name,
				 c->dev, strerror(-err));
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return nmr_error(err, "register client %s: attach cls_bpf to %s %s: %s", c->name,
				 c->dev, nmr_hook_name(c->hook), strerror(-err));
	c->tc_handle = opts.handle;
	c->tc_priority = opts.priority;
	return 0;
}

static void detach_tc_netlink(const struct nmr_client_record *c)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = c->ifindex, .attach_point = tc_point(c));
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = c->tc_handle, .priority = c->tc_priority);

	bpf_tc_detach(&hook, &opts);
}

/* Returns a link fd, 0 for TC through netlink, or a negative error. */
static int attach(struct nmr_client_record *c, int prog_fd, bool force)
{
	int fd;

	if (c->hook == NMR_HOOK_XDP)
		return attach_xdp(c, prog_fd, force);
	if (c->flags & NMR_CLIENT_F_TC_NETLINK)
		return attach_tc_netlink(c, prog_fd);
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

/* The client's default action: the one program of its own dispatch table. */
static int pin_default(struct nmr_registry *reg, const struct nmr_client_record *c, int prog_fd)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "nmr_default", 4, 4, 1, NULL), err;
	__u32 zero = 0;

	if (fd < 0)
		return nmr_error(-errno, "register client %s: create its dispatch table: %s",
				 c->name, strerror(errno));
	if (bpf_map_update_elem(fd, &zero, &prog_fd, BPF_ANY))
		err = nmr_error(-errno, "register client %s: default action into its dispatch "
				"table: %s (a program of the client's kind?)", c->name,
				strerror(errno));
	else
		err = pin_fd(reg, c, fd, "default");
	close(fd);
	return err;
}

/* The client's switch: a program and its two maps, pinned under these names. */
static const char *switch_leaves[] = { "switch", "switch_slots", "switch_armed" };

int nmr_switch_open(struct nmr_registry *reg, const struct nmr_client_record *c,
		    struct nmr_switch *sw)
{
	int *fds[] = { &sw->prog_fd, &sw->slots_fd, &sw->armed_fd };
	char path[PATH_MAX];
	int err = 0;

	*sw = (struct nmr_switch)NMR_SWITCH_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(fds) && !err; i++) {
		err = nmr_client_path(reg, c, switch_leaves[i], path, sizeof(path));
		if (!err && (*fds[i] = bpf_obj_get(path)) < 0)
			err = nmr_error(-errno, "client %s: open %s: %s", c->name, path,
					strerror(errno));
	}
	if (err)
		nmr_switch_close(sw);
	return err;
}

/*
 * Makes the client's directory, its counters, default action and switch,
 * and puts its first chain (no provider yet) on the device. Undone on failure.
 */
int nmr_hook_attach(struct nmr_registry *reg, struct nmr_client_record *c, bool force,
		    int default_fd)
{
	struct nmr_switch sw = NMR_SWITCH_INIT;
	struct nmr_netns_guard ns;
	int stats_fd, chain_fd = -1, link_fd = -1, err;
	char dir[PATH_MAX];

	err = nmr_client_path(reg, c, NULL, dir, sizeof(dir));
	if (err || (err = nmr_mkdir(dir)))
		return err;
	stats_fd = nmr_chain_stats_create(reg);
	err = stats_fd < 0 ? stats_fd : pin_fd(reg, c, stats_fd, "stats");
	if (stats_fd >= 0)
		close(stats_fd);
	if (!err && default_fd >= 0)
		err = pin_default(reg, c, default_fd);
	if (!err && (err = chain_fd = nmr_chain_load(reg, c, NULL, 0)) >= 0)
		err = nmr_switch_load(reg, c, &sw);
	if (err)
		goto fail;

	err = nmr_netns_enter(c->netns, &ns);
	if (err)
		goto fail;
	c->ifindex = if_nametoindex(c->dev);
	if (!c->ifindex)
		err = nmr_error(-ENODEV, "register client %s: unknown device %s%s%s", c->name,
				c->dev, c->netns[0] ? " in network namespace " : "", c->netns);
	else
		err = link_fd = attach(c, chain_fd, force);
	nmr_netns_leave(&ns);
	if (err < 0)
		goto fail;
	if (link_fd == 0)
		link_fd = -1;	/* TC through netlink: no link */
	err = pin_fd(reg, c, chain_fd, "dispatcher") ?:
	      pin_fd(reg, c, sw.prog_fd, switch_leaves[0]) ?:
	      pin_fd(reg, c, sw.slots_fd, switch_leaves[1]) ?:
	      pin_fd(reg, c, sw.armed_fd, switch_leaves[2]);
	if (!err && link_fd >= 0)
		err = pin_fd(reg, c, link_fd, "link");
	if (err) {
		nmr_hook_detach(reg, c);
		goto out;
	}
	c->dispatcher_prog_id = nmr_prog_id(chain_fd);
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
	if (link_fd >= 0)
		close(link_fd);
	if (chain_fd >= 0)
		close(chain_fd);
	nmr_switch_close(&sw);
	return err < 0 ? err : 0;
}

int nmr_hook_replace(struct nmr_registry *reg, const struct nmr_client_record *c, int old_fd,
		     int new_fd)
{
	LIBBPF_OPTS(bpf_link_update_opts, uo, .flags = BPF_F_REPLACE, .old_prog_fd = old_fd);
	char path[PATH_MAX];
	int fd, err;

	if (c->hook != NMR_HOOK_XDP && (c->flags & NMR_CLIENT_F_TC_NETLINK)) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = c->ifindex, .attach_point = tc_point(c));
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = new_fd, .handle = c->tc_handle,
			    .priority = c->tc_priority, .flags = BPF_TC_F_REPLACE);
		struct nmr_netns_guard ns;

		err = nmr_netns_enter(c->netns, &ns);
		if (err)
			return err;
		err = bpf_tc_attach(&hook, &opts);
		nmr_netns_leave(&ns);
		if (err)
			return nmr_error(err, "client %s: replace cls_bpf on %s: %s", c->name,
					 c->dev, strerror(-err));
		return 0;
	}
	err = nmr_client_path(reg, c, "link", path, sizeof(path));
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return nmr_error(-errno, "client %s: open %s: %s", c->name, path, strerror(errno));
	err = bpf_link_update(fd, new_fd, &uo);
	close(fd);
	if (err)
		return nmr_error(-errno, "client %s: update the link on %s: %s", c->name, c->dev,
				 strerror(errno));
	return 0;
}

int nmr_hook_detach(struct nmr_registry *reg, const struct nmr_client_record *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct nmr_netns_guard ns;
	int fd, err;

	err = nmr_client_path(reg, c, "link", path, sizeof(path));
	if (err)
		return err;
	/*
	 * Detach explicitly: dropping the last reference of a link releases it
	 * from a workqueue, later; the client must be off the device on return.
	 */
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
			err = nmr_error(-errno, "detach client %s from %s: %s", c->name, c->dev,
					strerror(errno));
		close(fd);
	} else if (c->flags & NMR_CLIENT_F_TC_NETLINK && c->tc_handle &&
		   !nmr_netns_enter(c->netns, &ns)) {
		detach_tc_netlink(c);
		nmr_netns_leave(&ns);
	}
	if (!nmr_client_path(reg, c, NULL, dir, sizeof(dir)))
		nmr_unpin_tree(dir);
	return err;
}
