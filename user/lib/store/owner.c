// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Owners: the process that registered a live module, named by pid and start
 * time (a pid alone is reused), seen from any pid namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "store/store.h"

__u64 nmr_owner_start_time(__u32 pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* after "(comm)", which may hold spaces: field 22 is the start time */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu", &start) != 1)
		return 0;
	return start;
}

int nmr_owner_self(struct nmr_owner *owner, bool persistent)
{
	owner->pid = getpid();
	owner->start_time = nmr_owner_start_time(owner->pid);
	owner->flags = persistent ? NMR_OWNER_F_PERSISTENT : 0;
	return owner->start_time ? 0 : nmr_error(-EIO, "read this process's start time");
}

/*
 * Whether the process with this start time has, in one of its PID namespaces, this pid:
 * the NSpid line of its status lists its pid in each namespace from ours down to its own.
 */
static bool nspid_has(__u32 proc, __u32 pid)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", proc);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (unsigned long v; (v = strtoul(p, &end, 10)), end != p; p = end)
			if (v == pid)
				found = true;
		break;
	}
	fclose(f);
	return found;
}

/* An owner registered from a PID namespace below ours: found by its start time. */
static bool live_in_child_namespace(const struct nmr_owner *owner)
{
	struct dirent *de;
	bool live = false;
	DIR *d = opendir("/proc");

	while (d && !live && (de = readdir(d))) {
		char *end;
		unsigned long proc = strtoul(de->d_name, &end, 10);

		if (*end || !proc)
			continue;
		live = nmr_owner_start_time(proc) == owner->start_time && nspid_has(proc, owner->pid);
	}
	if (d)
		closedir(d);
	return live;
}

static bool in_initial_pid_namespace(void)
{
	struct stat st;

	/* PROC_PID_INIT_INO: the initial namespace's inode number, fixed by the kernel */
	return !stat("/proc/self/ns/pid", &st) && st.st_ino == 0xEFFFFFFCU;
}

/*
 * Whether the owner runs. The start time (clock ticks since boot: the same in every PID
 * namespace) tells a pid reused by another process apart; a pidfd holds the process while
 * its start time is read, so the answer is about that process. An owner in a PID namespace
 * below ours has another pid here: it is looked for by start time. One in a namespace we
 * cannot see (ours is not the initial one) is taken as live: only its watchdog, or a
 * registrar that sees it, may decide it is gone.
 */
bool nmr_owner_live(const struct nmr_owner *owner)
{
	int pidfd;
	bool live;

	if (!owner->pid)
		return false;
	pidfd = syscall(SYS_pidfd_open, owner->pid, 0);
	live = nmr_owner_start_time(owner->pid) == owner->start_time;
	if (pidfd >= 0)
		close(pidfd);
	if (live)
		return true;
	if (!in_initial_pid_namespace())
		return true;
	return live_in_child_namespace(owner);
}

/* A live module whose owner is gone: its watchdog should have removed it. */
bool nmr_owner_orphaned(const struct nmr_owner *owner)
{
	return owner->pid && !(owner->flags & NMR_OWNER_F_PERSISTENT) && !nmr_owner_live(owner);
}
