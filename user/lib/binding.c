// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bindings and the client's chain.
 *
 * Each binding has its own loaded instance of the provider's program
 * (instance.c): binding/<id>/{prog,dispatch,code}. The client's chain is one
 * program linked from the code of its bindings in order (chain.c). A change
 * (bind, unbind, reorder, replace) goes live in one step, chain_commit():
 *
 *   1. load what is new: instances of new or replaced bindings, then the new
 *      chain program (verified as a whole);
 *   2. put the client's switch on the hook in place of the running chain
 *      (link update or netlink replace), its slots holding the running chain
 *      and the new one: packets go on running the running chain, through it;
 *   3. set the switch's armed word: the swap. Every packet then runs the
 *      whole new chain or, if it had already read the word, the whole old one;
 *   4. put the new chain on the hook in place of the switch, so that packets
 *      stop paying for it (the chain itself tests nothing per packet);
 *   5. after an RCU grace period, when no packet can still be running the
 *      switch, the old chain or an instance that left it, release them.
 *
 * Binding a provider loads two programs: its instance and the chain. The
 * switch is loaded once, with the client.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nmr_internal.h"

static __u64 nmr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int binding_path(struct nmr_registry *reg, const struct nmr_guid *id, const char *leaf,
			char *buf, size_t len)
{
	char guid[NMR_GUID_STR_LEN];

	nmr_guid_format(id, guid);
	return nmr_path(reg, buf, len, NMR_BINDINGS_DIR "/%s%s%s", guid, leaf ? "/" : "",
			leaf ? leaf : "");
}

static int open_pin(const char *path)
{
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return nmr_error(-errno, "open %s: %s", path, strerror(errno));
	return fd;
}

static int cmp_position(const void *a, const void *b)
{
	const struct nmr_binding_record *x = a, *y = b;

	if (x->position != y->position)
		return x->position < y->position ? -1 : 1;
	return x->number < y->number ? -1 : x->number > y->number;
}

int nmr_bindings_of(struct nmr_registry *reg, const struct nmr_guid *client,
		    const struct nmr_guid *provider, struct nmr_binding_record **out,
		    size_t *count)
{
	struct nmr_binding_record *all;
	size_t n, m = 0;
	int err;

	err = nmr_records_read(reg->bindings_fd, sizeof(*all), NMR_MAX_BINDINGS, (void **)&all,
			       &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (client && !nmr_guid_equal(&all[i].client, client))
			continue;
		if (provider && !nmr_guid_equal(&all[i].provider, provider))
			continue;
		all[m++] = all[i];
	}
	if (m)	/* qsort may not be given NULL, even for no elements */
		qsort(all, m, sizeof(*all), cmp_position);
	*out = all;
	*count = m;
	return 0;
}

