// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * After a kill: the next command finds what the killed one left and finishes
 * or undoes it, under the registry lock, before it does its own work.
 *
 * Every command that changes the registry marks it busy in the registry meta
 * (nmr_registry_meta.intent) when it takes the lock, with what it is doing,
 * and clears the mark when it lets go. A command that takes the lock and
 * finds the mark set knows that its holder died, and recovers:
 *
 *   1. each client's change in flight (commit.c): finished if the client's
 *      chain table holds the chain it made, undone otherwise;
 *   2. the interrupted command itself: a registration is undone (it printed
 *      no id), a deregistration is finished, a replace is undone, an apply
 *      finished (every chain made what the records say)
 *      (its bindings rebuilt from the provider's object as the record says);
 *   3. whatever no record names: directories of providers, clients and
 *      bindings, instances of bindings that are not theirs (a client's link
 *      is detached before its pins go);
 *   4. the binding-context slots in use, counted again from the records.
 *
 * The state is derived from what the records, the pins and the kernel say;
 * nothing else is kept.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "engine/engine.h"

/* 1. One client's change in flight. */
static int recover_client(struct nmr_registry *reg, struct nmr_client_record *c)
{
	__u32 running = 0, target;

	int fd;

	if (!c->next_chain_id)
		return 0;
	target = c->next_chain_id;
	fd = nmr_chain_table_open(reg, c);
	if (fd >= 0) {
		nmr_chain_table_running(fd, &running);
		close(fd);
	}
	if (fd >= 0 && c->next_chain_id != NMR_CHAIN_LOADING && running == target)
		return nmr_chain_finish(reg, c);
	return nmr_chain_undo(reg, c);
}

static int deregister_client(struct nmr_registry *reg, struct nmr_client_record *c)
{
	int err = nmr_hook_detach(reg, c);

	err = nmr_unbind_client(reg, c) ?: err;
	bpf_map_delete_elem(reg->clients_fd, &c->id);
	return err;
}

static int deregister_provider(struct nmr_registry *reg, struct nmr_provider_record *p)
{
	char dir[PATH_MAX];
	int err = nmr_unbind_provider(reg, p);

	bpf_map_delete_elem(reg->providers_fd, &p->id);
	if (!nmr_provider_path(reg, &p->id, NULL, dir, sizeof(dir)))
		nmr_unpin_tree(dir);
	return err;
}

/*
 * A provider replace, undone where it was not finished: a provider whose
 * new object is still staged (store/staged.c) has every
 * binding rebuilt from the object its record names, and the staged pins go.
 */
static int undo_replace(struct nmr_registry *reg)
{
	struct nmr_provider_record *provs = NULL;
	size_t n;
	int err = nmr_records_read(reg->providers_fd, sizeof(*provs), NMR_MAX_PROVIDERS,
				   (void **)&provs, &n);

	for (size_t i = 0; !err && i < n; i++) {
		struct nmr_replacement r = { .rec = provs[i] };

		if (!nmr_staged(reg, &provs[i].id))
			continue;
		err = nmr_object_load(reg, &provs[i], (void **)&r.obj, &r.size);
		if (!err)
			err = nmr_rebuild_bindings(reg, &r, 1);
		free((void *)r.obj);
		nmr_staged_drop(reg, &provs[i].id);
	}
	free(provs);
	return err;
}

/*
 * A batch (apply) changed provider records and would have settled every
 * client at its end: settle now, every binding rebuilt from its provider's
 * object as the record names it (which of them the batch replaced is not
 * known any more).
 */
static int finish_batch(struct nmr_registry *reg)
{
	struct nmr_provider_record *provs = NULL;
	struct nmr_replacement *r = NULL;
	size_t n = 0;
	int err = nmr_records_read(reg->providers_fd, sizeof(*provs), NMR_MAX_PROVIDERS,
				   (void **)&provs, &n);

	if (!err && n && !(r = calloc(n, sizeof(*r))))
		err = nmr_error(-ENOMEM, "out of memory");
	for (size_t i = 0; !err && i < n; i++) {
		r[i].rec = provs[i];
		err = nmr_object_load(reg, &provs[i], (void **)&r[i].obj, &r[i].size);
	}
	if (!err)
		err = nmr_settle(reg, r, n);
	for (size_t i = 0; r && i < n; i++)
		free((void *)r[i].obj);
	free(r);
	free(provs);
	return err;
}

/* 2. The interrupted command. */
static int recover_command(struct nmr_registry *reg, const struct nmr_intent *in)
{
	struct nmr_provider_record p;
	struct nmr_client_record c;
	bool has_p = !bpf_map_lookup_elem(reg->providers_fd, &in->id, &p);
	bool has_c = !bpf_map_lookup_elem(reg->clients_fd, &in->id, &c);

	switch (in->op) {
	case NMR_INTENT_PROVIDER_REGISTER:
	case NMR_INTENT_PROVIDER_DEREGISTER:
		return has_p ? deregister_provider(reg, &p) : 0;
	case NMR_INTENT_PROVIDER_REPLACE:
		return undo_replace(reg);
	case NMR_INTENT_CLIENT_REGISTER:
	case NMR_INTENT_CLIENT_DEREGISTER:
		return has_c ? deregister_client(reg, &c) : 0;
	case NMR_INTENT_BATCH:
		return finish_batch(reg);
	default:
		return 0;
	}
}

/* A client directory no record names: its dispatcher off the device, then its pins. */
static void remove_client_dir(const char *dir)
{
	char path[PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/" NMR_PIN_LINK, dir);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	nmr_unpin_tree(dir);
}

/* Instances under binding/<id>/ other than those the record names. */
static void remove_stray_instances(const char *dir, const struct nmr_binding_record *b,
				   nmr_orphan_fn found, void *ctx)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		char sub[PATH_MAX + 300];
		unsigned long id;
		char *end;

		if (de->d_name[0] == '.')
			continue;
		id = strtoul(de->d_name, &end, 10);
		if (*end || (nmr_binding_holds_context(b) &&
			     (id == b->prog_id || id == b->next_prog_id)))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (found)
			found(sub, ctx);
		else
			nmr_unpin_tree(sub);
	}
	if (d)
		closedir(d);
}

