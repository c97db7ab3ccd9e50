// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Entering the network namespace that holds a client's device. setns() on
 * the calling thread only: the mount namespace, and so the bpffs pins, stay
 * the caller's (`ip netns exec` would remount /sys and hide them).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "nmr_internal.h"

static int netns_path(const char *name, char *buf, size_t len)
{
	if (!name || !name[0])
		return snprintf(buf, len, "/proc/thread-self/ns/net") >= (int)len ? -1 : 0;
	if (strchr(name, '/') || !strcmp(name, ".."))
		return nmr_error(-EINVAL, "network namespace '%s': not a name", name);
	if (snprintf(buf, len, "/run/netns/%s", name) >= (int)len)
		return nmr_error(-ENAMETOOLONG, "network namespace '%s': name too long", name);
	return 0;
}

int nmr_netns_enter(const char *name, struct nmr_netns_guard *guard)
{
	char path[PATH_MAX];
	int fd, err;

	guard->saved_fd = -1;
	if (!name || !name[0])
		return 0;
	err = netns_path(name, path, sizeof(path));
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nmr_error(-errno, "network namespace %s: %s (see: ip netns list)", name,
				 strerror(errno));
	guard->saved_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (guard->saved_fd < 0 || setns(fd, CLONE_NEWNET)) {
		err = nmr_error(-errno, "enter network namespace %s: %s", name, strerror(errno));
		close(fd);
		if (guard->saved_fd >= 0)
			close(guard->saved_fd);
		guard->saved_fd = -1;
		return err;
	}
	close(fd);
	return 0;
}

void nmr_netns_leave(struct nmr_netns_guard *guard)
{
	if (guard->saved_fd < 0)
		return;
	if (setns(guard->saved_fd, CLONE_NEWNET))
		fprintf(stderr, "libnmrbpf: return to network namespace: %s\n", strerror(errno));
	close(guard->saved_fd);
	guard->saved_fd = -1;
}

int nmr_netns_ino(const char *name, __u64 *ino)
{
	char path[PATH_MAX];
	struct stat st;
	int err = netns_path(name, path, sizeof(path));

	if (err)
		return err;
	if (stat(path, &st))
		return nmr_error(-errno, "network namespace %s: %s (see: ip netns list)",
				 name && name[0] ? name : "(own)", strerror(errno));
	*ino = st.st_ino;
	return 0;
}