/* The client's live chain: bound bindings with an instance, in order. */
static int live_chain(struct nmr_registry *reg, const struct nmr_guid *client,
		      struct nmr_binding_record **out, size_t *count)
{
	size_t n, m = 0;
	int err = nmr_bindings_of(reg, client, NULL, out, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if ((*out)[i].state == NMR_BINDING_BOUND && (*out)[i].prog_id)
			(*out)[m++] = (*out)[i];
	*count = m;
	return 0;
}

static int alloc_slot(struct nmr_registry *reg, __u32 *slot)
{
	struct nmr_binding_record *all;
	unsigned char *used;
	size_t n;
	int err;

	err = nmr_records_read(reg->bindings_fd, sizeof(*all), NMR_MAX_BINDINGS, (void **)&all,
			       &n);
	if (err)
		return err;
	used = calloc(NMR_MAX_BINDINGS, 1);
	if (!used) {
		free(all);
		return nmr_error(-ENOMEM, "allocate binding slot: out of memory");
	}
	for (size_t i = 0; i < n; i++)
		if (all[i].state == NMR_BINDING_BOUND && all[i].slot < NMR_MAX_BINDINGS)
			used[all[i].slot] = 1;
	err = nmr_error(-ENOSPC, "allocate binding slot: all %d in use", NMR_MAX_BINDINGS - 1);
	for (__u32 s = NMR_TEMPLATE_SLOT + 1; s < NMR_MAX_BINDINGS; s++) {
		if (!used[s]) {
			*slot = s;
			err = 0;
			break;
		}
	}
	free(used);
	free(all);
	return err;
}

/* The lowest column of the client's counters that no bound binding of it uses. */
static int alloc_column(struct nmr_registry *reg, const struct nmr_guid *client, __u32 *column)
{
	struct nmr_binding_record *all;
	__u64 used = 0;
	size_t n;
	int err = nmr_bindings_of(reg, client, NULL, &all, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (all[i].state == NMR_BINDING_BOUND && all[i].column < NMR_MAX_CHAIN)
			used |= 1ULL << all[i].column;
	free(all);
	for (__u32 c = 0; c < NMR_MAX_CHAIN; c++) {
		if (!(used & (1ULL << c))) {
			*column = c;
			return 0;
		}
	}
	return nmr_error(-E2BIG, "chain full: the kernel runs at most %d programs per packet, "
			 "which leaves %d providers per client", NMR_MAX_CHAIN + 1, NMR_MAX_CHAIN);
}

/* A new binding starts with an empty context (its counters: chain_commit). */
static int reset_slot(struct nmr_registry *reg, __u32 slot)
{
	struct nmr_binding_context ctx = {};

	if (bpf_map_update_elem(reg->binding_contexts_fd, &slot, &ctx, BPF_ANY))
		return nmr_error(-errno, "reset binding slot %u: %s", slot, strerror(errno));
	return 0;
}

static bool chain_has(const struct nmr_binding_record *chain, size_t n, const struct nmr_guid *id)
{
	for (size_t i = 0; i < n; i++)
		if (nmr_guid_equal(&chain[i].id, id))
			return true;
	return false;
}

/*
 * A set of pins in one directory, each with a "_new" twin staged beside it
 * while the live one still serves: leaves[i] = { live, staged }.
 */
typedef const char *const leaf_pair[2];

static void unpin_leaves(const char *dir, leaf_pair *leaves, size_t n, bool staged)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < n; i++)
		if (snprintf(path, sizeof(path), "%s/%s", dir, leaves[i][staged]) < (int)sizeof(path))
			unlink(path);
}

/* The staged pins take the live ones' names (the live ones unpinned first). */
static int promote_leaves(const char *dir, leaf_pair *leaves, size_t n)
{
	char from[PATH_MAX], to[PATH_MAX];

	unpin_leaves(dir, leaves, n, false);
	for (size_t i = 0; i < n; i++) {
		if (snprintf(from, sizeof(from), "%s/%s", dir, leaves[i][1]) >= (int)sizeof(from) ||
		    snprintf(to, sizeof(to), "%s/%s", dir, leaves[i][0]) >= (int)sizeof(to))
			return -ENAMETOOLONG;
		if (rename(from, to))
			return nmr_error(-errno, "rename %s: %s", from, strerror(errno));
	}
	return 0;
}

static leaf_pair instance_leaves[] = {
	{ "prog", "prog_new" }, { "dispatch", "dispatch_new" }, { "code", "code_new" },
};

/* Pins a freshly built instance; "_new" when the binding's live one is still pinned. */
static int pin_instance(struct nmr_registry *reg, const struct nmr_guid *id,
			const struct nmr_instance *inst, bool staged)
{
	char path[PATH_MAX];
	int err;

	err = binding_path(reg, id, NULL, path, sizeof(path));
	if (err || (err = nmr_mkdir(path)))
		return err;
	err = binding_path(reg, id, instance_leaves[0][staged], path, sizeof(path));
	if (!err && bpf_obj_pin(inst->prog_fd, path))
		err = nmr_error(-errno, "pin %s: %s", path, strerror(errno));
	if (!err && !(err = binding_path(reg, id, instance_leaves[1][staged], path,
					 sizeof(path))) &&
	    bpf_obj_pin(inst->dispatch_fd, path))
		err = nmr_error(-errno, "pin %s: %s", path, strerror(errno));
	if (!err && !(err = binding_path(reg, id, instance_leaves[2][staged], path,
					 sizeof(path))))
		err = nmr_code_store(path, &inst->code);
	return err;
}

