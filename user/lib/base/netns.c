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
#include "base/base.h"

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

/*
 * Back to the namespace saved by nmr_netns_enter. setns() on an fd we hold fails only
 * without memory or rights that we had a moment ago: it is retried, and on failure the
 * saved fd stays in the guard (for another try) and the error is the caller's to act on;
 * the library never writes to stderr.
 */
int nmr_netns_leave(struct nmr_netns_guard *guard)
{
	int err = 0;

	if (guard->saved_fd < 0)
		return 0;
	for (int i = 0; i < 3; i++) {
		err = setns(guard->saved_fd, CLONE_NEWNET) ? -errno : 0;
		if (!err)
			break;
	}
	if (err)
		return nmr_error(err, "return to this thread's network namespace: %s",
				 strerror(-err));
	close(guard->saved_fd);
	guard->saved_fd = -1;
	return 0;
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
