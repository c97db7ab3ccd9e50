// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Staged pins: a provider's new version (provider replace) pinned beside the
 * live one as <leaf>_new, then promoted by rename, which is atomic (the live
 * name is replaced, never missing), or dropped. A staged object left by a
 * kill tells recovery that a replace did not finish (engine/recover.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "store/store.h"

/* What a replace stages: the object, the template instance and its dispatch table. */
static const char *const staged_leaves[] = { NMR_PIN_OBJECT, NMR_PIN_PROG, NMR_PIN_DISPATCH };

int nmr_staged_path(struct nmr_registry *reg, const struct nmr_guid *provider, const char *leaf,
		    char *buf, size_t len)
{
	char name[NAME_MAX];

	snprintf(name, sizeof(name), "%s_new", leaf);
	return nmr_provider_path(reg, provider, name, buf, len);
}

int nmr_staged_pin(struct nmr_registry *reg, const struct nmr_guid *provider, const char *leaf,
		   int fd)
{
	char path[PATH_MAX];
	int err = nmr_staged_path(reg, provider, leaf, path, sizeof(path));

	if (!err && bpf_obj_pin(fd, path))
		err = nmr_error(-errno, "pin %s: %s", path, strerror(errno));
	return err;
}

bool nmr_staged(struct nmr_registry *reg, const struct nmr_guid *provider)
{
	char path[PATH_MAX];

	return !nmr_staged_path(reg, provider, NMR_PIN_OBJECT, path, sizeof(path)) &&
	       !access(path, F_OK);
}

/* The staged pins take the live names; a failure here is repaired by the next command. */
int nmr_staged_promote(struct nmr_registry *reg, const struct nmr_guid *provider)
{
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(staged_leaves); i++) {
		char from[PATH_MAX], to[PATH_MAX];

		if (nmr_staged_path(reg, provider, staged_leaves[i], from, sizeof(from)) ||
		    nmr_provider_path(reg, provider, staged_leaves[i], to, sizeof(to)))
			continue;
		if (rename(from, to) && !err)
			err = nmr_error(-errno, "replace: rename %s: %s", from, strerror(errno));
	}
	return err;
}

void nmr_staged_drop(struct nmr_registry *reg, const struct nmr_guid *provider)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(staged_leaves); i++)
		if (!nmr_staged_path(reg, provider, staged_leaves[i], path, sizeof(path)))
			unlink(path);
}

/* The names in a directory, as one string "\nname1\nname2\n" (for before/after checks). */
char *nmr_dir_names(const char *path)
{
	size_t len = 2, used = 1;
	char *buf = calloc(1, len);
	struct dirent *de;
	DIR *dir = opendir(path);

	if (!buf || !dir) {
		if (dir)
			closedir(dir);
		return buf;
	}
	buf[0] = '\n';
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);
		char *nb;

		if (de->d_name[0] == '.')
			continue;
		nb = realloc(buf, len + n + 1);
		if (!nb)
			break;
		buf = nb;
		len += n + 1;
		memcpy(buf + used, de->d_name, n);
		used += n;
		buf[used++] = '\n';
		buf[used] = 0;
	}
	closedir(dir);
	return buf;
}

/* Removes the pins in dir that were not there before (names from nmr_dir_names()). */
void nmr_remove_new_pins(const char *dir, const char *before)
{
	char *after = nmr_dir_names(dir);

	for (char *s = after, *save = NULL, *t; after && (t = strtok_r(s, "\n", &save)); s = NULL) {
		char needle[NAME_MAX + 3], path[PATH_MAX];

		snprintf(needle, sizeof(needle), "\n%s\n", t);
		if (before && strstr(before, needle))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, t);
		unlink(path);
	}
	free(after);
}