static const struct nmr_replacement *replacement_of(const struct nmr_binding_record *b,
						    const struct nmr_replacement *repl,
						    size_t nrepl)
{
	for (size_t i = 0; i < nrepl; i++)
		if (nmr_guid_equal(&repl[i].rec.id, &b->provider))
			return &repl[i];
	return NULL;
}

static int build_instance(struct nmr_registry *reg, const struct nmr_binding_record *b,
			  const struct nmr_replacement *r, struct nmr_instance *inst)
{
	struct nmr_provider_record prov;
	size_t size;
	void *obj;
	int err;

	if (r)
		return nmr_instance_load(reg, &r->rec, r->obj, r->size, b->slot, false, inst,
					 NULL, 0);
	if (bpf_map_lookup_elem(reg->providers_fd, &b->provider, &prov))
		return nmr_error(-ENOENT, "binding: provider record missing");
	err = nmr_object_load(reg, &prov, &obj, &size);
	if (err)
		return err;
	err = nmr_instance_load(reg, &prov, obj, size, b->slot, false, inst, NULL, 0);
	free(obj);
	return err;
}

/* The running chain's pin, and the new chain's under a "_new" name until it runs. */
static leaf_pair chain_leaves[] = { { "dispatcher", "dispatcher_new" } };

static int set_armed(int armed_fd, __u32 value)
{
	__u32 zero = 0;

	return bpf_map_update_elem(armed_fd, &zero, &value, BPF_ANY) ? -errno : 0;
}

/* The switch, off the hook, emptied after a failure: its slots empty, its word clear. */
static void switch_empty(const struct nmr_switch *sw)
{
	__u32 keys[] = { NMR_SWITCH_RUNNING, NMR_SWITCH_NEW };

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		bpf_map_delete_elem(sw->slots_fd, &keys[i]);
	set_armed(sw->armed_fd, 0);
}

/*
 * The switch's slots: the running chain and the new one. After a change both
 * hold the chain now running, so that the switch keeps no older chain alive
 * (deleting a slot costs milliseconds here, writing one microseconds).
 */
static int switch_fill(const struct nmr_switch *sw, int running_fd, int next_fd)
{
	__u32 run = NMR_SWITCH_RUNNING, new = NMR_SWITCH_NEW;

	if (set_armed(sw->armed_fd, 0) ||
	    bpf_map_update_elem(sw->slots_fd, &run, &running_fd, BPF_ANY) ||
	    bpf_map_update_elem(sw->slots_fd, &new, &next_fd, BPF_ANY))
		return -errno;
	return 0;
}

/*
 * Back to the running chain from the switch (armed or not): the word
 * cleared, then the running chain on the hook again. If the hook refuses,
 * the switch stays there running the running chain, the new one out of it.
 */
static void switch_back(struct nmr_registry *reg, const struct nmr_client_record *client,
			const struct nmr_switch *sw, int running_fd)
{
	__u32 new = NMR_SWITCH_NEW;

	set_armed(sw->armed_fd, 0);
	if (nmr_hook_replace(reg, client, sw->prog_fd, running_fd)) {
		nmr_wait_for_readers();
		bpf_map_delete_elem(sw->slots_fd, &new);
		return;
	}
	nmr_wait_for_readers();
	switch_empty(sw);
}

/* The record of the client with the program now on its hook. */
static void note_dispatcher(struct nmr_registry *reg, const struct nmr_client_record *client,
			    int prog_fd)
{
	struct nmr_client_record rec;

	if (bpf_map_lookup_elem(reg->clients_fd, &client->id, &rec))
		return;
	rec.dispatcher_prog_id = nmr_prog_id(prog_fd);
	bpf_map_update_elem(reg->clients_fd, &rec.id, &rec, BPF_EXIST);
}

