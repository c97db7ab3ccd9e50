// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Bindings as users see them: listed, found, counted, their BPF context read and written. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "api/api.h"

int nmr_binding_list(struct nmr_registry *reg, const char *client, const char *provider,
		     struct nmr_binding_record **out, size_t *count)
{
	struct nmr_client_record c;
	struct nmr_provider_record p;
	int err;

	*out = NULL;
	*count = 0;
	if (reg->empty)
		return 0;
	if (client && (err = nmr_client_find(reg, client, &c)))
		return err;
	if (provider && (err = nmr_provider_find(reg, provider, &p)))
		return err;
	err = nmr_lock(reg, false);
	if (err)
		return err;
	err = nmr_bindings_of(reg, client ? &c.id : NULL, provider ? &p.id : NULL, out, count);
	nmr_unlock(reg);
	return err;
}

int nmr_binding_find(struct nmr_registry *reg, const char *ident,
		     struct nmr_binding_record *out)
{
	struct nmr_client_record c;
	struct nmr_provider_record p;
	struct nmr_binding_record *all;
	struct nmr_guid id;
	char cname[128];
	const char *colon;
	size_t n;
	int err;

	if (reg->empty)
		return nmr_error(-ENOENT, "unknown binding %s", ident);
	if (!nmr_guid_parse(ident, &id)) {
		if (bpf_map_lookup_elem(reg->bindings_fd, &id, out))
			return nmr_error(-ENOENT, "unknown binding %s", ident);
		return 0;
	}
	colon = strchr(ident, ':');
	if (!colon || (size_t)(colon - ident) >= sizeof(cname))
		return nmr_error(-ENOENT, "unknown binding %s (name a binding by its GUID or "
				 "as CLIENT:PROVIDER)", ident);
	snprintf(cname, sizeof(cname), "%.*s", (int)(colon - ident), ident);
	if (nmr_client_find(reg, cname, &c) || nmr_provider_find(reg, colon + 1, &p))
		return nmr_error(-ENOENT, "unknown binding %s", ident);
	err = nmr_bindings_of(reg, &c.id, &p.id, &all, &n);
	if (err)
		return err;
	if (n)
		*out = all[0];
	free(all);
	return n ? 0 : nmr_error(-ENOENT, "unknown binding %s: client %s and provider %s are "
				 "not bound", ident, c.name, p.name);
}

int nmr_binding_counts(struct nmr_registry *reg, const struct nmr_binding_record *b,
		       struct nmr_binding_counts *out)
{
	struct nmr_client_record client;
	struct nmr_chain_stats sum;
	struct nmr_chain_events ev;
	int err;

	memset(out, 0, sizeof(*out));
	if (b->state != NMR_BINDING_BOUND || b->column >= NMR_MAX_CHAIN)
		return 0;
	if (bpf_map_lookup_elem(reg->clients_fd, &b->client, &client))
		return nmr_error(-ENOENT, "read counters: the binding's client is gone");
	err = nmr_client_stats(reg, &client, &sum, &ev);
	if (err)
		return err;
	for (int v = 0; v < NMR_VERDICT_SLOTS; v++) {
		out->verdicts[v] = sum.binding[b->column].verdicts[v];
		out->packets += out->verdicts[v];
	}
	return 0;
}

/*
 * The binding's context slot, as its record says now, under the lock: the
 * caller's copy may be older than a deregistration and a new binding that
 * took the slot since.
 */
static int context_slot(struct nmr_registry *reg, const struct nmr_binding_record *b, size_t len,
			__u32 *slot)
{
	struct nmr_binding_record now;

	if (len > NMR_BINDING_CONTEXT_SIZE)
		return nmr_error(-EINVAL, "binding context: %zu bytes, at most %d", len,
				 NMR_BINDING_CONTEXT_SIZE);
	if (bpf_map_lookup_elem(reg->bindings_fd, &b->id, &now) ||
	    now.state != NMR_BINDING_BOUND || !nmr_guid_equal(&now.client, &b->client))
		return nmr_error(-ENOENT, "binding context: the binding is not bound (any more)");
	*slot = now.context_index;
	return 0;
}

int nmr_binding_context_read(struct nmr_registry *reg, const struct nmr_binding_record *b,
			     void *data, size_t len)
{
	struct nmr_binding_context ctx;
	__u32 slot;
	int err = nmr_lock(reg, false);

	if (err)
		return err;
	err = context_slot(reg, b, len, &slot);
	if (!err && bpf_map_lookup_elem(reg->binding_contexts_fd, &slot, &ctx))
		err = nmr_error(-errno, "read binding context: %s", strerror(errno));
	if (!err)
		memcpy(data, ctx.data, len);
	nmr_unlock(reg);
	return err;
}

int nmr_binding_context_write(struct nmr_registry *reg, const struct nmr_binding_record *b,
			      const void *data, size_t len)
{
	struct nmr_binding_context ctx;
	__u32 slot;
	int err = nmr_lock(reg, true);

	if (err)
		return err;
	err = context_slot(reg, b, len, &slot);
	if (!err && bpf_map_lookup_elem(reg->binding_contexts_fd, &slot, &ctx))
		err = nmr_error(-errno, "read binding context: %s", strerror(errno));
	if (!err) {
		memcpy(ctx.data, data, len);
		if (bpf_map_update_elem(reg->binding_contexts_fd, &slot, &ctx, BPF_ANY))
			err = nmr_error(-errno, "write binding context: %s", strerror(errno));
	}
	nmr_unlock(reg);
	return err;
}
