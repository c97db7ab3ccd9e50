// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One change of one client's chain (bind, unbind, reorder, replace) as a
 * transaction that ends in one swap:
 *
 *   1. intent: the chain to be (its bindings, in order) is written into the
 *      client's record, next[], with next_chain_id = NMR_CHAIN_LOADING;
 *      new bindings get records in state NMR_BINDING_ATTACHING;
 *   2. build: instances of new bindings and of replaced providers, each
 *      pinned under binding/<id>/<its prog id>/ (a name no running instance
 *      has), then the new chain, linked from every binding's code and
 *      verified as a whole; its program id goes into next_chain_id;
 *   3. the swap: one write of the client's chain table. Each packet runs the
 *      whole old chain or the whole new one. A chain of no provider is still
 *      a chain: the table is empty only from the client's registration to
 *      its first bind;
 *   4. finish: records say what runs (positions, instances, chain[]); what
 *      left the chain is removed. The command waits once, before it lets go
 *      of the registry lock, until no packet can still run code that left
 *      (store/registry.c, nmr_unlock); a bind waits for nothing.
 *
 * Failure before the swap undoes 1-2. A kill anywhere leaves the client
 * record saying which: the next command (recover.c) finishes the change if
 * the table holds next_chain_id, and undoes it otherwise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "engine/engine.h"

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- records ---- */

static int client_put(struct nmr_registry *reg, const struct nmr_client_record *c)
{
	if (bpf_map_update_elem(reg->clients_fd, &c->id, c, BPF_EXIST))
		return nmr_error(-errno, "client %s: write its record: %s", c->name,
				 strerror(errno));
	return 0;
}

static int binding_put(struct nmr_registry *reg, const struct nmr_binding_record *b)
{
	if (bpf_map_update_elem(reg->bindings_fd, &b->id, b, BPF_ANY))
		return nmr_error(-errno, "write binding record: %s", strerror(errno));
	return 0;
}

int nmr_chain_records(struct nmr_registry *reg, const struct nmr_client_record *client,
		      struct nmr_binding_record **out, size_t *count)
{
	struct nmr_binding_record *b = calloc(client->nchain + 1, sizeof(*b));

	*out = b;
	*count = 0;
	if (!b)
		return nmr_error(-ENOMEM, "out of memory");
	if (client->nchain > NMR_MAX_CHAIN)
		return nmr_error(-EUCLEAN, "client %s: its record is damaged (%u providers); "
				 "run 'nmr-bpf registry check --repair'", client->name,
				 client->nchain);
	for (__u32 i = 0; i < client->nchain; i++) {
		if (bpf_map_lookup_elem(reg->bindings_fd, &client->chain[i], &b[i]))
			return nmr_error(-EUCLEAN, "client %s: a binding of its chain has no "
					 "record; run 'nmr-bpf registry check --repair'",
					 client->name);
	}
	*count = client->nchain;
	return 0;
}

static bool has_id(const struct nmr_guid *ids, size_t n, const struct nmr_guid *id)
{
	for (size_t i = 0; i < n; i++)
		if (nmr_guid_equal(&ids[i], id))
			return true;
	return false;
}

/* Removes the pins of a binding's instance (prog_id) or of the whole binding (0). */
static void unpin_binding(struct nmr_registry *reg, const struct nmr_guid *id, __u32 prog_id)
{
	char path[PATH_MAX];

	if (!nmr_binding_path(reg, id, prog_id, NULL, path, sizeof(path)))
		nmr_unpin_tree(path);
}

/* ---- finishing and undoing a change ---- */

int nmr_chain_finish(struct nmr_registry *reg, struct nmr_client_record *c)
{
	struct nmr_binding_record b;
	int err = 0;

	for (__u32 i = 0; i < c->nnext; i++) {
		if (bpf_map_lookup_elem(reg->bindings_fd, &c->next[i], &b))
			continue;	/* cannot be: it was written before the swap */
		if (b.next_prog_id) {
			unpin_binding(reg, &b.id, b.prog_id);
			b.prog_id = b.next_prog_id;
			b.next_prog_id = 0;
			reg->wait_owed = true;	/* the old instance's code left */
		}
		b.state = NMR_BINDING_BOUND;
		b.position = i;
		err = binding_put(reg, &b) ?: err;
	}
	for (__u32 i = 0; i < c->nchain; i++) {
		if (has_id(c->next, c->nnext, &c->chain[i]))
			continue;
		if (!bpf_map_lookup_elem(reg->bindings_fd, &c->chain[i], &b)) {
			bpf_map_delete_elem(reg->bindings_fd, &b.id);
			nmr_context_free(reg, b.context_index);
		}
		unpin_binding(reg, &c->chain[i], 0);
		reg->wait_owed = true;
	}
	memcpy(c->chain, c->next, c->nnext * sizeof(c->chain[0]));
	c->nchain = c->nnext;
	c->chain_prog_id = c->next_chain_id;
	c->nnext = 0;
	c->next_chain_id = 0;
	c->generation++;	/* every change of its chain */
	err = client_put(reg, c) ?: err;
	return nmr_generation_bump(reg, NULL) ?: err;
}