/*
 * Makes want[0..n) the client's chain in one atomic step (see the top of
 * this file), then releases what left it and updates the records. want holds
 * bound binding records; new ones have prog_id 0.
 */
static int chain_commit(struct nmr_registry *reg, const struct nmr_client_record *client,
			struct nmr_binding_record *want, size_t nwant,
			const struct nmr_replacement *repl, size_t nrepl)
{
	struct nmr_switch sw = NMR_SWITCH_INIT;
	struct nmr_binding_record *old = NULL;
	struct nmr_instance *built = NULL;
	struct nmr_code *codes = NULL;
	struct nmr_chain_link *links = NULL;
	bool changed, staged_chain = false;
	int stats_fd = -1, next_fd = -1, running_fd = -1, err;
	char path[PATH_MAX];
	size_t nold;
	__u64 t0;

	if (nwant > NMR_MAX_CHAIN)
		return nmr_error(-E2BIG, "client %s: %zu providers, but the kernel runs at most "
				 "%d programs per packet: %d providers and the switch",
				 client->name, nwant, NMR_MAX_CHAIN + 1, NMR_MAX_CHAIN);
	err = live_chain(reg, &client->id, &old, &nold);
	if (err)
		return err;
	changed = nold != nwant;
	for (size_t i = 0; i < nwant && !changed; i++)
		changed = !nmr_guid_equal(&old[i].id, &want[i].id) ||
			  replacement_of(&want[i], repl, nrepl);
	if (!changed)
		goto records;

	built = calloc(nwant + 1, sizeof(*built));
	codes = calloc(nwant + 1, sizeof(*codes));
	links = calloc(nwant + 1, sizeof(*links));
	if (!built || !codes || !links) {
		err = nmr_error(-ENOMEM, "commit chain: out of memory");
		goto out;
	}
	for (size_t i = 0; i < nwant; i++)
		built[i] = (struct nmr_instance)NMR_INSTANCE_INIT;
	err = nmr_client_path(reg, client, "stats", path, sizeof(path));
	if (err || (err = stats_fd = open_pin(path)) < 0)
		goto out;

	/* 1. What is new: instances, then the chain linked from every binding's code. */
	for (size_t i = 0; i < nwant; i++) {
		const struct nmr_replacement *r = replacement_of(&want[i], repl, nrepl);
		struct nmr_provider_record prov;

		if (r) {
			prov = r->rec;
		} else if (bpf_map_lookup_elem(reg->providers_fd, &want[i].provider, &prov)) {
			err = nmr_error(-ENOENT, "binding: provider record missing");
			goto unbuild;
		}
		if (!want[i].prog_id || r) {
			err = build_instance(reg, &want[i], r, &built[i]);
			if (!err)
				err = pin_instance(reg, &want[i].id, &built[i], want[i].prog_id != 0);
			if (err)
				goto unbuild;
			links[i].code = &built[i].code;
		} else {
			err = binding_path(reg, &want[i].id, "code", path, sizeof(path));
			if (!err)
				err = nmr_code_load(path, &codes[i]);
			if (err)
				goto unbuild;
			links[i].code = &codes[i];
		}
		if (!want[i].prog_id && (err = nmr_chain_stats_reset(stats_fd, want[i].column)))
			goto unbuild;
		links[i].continue_on = prov.continue_on;
		links[i].column = want[i].column;
	}
	next_fd = nmr_chain_load(reg, client, links, nwant);
	err = next_fd < 0 ? next_fd : 0;
	if (!err && !(err = nmr_client_path(reg, client, "dispatcher", path, sizeof(path))) &&
	    (running_fd = open_pin(path)) < 0)
		err = running_fd;
	if (!err)
		err = nmr_switch_open(reg, client, &sw);
	if (!err && !(err = nmr_client_path(reg, client, "dispatcher_new", path, sizeof(path))) &&
	    bpf_obj_pin(next_fd, path))
		err = nmr_error(-errno, "pin %s: %s", path, strerror(errno));
	if (err)
		goto unbuild;
	staged_chain = true;

	/* 2. The switch on the hook, still running the running chain. */
	err = switch_fill(&sw, running_fd, next_fd);
	if (err) {
		err = nmr_error(err, "client %s: fill its switch: %s", client->name, strerror(-err));
		switch_empty(&sw);
		goto unbuild;
	}
	err = nmr_hook_replace(reg, client, running_fd, sw.prog_fd);
	if (err) {
		switch_empty(&sw);
		goto unbuild;
	}

	/* 3. The swap. */
	t0 = nmr_now_ns();
	err = set_armed(sw.armed_fd, 1);
	reg->last_swap_ns = nmr_now_ns() - t0;
	if (err) {
		err = nmr_error(err, "swap the chain of %s: %s", client->name, strerror(-err));
		switch_back(reg, client, &sw, running_fd);
		goto unbuild;
	}

	/* 4. The new chain on the hook itself. */
	err = nmr_hook_replace(reg, client, sw.prog_fd, next_fd);
	if (err) {
		switch_back(reg, client, &sw, running_fd);	/* one step back, atomic too */
		goto unbuild;
	}
	if (!nmr_client_path(reg, client, NULL, path, sizeof(path)))
		promote_leaves(path, chain_leaves, ARRAY_SIZE(chain_leaves));
	staged_chain = false;
	note_dispatcher(reg, client, next_fd);

	/* 5. Release what left, once no packet can run it. */
	nmr_wait_for_readers();
	switch_fill(&sw, next_fd, next_fd);
	for (size_t j = 0; j < nold; j++) {
		if (chain_has(want, nwant, &old[j].id)) {
			if (replacement_of(&old[j], repl, nrepl)) {
				if (!binding_path(reg, &old[j].id, NULL, path, sizeof(path)))
					promote_leaves(path, instance_leaves,
						       ARRAY_SIZE(instance_leaves));
			}
		} else if (!binding_path(reg, &old[j].id, NULL, path, sizeof(path))) {
			nmr_unpin_tree(path);
		}
	}
	for (size_t i = 0; i < nwant; i++)
		if (built[i].prog_fd >= 0)
			want[i].prog_id = built[i].prog_id;
records:
	for (size_t i = 0; i < nwant; i++) {
		want[i].position = i;
		if (bpf_map_update_elem(reg->bindings_fd, &want[i].id, &want[i], BPF_ANY) && !err)
			err = nmr_error(-errno, "write binding record: %s", strerror(errno));
	}
	goto out;

unbuild:
	if (staged_chain)
		if (!nmr_client_path(reg, client, NULL, path, sizeof(path)))
			unpin_leaves(path, chain_leaves, ARRAY_SIZE(chain_leaves), true);
	for (size_t i = 0; i < nwant; i++) {
		if (built[i].prog_fd < 0)
			continue;
		if (!binding_path(reg, &want[i].id, NULL, path, sizeof(path)))
			unpin_leaves(path, instance_leaves, ARRAY_SIZE(instance_leaves),
				     want[i].prog_id != 0);
		if (!want[i].prog_id && !binding_path(reg, &want[i].id, NULL, path, sizeof(path)))
			nmr_unpin_tree(path);
	}
out:
	if (next_fd >= 0)
		close(next_fd);
	if (running_fd >= 0)
		close(running_fd);
	nmr_switch_close(&sw);
	if (stats_fd >= 0)
		close(stats_fd);
	for (size_t i = 0; built && i < nwant; i++)
		nmr_instance_close(&built[i]);
	for (size_t i = 0; codes && i < nwant; i++)
		nmr_code_free(&codes[i]);
	free(links);
	free(codes);
	free(built);
	free(old);
	return err;
}