/* 3. Directories no record names: removed, or only reported to found(). */
static void remove_orphans(struct nmr_registry *reg, const char *kind, int map_fd,
			   size_t value_size, nmr_orphan_fn found, void *ctx)
{
	char dir[PATH_MAX], sub[PATH_MAX + 300];
	void *value = malloc(value_size);
	struct dirent *de;
	DIR *d;

	if (!value || nmr_path(reg, dir, sizeof(dir), "%s", kind) || !(d = opendir(dir))) {
		free(value);
		return;
	}
	while ((de = readdir(d))) {
		struct nmr_guid id;

		if (de->d_name[0] == '.' || nmr_guid_parse(de->d_name, &id))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (bpf_map_lookup_elem(map_fd, &id, value)) {
			if (found)
				found(sub, ctx);
			else if (!strcmp(kind, NMR_CLIENTS_DIR))
				remove_client_dir(sub);
			else
				nmr_unpin_tree(sub);
		} else if (!strcmp(kind, NMR_BINDINGS_DIR)) {
			remove_stray_instances(sub, value, found, ctx);
		} else if (!strcmp(kind, NMR_NPIS_DIR)) {
			nmr_npi_chars_orphan_entries(reg, sub, found, ctx);
		}
	}
	closedir(d);
	free(value);
}

/* 4. The binding-context slots in use, from the records. */
static int recount_slots(struct nmr_registry *reg)
{
	struct nmr_binding_record *all;
	struct nmr_registry_meta meta;
	size_t n;
	int err = nmr_meta_get(reg, &meta);

	if (!err)
		err = nmr_records_read(reg->bindings_fd, sizeof(*all), NMR_MAX_BINDINGS,
				       (void **)&all, &n);
	if (err)
		return err;
	memset(meta.contexts_used, 0, sizeof(meta.contexts_used));
	for (size_t i = 0; i < n; i++)
		if (nmr_binding_holds_context(&all[i]) && all[i].context_index < NMR_MAX_BINDINGS)
			meta.contexts_used[all[i].context_index / 64] |= 1ULL << (all[i].context_index % 64);
	free(all);
	return nmr_meta_put(reg, &meta);
}

void nmr_orphans(struct nmr_registry *reg, nmr_orphan_fn found, void *ctx)
{
	remove_orphans(reg, NMR_CLIENTS_DIR, reg->clients_fd, sizeof(struct nmr_client_record),
		       found, ctx);
	remove_orphans(reg, NMR_PROVIDERS_DIR, reg->providers_fd,
		       sizeof(struct nmr_provider_record), found, ctx);
	remove_orphans(reg, NMR_BINDINGS_DIR, reg->bindings_fd, sizeof(struct nmr_binding_record),
		       found, ctx);
	remove_orphans(reg, NMR_NPIS_DIR, reg->npis_fd, sizeof(struct nmr_npi_record), found, ctx);
}

int nmr_recover(struct nmr_registry *reg)
{
	struct nmr_client_record *clients = NULL;
	struct nmr_registry_meta meta;
	size_t n;
	int err;

	err = nmr_meta_get(reg, &meta);
	if (err)
		return err;
	/* a command that died, or could not wait, may have left code that packets still run */
	err = nmr_wait_for_readers();
	if (err)
		return err;
	err = nmr_records_read(reg->clients_fd, sizeof(*clients), NMR_MAX_CLIENTS,
			       (void **)&clients, &n);
	for (size_t i = 0; !err && i < n; i++)
		err = recover_client(reg, &clients[i]);
	free(clients);
	if (!err)
		err = recover_command(reg, &meta.intent);
	if (!err) {
		nmr_orphans(reg, NULL, NULL);
		err = recount_slots(reg);
	}
	if (err)
		return nmr_error_prefix(err, "recover from an interrupted command");
	return 0;
}