int nmr_chain_undo(struct nmr_registry *reg, struct nmr_client_record *c)
{
	struct nmr_binding_record b;
	int err = 0;

	for (__u32 i = 0; i < c->nnext; i++) {
		if (bpf_map_lookup_elem(reg->bindings_fd, &c->next[i], &b)) {
			unpin_binding(reg, &c->next[i], 0);
			continue;
		}
		if (b.state == NMR_BINDING_ATTACHING) {
			bpf_map_delete_elem(reg->bindings_fd, &b.id);
			nmr_context_free(reg, b.context_index);
			unpin_binding(reg, &b.id, 0);
		} else if (b.next_prog_id) {
			unpin_binding(reg, &b.id, b.next_prog_id);
			b.next_prog_id = 0;
			err = binding_put(reg, &b) ?: err;
		}
	}
	c->nnext = 0;
	c->next_chain_id = 0;
	return client_put(reg, c) ?: err;
}

/* ---- building ---- */

static const struct nmr_replacement *replacement_of(const struct nmr_binding_record *b,
						    const struct nmr_replacement *repl,
						    size_t nrepl)
{
	for (size_t i = 0; i < nrepl; i++)
		if (nmr_guid_equal(&repl[i].rec.id, &b->provider))
			return &repl[i];
	return NULL;
}

/* Loads the binding's instance of its provider and pins it under its own name. */
static int build_instance(struct nmr_registry *reg, const struct nmr_binding_record *b,
			  const struct nmr_provider_record *prov, const struct nmr_replacement *r,
			  struct nmr_instance *inst)
{
	char dir[PATH_MAX], path[PATH_MAX];
	size_t size = 0;
	void *obj = NULL;
	int err;

	if (r) {
		err = nmr_instance_load(reg, &r->rec, r->obj, r->size, b->context_index, false, inst,
					NULL, 0);
	} else {
		err = nmr_object_load(reg, prov, &obj, &size);
		if (!err)
			err = nmr_instance_load(reg, prov, obj, size, b->context_index, false, inst, NULL,
						0);
		free(obj);
	}
	if (err)
		return err;
	err = nmr_binding_path(reg, &b->id, 0, NULL, dir, sizeof(dir));
	if (!err && !(err = nmr_mkdir(dir)) &&
	    !(err = nmr_binding_path(reg, &b->id, inst->prog_id, NULL, dir, sizeof(dir))))
		err = nmr_mkdir(dir);
	if (!err && !(err = nmr_binding_path(reg, &b->id, inst->prog_id, NMR_PIN_PROG, path,
					     sizeof(path))) &&
	    bpf_obj_pin(inst->prog_fd, path))
		err = nmr_error(-errno, "pin %s: %s", path, strerror(errno));
	if (!err && !(err = nmr_binding_path(reg, &b->id, inst->prog_id, NMR_PIN_DISPATCH, path,
					     sizeof(path))) &&
	    bpf_obj_pin(inst->dispatch_fd, path))
		err = nmr_error(-errno, "pin %s: %s", path, strerror(errno));
	if (!err && !(err = nmr_binding_path(reg, &b->id, inst->prog_id, NMR_PIN_CODE, path,
					     sizeof(path))))
		err = nmr_code_store(path, &inst->code);
	return err;
}

static int load_code(struct nmr_registry *reg, const struct nmr_binding_record *b,
		     struct nmr_code *code)
{
	char path[PATH_MAX];
	int err = nmr_binding_path(reg, &b->id, b->prog_id, NMR_PIN_CODE, path, sizeof(path));

	return err ?: nmr_code_load(path, code);
}

static bool chain_changes(const struct nmr_client_record *c, const struct nmr_binding_record *want,
			  size_t n, const struct nmr_replacement *repl, size_t nrepl,
			  bool reg_force_relink)
{
	if (n != c->nchain || reg_force_relink)
		return true;
	for (size_t i = 0; i < n; i++)
		if (!nmr_guid_equal(&c->chain[i], &want[i].id) ||
		    replacement_of(&want[i], repl, nrepl))
			return true;
	return false;
}

/*
 * The chain itself: the linker's program from the links, for the client's hook,
 * counting into its counters and ending in its default action, loaded.
 */
static int chain_load(struct nmr_registry *reg, const struct nmr_client_record *c, int stats_fd,
		      const struct nmr_chain_link *links, size_t n)
{
	struct nmr_link_opts opts = {
		.hook = c->hook, .frags = c->flags & NMR_CLIENT_F_FRAGS, .mode = NMR_LINK_AUTO,
		.stats_fd = stats_fd, .default_fd = -1,
	};
	struct nmr_linked l;
	int err;

	opts.ncpus = err = nmr_chain_stats_cpus(stats_fd);
	if (err >= 0 && (c->flags & NMR_CLIENT_F_DEFAULT))
		err = opts.default_fd = nmr_client_pin_open(reg, c, NMR_PIN_CLIENT_DISPATCH);
	if (err >= 0)
		err = nmr_link(links, n, &opts, &l);
	if (!err) {
		err = nmr_link_load(&l, links, n, &opts, c->name);
		nmr_linked_free(&l);
	}
	if (opts.default_fd >= 0)
		close(opts.default_fd);
	return err;
}