/* Chain order: priority, then registration order. */
static int chain_order(struct nmr_registry *reg, const struct nmr_binding_record *a,
		       const struct nmr_provider_record *pa, const struct nmr_binding_record *b)
{
	struct nmr_provider_record pb;

	(void)a;
	if (bpf_map_lookup_elem(reg->providers_fd, &b->provider, &pb))
		return 1;
	if (pa->priority != pb.priority)
		return pa->priority < pb.priority ? -1 : 1;
	return pa->number < pb.number ? -1 : 1;
}

static int new_binding(struct nmr_registry *reg, const struct nmr_client_record *client,
		       const struct nmr_provider_record *prov, enum nmr_binding_state state,
		       const char *reason, struct nmr_binding_record *b)
{
	int err;

	memset(b, 0, sizeof(*b));
	b->client = client->id;
	b->provider = prov->id;
	b->state = state;
	snprintf(b->reason, sizeof(b->reason), "%s", reason ? reason : "");
	err = nmr_guid_generate(&b->id);
	if (!err)
		err = nmr_next_number(reg, &b->number);
	if (!err && state == NMR_BINDING_BOUND) {
		err = alloc_slot(reg, &b->slot);
		if (!err)
			err = reset_slot(reg, b->slot);
		if (!err)
			err = alloc_column(reg, &client->id, &b->column);
	}
	if (!err && bpf_map_update_elem(reg->bindings_fd, &b->id, b, BPF_NOEXIST))
		err = nmr_error(-errno, "write binding record: %s", strerror(errno));
	return err;
}

