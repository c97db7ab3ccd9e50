// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The system under the registry: directories and pins on bpffs, ids, the RCU wait. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "base/base.h"

/* Directories are 0700 whatever the umask: only the registrar reads the registry. */
int nmr_mkdir(const char *path)
{
	if (mkdir(path, 0700)) {
		if (errno == EEXIST)
			return 0;
		return nmr_error(-errno, "create %s: %s", path, strerror(errno));
	}
	if (chmod(path, 0700))
		return nmr_error(-errno, "chmod %s: %s", path, strerror(errno));
	return 0;
}

/*
 * Returns once no BPF program that started before the call is still running.
 * An update of a map-in-map slot waits for an RCU grace period (synchronize_rcu)
 * before it returns, and every XDP/TC program runs inside an RCU read-side
 * section: after it, no packet can still be running a program that was
 * unlinked from a dispatch table before it.
 */
int nmr_wait_for_readers(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int inner, outer, err = 0;
	__u32 zero = 0;

	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nmr_sync_inner", 4, 4, 1, NULL);
	if (inner < 0)
		return nmr_error(-errno, "wait for running programs: %s", strerror(errno));
	opts.inner_map_fd = inner;
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "nmr_sync", 4, 4, 1, &opts);
	if (outer < 0) {
		err = nmr_error(-errno, "wait for running programs: %s", strerror(errno));
		goto out;
	}
	if (bpf_map_update_elem(outer, &zero, &inner, BPF_ANY))
		err = nmr_error(-errno, "wait for running programs: %s", strerror(errno));
	close(outer);
out:
	close(inner);
	return err;
}

/* Removes every pin below path, then path itself. */
int nmr_unpin_tree(const char *path)
{
	struct dirent *de;
	DIR *dir = opendir(path);
	int err = 0;

	if (!dir) {
		if (errno == ENOTDIR)
			return unlink(path) ? -errno : 0;
		return errno == ENOENT ? 0 : -errno;
	}
	while ((de = readdir(dir))) {
		char sub[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR)
			err = nmr_unpin_tree(sub) ?: err;
		else if (unlink(sub) && errno != ENOENT)
			err = -errno;
	}
	closedir(dir);
	if (rmdir(path) && errno != ENOENT)
		err = -errno;
	return err;
}

__u32 nmr_prog_id(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.id;
}

__u32 nmr_map_id(int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return 0;
	return info.id;
}