int nmr_chain_commit(struct nmr_registry *reg, struct nmr_client_record *c,
		     struct nmr_binding_record *want, size_t n,
		     const struct nmr_replacement *repl, size_t nrepl)
{
	struct nmr_instance *built = NULL;
	struct nmr_code *codes = NULL;
	struct nmr_chain_link *links = NULL;
	char (*names)[NMR_NAME_LEN] = NULL;
	int table_fd = -1, chain_fd = -1, stats_fd = -1, err;
	__u64 t0;

	if (n > NMR_MAX_CHAIN)
		return nmr_error(-E2BIG, "client %s: %zu providers, at most %d per chain",
				 c->name, n, NMR_MAX_CHAIN);
	if (c->next_chain_id)
		return nmr_error(-EBUSY, "client %s: a change of its chain is unfinished; run "
				 "'nmr-bpf registry check --repair'", c->name);
	if (!chain_changes(c, want, n, repl, nrepl, reg->force_relink))
		return 0;
	table_fd = nmr_chain_table_open(reg, c);
	if (table_fd < 0)
		return table_fd;

	/* 1. The intent. */
	for (size_t i = 0; i < n; i++)
		c->next[i] = want[i].id;
	c->nnext = n;
	c->next_chain_id = NMR_CHAIN_LOADING;
	err = client_put(reg, c);
	for (size_t i = 0; !err && i < n; i++)
		if (want[i].state == NMR_BINDING_ATTACHING)
			err = binding_put(reg, &want[i]);
	if (err)
		goto undo;

	/* 2. What is new: instances, then the chain linked from every binding's code. */
	built = calloc(n + 1, sizeof(*built));
	codes = calloc(n + 1, sizeof(*codes));
	links = calloc(n + 1, sizeof(*links));
	names = calloc(n + 1, sizeof(*names));
	if (!built || !codes || !links || !names) {
		err = nmr_error(-ENOMEM, "commit chain: out of memory");
		goto undo;
	}
	for (size_t i = 0; i < n; i++)
		built[i] = (struct nmr_instance)NMR_INSTANCE_INIT;
	err = stats_fd = nmr_client_pin_open(reg, c, NMR_PIN_STATS);
	if (err > 0)
		err = 0;
	for (size_t i = 0; !err && i < n; i++) {
		const struct nmr_replacement *r = replacement_of(&want[i], repl, nrepl);
		bool fresh = want[i].state == NMR_BINDING_ATTACHING;
		struct nmr_provider_record prov;

		if (r) {
			prov = r->rec;
		} else if (bpf_map_lookup_elem(reg->providers_fd, &want[i].provider, &prov)) {
			err = nmr_error(-ENOENT, "client %s: a provider of its chain has no record",
					c->name);
			break;
		}
		if (fresh || r) {
			err = build_instance(reg, &want[i], &prov, r, &built[i]);
			if (err)
				break;
			if (fresh)
				want[i].prog_id = built[i].prog_id;
			else
				want[i].next_prog_id = built[i].prog_id;
			err = binding_put(reg, &want[i]);
			links[i].code = &built[i].code;
		} else {
			err = load_code(reg, &want[i], &codes[i]);
			links[i].code = &codes[i];
		}
		if (!err && fresh)
			err = nmr_chain_stats_reset(stats_fd, want[i].column);
		links[i].continue_on = prov.continue_on;
		links[i].column = want[i].column;
		memcpy(names[i], prov.name, sizeof(names[i]));
		links[i].name = names[i];	/* for the linker's errors */
	}
	/*
	 * No provider left: an empty chain (it counts, hands to the default
	 * action, passes), not an emptied slot. Deleting a slot that a constant
	 * key jumps to costs the kernel a grace period; writing one does not.
	 */
	if (!err)
		err = chain_fd = chain_load(reg, c, stats_fd, links, n);
	if (err < 0)
		goto undo;
	c->next_chain_id = nmr_prog_id(chain_fd);
	err = client_put(reg, c);
	if (err)
		goto undo;

	/* 3. The swap. */
	t0 = now_ns();
	err = nmr_chain_table_swap(table_fd, chain_fd);
	reg->last_swap_ns = now_ns() - t0;
	if (err) {
		nmr_error_prefix(err, "client %s", c->name);
		goto undo;
	}

	/* 4. Records say what runs. */
	err = nmr_chain_finish(reg, c);
	goto out;
undo:
	{
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", nmr_last_error());
		nmr_chain_undo(reg, c);
		nmr_error(err, "%s", msg);
	}
out:
	for (size_t i = 0; built && i < n; i++)
		nmr_instance_close(&built[i]);
	for (size_t i = 0; codes && i < n; i++)
		nmr_code_free(&codes[i]);
	free(links);
	free(names);
	free(codes);
	free(built);
	if (chain_fd >= 0)
		close(chain_fd);
	if (stats_fd >= 0)
		close(stats_fd);
	close(table_fd);
	return err;
}