static bool same_npi_client(const struct nmr_client_record *c, const struct nmr_provider_record *p)
{
	return nmr_guid_equal(&c->npi, &p->npi);
}

/* Records that the client (or the provider) declined the pair, and why. */
int nmr_decline_one(struct nmr_registry *reg, const struct nmr_client_record *client,
		    const struct nmr_provider_record *prov, const char *reason)
{
	struct nmr_binding_record b;

	return new_binding(reg, client, prov, NMR_BINDING_DECLINED, reason, &b);
}

/* Binds prov into client's chain at its place by priority, in one atomic step. */
int nmr_bind_one(struct nmr_registry *reg, const struct nmr_client_record *client,
		 const struct nmr_provider_record *prov, struct nmr_binding_record *out)
{
	struct nmr_binding_record *chain = NULL, *want = NULL, b;
	size_t n, at;
	int err;

	err = nmr_frags_check(client, prov);
	if (!err)
		err = live_chain(reg, &client->id, &chain, &n);
	if (err)
		return err;
	if (n + 1 > NMR_MAX_CHAIN) {
		free(chain);
		return nmr_error(-E2BIG, "bind provider %s to client %s: chain full: the kernel "
				 "runs at most %d programs per packet, the dispatcher and %d "
				 "providers", prov->name, client->name, NMR_MAX_CHAIN + 1,
				 NMR_MAX_CHAIN);
	}
	err = new_binding(reg, client, prov, NMR_BINDING_BOUND, NULL, &b);
	want = calloc(n + 1, sizeof(*want));
	if (!err && !want)
		err = nmr_error(-ENOMEM, "bind: out of memory");
	if (!err) {
		for (at = 0; at < n && chain_order(reg, &b, prov, &chain[at]) > 0; at++)
			;
		if (n)	/* no chain yet: chain is NULL, which memcpy may not see */
			memcpy(want, chain, at * sizeof(*want));
		want[at] = b;
		if (n)
			memcpy(want + at + 1, chain + at, (n - at) * sizeof(*want));
		err = chain_commit(reg, client, want, n + 1, NULL, 0);
		if (err) {
			bpf_map_delete_elem(reg->bindings_fd, &b.id);
			nmr_error_prefix(err, "bind provider %s to client %s", prov->name,
					 client->name);
		} else if (out) {
			*out = want[at];
		}
	}
	free(want);
	free(chain);
	return err;
}

/*
 * NMR: for each client of the NPI, ClientAttachProvider(new provider). Here
 * for declarative clients; live modules attach through their callbacks
 * (module.c), in their own process.
 */
