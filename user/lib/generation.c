// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Generations: the registry and each client carry a number that every change
 * increases (TCX's expected_revision, for the whole registry). A caller that
 * read a state can make its change conditional on the number it read, under
 * the same lock as the change itself. Each bump also touches the root
 * directory, so that a monitor (monitor.c) wakes on inotify without polling:
 * most changes only write map values, which inotify does not see.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "nmr_internal.h"

int nmr_generation_bump(struct nmr_registry *reg, const struct nmr_guid *client)
{
	struct nmr_registry_meta meta;
	struct nmr_client_record rec;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(reg->meta_fd, &zero, &meta))
		return nmr_error(-errno, "read registry meta: %s", strerror(errno));
	meta.generation++;
	if (bpf_map_update_elem(reg->meta_fd, &zero, &meta, BPF_ANY))
		return nmr_error(-errno, "write registry meta: %s", strerror(errno));
	if (client && !bpf_map_lookup_elem(reg->clients_fd, client, &rec)) {
		rec.generation++;
		if (bpf_map_update_elem(reg->clients_fd, client, &rec, BPF_EXIST))
			return nmr_error(-errno, "write client %s: %s", rec.name, strerror(errno));
	}
	/* the monitors' doorbell: IN_ATTRIB on the root */
	if (reg->root_fd >= 0)
		futimens(reg->root_fd, NULL);
	return 0;
}

int nmr_registry_generation(struct nmr_registry *reg, __u64 *gen)
{
	struct nmr_registry_meta meta;
	__u32 zero = 0;

	*gen = 0;
	if (reg->empty)
		return 0;
	if (bpf_map_lookup_elem(reg->meta_fd, &zero, &meta))
		return nmr_error(-errno, "read registry meta: %s", strerror(errno));
	*gen = meta.generation;
	return 0;
}

int nmr_registry_lock(struct nmr_registry *reg)
{
	return nmr_lock(reg, true);
}

void nmr_registry_unlock(struct nmr_registry *reg)
{
	nmr_unlock(reg);
}

int nmr_expect_generation(struct nmr_registry *reg, const char *client, __u64 gen)
{
	struct nmr_client_record rec;
	__u64 now;
	int err;

	err = nmr_lock(reg, true);
	if (err)
		return err;
	if (client) {
		err = nmr_client_find(reg, client, &rec);
		now = rec.generation;
	} else {
		err = nmr_registry_generation(reg, &now);
	}
	if (!err && now != gen)
		err = nmr_error(-ESTALE, "generation conflict: %s%s is at generation %llu, "
				"not %llu (it changed since it was read)",
				client ? "client " : "the registry", client ? rec.name : "",
				(unsigned long long)now, (unsigned long long)gen);
	nmr_unlock(reg);
	return err;
}
