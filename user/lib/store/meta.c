// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The registry meta (one value of the meta map): the registration counter,
 * the intent mark (intent.c), binding-context slots, and generations. The
 * registry and each client carry a generation that every change increases;
 * each bump also touches the root directory, so that a monitor (api/monitor.c)
 * wakes on inotify without polling: most changes only write map values,
 * which inotify does not see.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "store/store.h"

int nmr_meta_get(struct nmr_registry *reg, struct nmr_registry_meta *meta)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(reg->meta_fd, &zero, meta))
		return nmr_error(-errno, "read registry meta: %s", strerror(errno));
	return 0;
}

int nmr_meta_put(struct nmr_registry *reg, const struct nmr_registry_meta *meta)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(reg->meta_fd, &zero, meta, BPF_ANY))
		return nmr_error(-errno, "write registry meta: %s", strerror(errno));
	return 0;
}

int nmr_next_number(struct nmr_registry *reg, __u64 *number)
{
	struct nmr_registry_meta meta;
	int err = nmr_meta_get(reg, &meta);

	if (err)
		return err;
	*number = meta.next_number++;
	return nmr_meta_put(reg, &meta);
}

int nmr_meta_save(struct nmr_registry *reg, struct nmr_registry_meta *meta)
{
	return nmr_meta_get(reg, meta);
}

/* Only the registration counter: the rest of the meta is not the caller's to restore. */
void nmr_meta_restore(struct nmr_registry *reg, const struct nmr_registry_meta *saved)
{
	struct nmr_registry_meta meta;

	if (nmr_meta_get(reg, &meta))
		return;
	meta.next_number = saved->next_number;
	nmr_meta_put(reg, &meta);
}

int nmr_generation_bump(struct nmr_registry *reg, const struct nmr_guid *client)
{
	struct nmr_registry_meta meta;
	struct nmr_client_record rec;
	int err = nmr_meta_get(reg, &meta);

	if (err)
		return err;
	meta.generation++;
	err = nmr_meta_put(reg, &meta);
	if (err)
		return err;
	if (client && !bpf_map_lookup_elem(reg->clients_fd, client, &rec)) {
		rec.generation++;
		if (bpf_map_update_elem(reg->clients_fd, client, &rec, BPF_EXIST))
			return nmr_error(-errno, "write client %s: %s", rec.name, strerror(errno));
	}
	nmr_doorbell(reg);
	return 0;
}

/* IN_ATTRIB on the root: what monitors and other processes' watchers wake on. */
void nmr_doorbell(struct nmr_registry *reg)
{
	if (reg->root_fd >= 0)
		futimens(reg->root_fd, NULL);
}

int nmr_registry_generation(struct nmr_registry *reg, __u64 *gen)
{
	struct nmr_registry_meta meta;
	int err;

	*gen = 0;
	if (reg->empty)
		return 0;
	err = nmr_meta_get(reg, &meta);
	if (!err)
		*gen = meta.generation;
	return err;
}

/* Binding contexts: a bit each in the meta, the context itself in binding_contexts. */
int nmr_context_alloc(struct nmr_registry *reg, __u32 *slot)
{
	struct nmr_registry_meta meta;
	struct nmr_binding_context empty = {};
	int err = nmr_meta_get(reg, &meta);

	if (err)
		return err;
	for (__u32 w = 0; w < ARRAY_SIZE(meta.contexts_used); w++) {
		__u64 free = ~meta.contexts_used[w];

		if (!w)
			free &= ~(1ULL << NMR_TEMPLATE_CONTEXT);
		if (!free)
			continue;
		*slot = w * 64 + __builtin_ctzll(free);
		meta.contexts_used[w] |= 1ULL << (*slot % 64);
		/* a new binding starts with an empty context */
		if (bpf_map_update_elem(reg->binding_contexts_fd, slot, &empty, BPF_ANY))
			return nmr_error(-errno, "allocate binding context: %s", strerror(errno));
		return nmr_meta_put(reg, &meta);
	}
	return nmr_error(-ENOSPC, "allocate binding context: all %d in use",
			 NMR_MAX_BINDINGS - 1);
}

void nmr_context_free(struct nmr_registry *reg, __u32 slot)
{
	struct nmr_registry_meta meta;

	if (slot >= NMR_MAX_BINDINGS || nmr_meta_get(reg, &meta))
		return;
	meta.contexts_used[slot / 64] &= ~(1ULL << (slot % 64));
	nmr_meta_put(reg, &meta);
}