int nmr_bind_provider(struct nmr_registry *reg, const struct nmr_provider_record *prov)
{
	struct nmr_client_record *clients = NULL;
	size_t nclients;
	int err;

	err = nmr_client_list(reg, &clients, &nclients);
	for (size_t c = 0; !err && c < nclients; c++) {
		struct nmr_binding_record *chain = NULL;
		char reason[NMR_REASON_LEN];
		size_t n;

		if (!same_npi_client(&clients[c], prov) || nmr_owner_live(&clients[c].owner))
			continue;
		/* nmr_bind_one checks frags; here only how many the client has bound */
		err = live_chain(reg, &clients[c].id, &chain, &n);
		free(chain);
		if (err)
			break;
		if (!nmr_attach_decision(&clients[c], n, prov, reason, sizeof(reason)))
			err = nmr_decline_one(reg, &clients[c], prov, reason);
		else
			err = nmr_bind_one(reg, &clients[c], prov, NULL);
	}
	free(clients);
	if (err) {
		/* Back to where we were: every binding made for it goes again. */
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", nmr_last_error());
		nmr_unbind_provider(reg, prov);
		nmr_error(err, "%s", msg);
	}
	return err;
}

static int cmp_provider_order(const void *a, const void *b)
{
	const struct nmr_provider_record *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->number < y->number ? -1 : x->number > y->number;
}

/* NMR: for each provider of the NPI, in priority order, ClientAttachProvider. */
int nmr_bind_client(struct nmr_registry *reg, const struct nmr_client_record *client)
{
	struct nmr_binding_record *want = NULL, b;
	struct nmr_provider_record *provs = NULL;
	char reason[NMR_REASON_LEN];
	size_t nprovs, n = 0;
	int err;

	err = nmr_provider_list(reg, &provs, &nprovs);
	if (err)
		return err;
	if (nprovs)
		qsort(provs, nprovs, sizeof(*provs), cmp_provider_order);
	want = calloc(NMR_MAX_CHAIN + 1, sizeof(*want));
	if (!want)
		err = nmr_error(-ENOMEM, "bind: out of memory");
	for (size_t i = 0; !err && i < nprovs; i++) {
		if (!same_npi_client(client, &provs[i]) || nmr_owner_live(&provs[i].owner))
			continue;
		err = nmr_frags_check(client, &provs[i]);
		if (err)
			break;
		if (!nmr_attach_decision(client, n, &provs[i], reason, sizeof(reason))) {
			err = new_binding(reg, client, &provs[i], NMR_BINDING_DECLINED, reason, &b);
			continue;
		}
		if (n == NMR_MAX_CHAIN) {
			err = nmr_error(-E2BIG, "bind client %s: more than %d matching providers: "
					"the kernel runs at most %d programs per packet",
					client->name, NMR_MAX_CHAIN, NMR_MAX_CHAIN + 1);
			break;
		}
		err = new_binding(reg, client, &provs[i], NMR_BINDING_BOUND, NULL, &want[n]);
		if (!err)
			n++;
	}
	if (!err)
		err = chain_commit(reg, client, want, n, NULL, 0);
	if (err) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", nmr_last_error());
		nmr_unbind_client(reg, client);
		nmr_error(err, "%s", msg);
	}
	free(want);
	free(provs);
	return err;
}

static int unbind(struct nmr_registry *reg, const struct nmr_guid *client_id,
		  const struct nmr_guid *provider_id)
{
	struct nmr_binding_record *gone = NULL, *chain = NULL;
	struct nmr_client_record client;
	size_t ngone, n, m;
	int err;

	err = nmr_bindings_of(reg, client_id, provider_id, &gone, &ngone);
	for (size_t i = 0; !err && i < ngone; i++) {
		if (gone[i].state != NMR_BINDING_BOUND)
			continue;
		if (bpf_map_lookup_elem(reg->clients_fd, &gone[i].client, &client))
			continue;
		err = live_chain(reg, &client.id, &chain, &n);
		if (err)
			break;
		m = 0;
		for (size_t j = 0; j < n; j++)
			if (!chain_has(gone, ngone, &chain[j].id))
				chain[m++] = chain[j];
		if (m != n)
			err = chain_commit(reg, &client, chain, m, NULL, 0);
		free(chain);
		chain = NULL;
	}
	for (size_t i = 0; !err && i < ngone; i++) {
		char path[PATH_MAX];

		bpf_map_delete_elem(reg->bindings_fd, &gone[i].id);
		if (!binding_path(reg, &gone[i].id, NULL, path, sizeof(path)))
			nmr_unpin_tree(path);
	}
	free(gone);
	return err;
}

int nmr_rebuild_bindings(struct nmr_registry *reg, const struct nmr_replacement *repl,
			 size_t nrepl)
{
	struct nmr_client_record *clients = NULL;
	size_t nclients;
	int err;

	err = nmr_client_list(reg, &clients, &nclients);
	for (size_t c = 0; !err && c < nclients; c++) {
		struct nmr_binding_record *chain = NULL;
		size_t n, hit = 0;

		err = live_chain(reg, &clients[c].id, &chain, &n);
		for (size_t i = 0; !err && i < n; i++)
			hit += !!replacement_of(&chain[i], repl, nrepl);
		if (!err && hit)
			err = chain_commit(reg, &clients[c], chain, n, repl, nrepl);
		if (err)
			nmr_error_prefix(err, "client %s", clients[c].name);
		free(chain);
	}
	free(clients);
	return err;
}

int nmr_unbind_pair(struct nmr_registry *reg, const struct nmr_guid *client,
		    const struct nmr_guid *provider)
{
	return unbind(reg, client, provider);
}

int nmr_unbind_provider(struct nmr_registry *reg, const struct nmr_provider_record *prov)
{
	return unbind(reg, NULL, &prov->id);
}

int nmr_unbind_client(struct nmr_registry *reg, const struct nmr_client_record *client)
{
	return unbind(reg, &client->id, NULL);
}

/* ---- public: listing and counters ---- */

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
	char path[PATH_MAX];
	int fd, err;

	memset(out, 0, sizeof(*out));
	if (b->state != NMR_BINDING_BOUND || b->column >= NMR_MAX_CHAIN)
		return 0;
	if (bpf_map_lookup_elem(reg->clients_fd, &b->client, &client))
		return nmr_error(-ENOENT, "read counters: the binding's client is gone");
	err = nmr_client_path(reg, &client, "stats", path, sizeof(path));
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return nmr_error(-errno, "read counters: open %s: %s", path, strerror(errno));
	err = nmr_chain_stats_read(fd, &sum, &ev);
	close(fd);
	if (err)
		return err;
	for (int v = 0; v < NMR_VERDICT_SLOTS; v++) {
		out->verdicts[v] = sum.binding[b->column].verdicts[v];
		out->packets += out->verdicts[v];
	}
	return 0;
}

int nmr_binding_context_read(struct nmr_registry *reg, const struct nmr_binding_record *b,
			     void *data, size_t len)
{
	struct nmr_binding_context ctx;

	if (b->state != NMR_BINDING_BOUND || len > sizeof(ctx.data))
		return nmr_error(-EINVAL, "read binding context: not bound or too long");
	if (bpf_map_lookup_elem(reg->binding_contexts_fd, &b->slot, &ctx))
		return nmr_error(-errno, "read binding context: %s", strerror(errno));
	memcpy(data, ctx.data, len);
	return 0;
}

int nmr_binding_context_write(struct nmr_registry *reg, const struct nmr_binding_record *b,
			      const void *data, size_t len)
{
	struct nmr_binding_context ctx;
	int err;

	if (b->state != NMR_BINDING_BOUND || len > sizeof(ctx.data))
		return nmr_error(-EINVAL, "write binding context: not bound or too long");
	err = nmr_lock(reg, true);
	if (err)
		return err;
	if (bpf_map_lookup_elem(reg->binding_contexts_fd, &b->slot, &ctx)) {
		err = nmr_error(-errno, "read binding context: %s", strerror(errno));
	} else {
		memcpy(ctx.data, data, len);
		if (bpf_map_update_elem(reg->binding_contexts_fd, &b->slot, &ctx, BPF_ANY))
			err = nmr_error(-errno, "write binding context: %s", strerror(errno));
	}
	nmr_unlock(reg);
	return err;
}
