// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which pairs are bound: NMR's attach and detach for declarative modules.
 *
 * A client and a provider of the same NPI meet when the later of the two
 * registers. The client's characteristics decide (characteristics.c): the
 * pair is bound, its provider linked into the client's chain at its place by
 * priority (commit.c), or declined with a reason. A pair that cannot be
 * linked (the verifier refuses the chain, the chain is full) is declined too,
 * with what failed as its reason: as in the NMR, that is the pair's outcome,
 * never its peer's failure, and every other pair goes on.
 *
 * A pair has one binding id, derived from its two ids, so a pair's record is
 * found by one lookup and a client's chain from its own record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "engine/engine.h"

/* FNV-1a over the pair, twice with different bases, shaped as a version-8 GUID. */
void nmr_binding_id(const struct nmr_guid *client, const struct nmr_guid *provider,
		    struct nmr_guid *out)
{
	const struct nmr_guid *ids[2] = { client, provider };
	__u64 h[2] = { 0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL };
	__u8 bytes[16];

	for (int k = 0; k < 2; k++)
		for (int j = 0; j < 2; j++)
			for (size_t i = 0; i < sizeof(*ids[j]); i++) {
				h[k] ^= ((const __u8 *)ids[j])[i] + k;
				h[k] *= 0x100000001b3ULL;
			}
	memcpy(bytes, h, sizeof(bytes));
	bytes[6] = (bytes[6] & 0x0f) | 0x80;	/* version 8: custom */
	bytes[8] = (bytes[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	memcpy(out, bytes, sizeof(*out));
}

static bool pair_record(struct nmr_registry *reg, const struct nmr_guid *client,
			const struct nmr_guid *provider, struct nmr_binding_record *out)
{
	struct nmr_guid id;

	nmr_binding_id(client, provider, &id);
	return !bpf_map_lookup_elem(reg->bindings_fd, &id, out);
}

bool nmr_pair_known(struct nmr_registry *reg, const struct nmr_guid *client,
		    const struct nmr_guid *provider)
{
	struct nmr_binding_record b;

	return pair_record(reg, client, provider, &b);
}

static int cmp_position(const void *a, const void *b)
{
	const struct nmr_binding_record *x = a, *y = b;

	if (!nmr_guid_equal(&x->client, &y->client))
		return memcmp(&x->client, &y->client, sizeof(x->client));
	if (x->state != y->state)
		return x->state < y->state ? -1 : 1;	/* bound first */
	if (x->position != y->position)
		return x->position < y->position ? -1 : 1;
	return x->number < y->number ? -1 : x->number > y->number;
}

/* Every record of the client and/or the provider: for listing, not for changes. */
int nmr_bindings_of(struct nmr_registry *reg, const struct nmr_guid *client,
		    const struct nmr_guid *provider, struct nmr_binding_record **out,
		    size_t *count)
{
	struct nmr_binding_record *all;
	size_t n, m = 0;
	int err;

	if (client && provider) {
		all = calloc(1, sizeof(*all));
		if (!all)
			return nmr_error(-ENOMEM, "out of memory");
		*out = all;
		*count = pair_record(reg, client, provider, all) &&
			 (all->state == NMR_BINDING_BOUND || all->state == NMR_BINDING_DECLINED);
		return 0;
	}
	err = nmr_records_read(reg->bindings_fd, sizeof(*all), NMR_MAX_BINDINGS, (void **)&all,
			       &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (client && !nmr_guid_equal(&all[i].client, client))
			continue;
		if (provider && !nmr_guid_equal(&all[i].provider, provider))
			continue;
		if (all[i].state != NMR_BINDING_BOUND && all[i].state != NMR_BINDING_DECLINED)
			continue;	/* in flight: a commit, or two processes' live modules */
		all[m++] = all[i];
	}
	if (m)	/* qsort may not be given NULL, even for no elements */
		qsort(all, m, sizeof(*all), cmp_position);
	*out = all;
	*count = m;
	return 0;
}

/* Chain order: priority, then registration order. */
static bool runs_before(const struct nmr_provider_record *a, const struct nmr_provider_record *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->number < b->number;
}

static int cmp_provider_order(const void *a, const void *b)
{
	return runs_before(a, b) ? -1 : runs_before(b, a) ? 1 : 0;
}

/* The lowest column of the client's counters that no binding of chain[0..n) uses. */
static int free_column(const struct nmr_client_record *c, const struct nmr_binding_record *chain,
		       size_t n, __u32 *column)
{
	__u64 used = 0;

	for (size_t i = 0; i < n; i++)
		if (chain[i].column < NMR_MAX_CHAIN)
			used |= 1ULL << chain[i].column;
	for (__u32 k = 0; k < NMR_MAX_CHAIN; k++) {
		if (!(used & (1ULL << k))) {
			*column = k;
			return 0;
		}
	}
	return nmr_error(-E2BIG, "client %s: chain full: at most %d providers per client",
			 c->name, NMR_MAX_CHAIN);
}

/* A record for a pair that is to be bound: its context slot and counter column. */
static int new_bound(struct nmr_registry *reg, const struct nmr_client_record *c,
		     const struct nmr_provider_record *p, const struct nmr_binding_record *chain,
		     size_t n, struct nmr_binding_record *b)
{
	int err;

	memset(b, 0, sizeof(*b));
	nmr_binding_id(&c->id, &p->id, &b->id);
	b->client = c->id;
	b->provider = p->id;
	b->state = NMR_BINDING_ATTACHING;
	err = free_column(c, chain, n, &b->column) ?: nmr_next_number(reg, &b->number);
	if (!err)
		err = nmr_context_alloc(reg, &b->context_index);
	return err;
}

/* Records that the pair is not bound, and why (NMR: STATUS_NOINTERFACE, or a failure). */
int nmr_decline_one(struct nmr_registry *reg, const struct nmr_client_record *client,
		    const struct nmr_provider_record *prov, const char *reason)
{
	return nmr_pair_note(reg, client, prov, NMR_BINDING_DECLINED, reason);
}

/* A record of the pair that holds no binding: declined, or an offer between processes. */
int nmr_pair_note(struct nmr_registry *reg, const struct nmr_client_record *client,
		  const struct nmr_provider_record *prov, enum nmr_binding_state state,
		  const char *reason)
{
	struct nmr_binding_record b = {
		.client = client->id,
		.provider = prov->id,
		.state = state,
	};
	int err;

	nmr_binding_id(&client->id, &prov->id, &b.id);
	snprintf(b.reason, sizeof(b.reason), "%s", reason ? reason : "");
	err = nmr_next_number(reg, &b.number);
	if (!err && bpf_map_update_elem(reg->bindings_fd, &b.id, &b, BPF_ANY))
		err = nmr_error(-errno, "write binding record: %s", strerror(errno));
	return err;
}

/* The first line of the last error, as a decline's reason. */
static void failure_reason(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "%s%s", what, nmr_last_error());
	buf[strcspn(buf, "\n")] = 0;
}

/* Binds prov into client's chain at its place by priority, in one swap. */
int nmr_bind_one(struct nmr_registry *reg, const struct nmr_client_record *client,
		 const struct nmr_provider_record *prov, struct nmr_binding_record *out)
{
	struct nmr_binding_record *chain = NULL, *want = NULL, b = {};
	struct nmr_client_record c = *client;
	size_t n = 0, at;
	int err;

	/* the caller's copy may be older than what earlier changes wrote */
	if (bpf_map_lookup_elem(reg->clients_fd, &client->id, &c))
		return nmr_error(-ENOENT, "client %s: no record", client->name);
	err = nmr_frags_check(&c, prov) ?: nmr_chain_records(reg, &c, &chain, &n);
	if (!err)
		err = new_bound(reg, &c, prov, chain, n, &b);
	if (!err && !(want = calloc(n + 1, sizeof(*want))))
		err = nmr_error(-ENOMEM, "bind: out of memory");
	if (!err) {
		struct nmr_provider_record q;

		for (at = 0; at < n; at++)
			if (!bpf_map_lookup_elem(reg->providers_fd, &chain[at].provider, &q) &&
			    runs_before(prov, &q))
				break;
		memcpy(want, chain, at * sizeof(*want));
		want[at] = b;
		memcpy(want + at + 1, chain + at, (n - at) * sizeof(*want));
		err = nmr_chain_commit(reg, &c, want, n + 1, NULL, 0);
		if (!err && out)
			pair_record(reg, &c.id, &prov->id, out);
	} else if (b.context_index) {
		nmr_context_free(reg, b.context_index);
	}
	free(want);
	free(chain);
	return err;
}

/* Binds or declines one pair; a failure to bind is the pair's decline. */
static int attach_pair(struct nmr_registry *reg, const struct nmr_client_record *c,
		       const struct nmr_provider_record *p)
{
	char reason[NMR_REASON_LEN];
	struct nmr_client_record now;
	int err;

	if (bpf_map_lookup_elem(reg->clients_fd, &c->id, &now))
		return 0;
	if (!nmr_attach_decision(&now, now.nchain, p, reason, sizeof(reason)) ||
	    !nmr_npi_decision(reg, &now, p, reason, sizeof(reason)))
		return nmr_decline_one(reg, &now, p, reason);
	if (nmr_frags_check(&now, p)) {
		failure_reason(reason, sizeof(reason), "");
		return nmr_decline_one(reg, &now, p, reason);
	}
	err = nmr_bind_one(reg, &now, p, NULL);
	if (!err)
		return 0;
	failure_reason(reason, sizeof(reason), "could not link: ");
	return nmr_decline_one(reg, &now, p, reason);
}

static bool declarative_pair(const struct nmr_client_record *c, const struct nmr_provider_record *p)
{
	return nmr_guid_equal(&c->npi, &p->npi) && !nmr_owner_live(&c->owner) &&
	       !nmr_owner_live(&p->owner);
}

/*
 * NMR: for each client of the NPI, ClientAttachProvider(new provider). Here
 * for declarative clients; live modules attach through their callbacks
 * (live/module.c), in their own process.
 */
int nmr_bind_provider(struct nmr_registry *reg, const struct nmr_provider_record *prov)
{
	struct nmr_client_record *clients = NULL;
	size_t nclients;
	int err;

	err = nmr_records_read(reg->clients_fd, sizeof(*clients), NMR_MAX_CLIENTS,
			       (void **)&clients, &nclients);
	for (size_t c = 0; !err && c < nclients; c++)
		if (declarative_pair(&clients[c], prov) &&
		    !nmr_pair_known(reg, &clients[c].id, &prov->id))
			err = attach_pair(reg, &clients[c], prov);
	free(clients);
	return err;
}

static int cmp_want(const void *a, const void *b, void *arg)
{
	const struct nmr_binding_record *x = a, *y = b;
	struct nmr_registry *reg = arg;
	struct nmr_provider_record px, py;

	if (bpf_map_lookup_elem(reg->providers_fd, &x->provider, &px) ||
	    bpf_map_lookup_elem(reg->providers_fd, &y->provider, &py))
		return 0;
	return runs_before(&px, &py) ? -1 : runs_before(&py, &px) ? 1 : 0;
}

/* One client's chain as the records say, in one commit; the pairs that fail, declined. */
static int settle_client(struct nmr_registry *reg, struct nmr_client_record *c,
			 const struct nmr_provider_record *provs, size_t nprovs,
			 const struct nmr_replacement *repl, size_t nrepl)
{
	struct nmr_binding_record *chain = NULL, *want = NULL;
	const struct nmr_provider_record **fresh = NULL;
	char reason[NMR_REASON_LEN];
	struct nmr_provider_record p;
	size_t n, m = 0, nfresh = 0, nbound = 0;
	int err;

	err = nmr_chain_records(reg, c, &chain, &n);
	want = calloc(n + nprovs + 1, sizeof(*want));
	fresh = calloc(nprovs + 1, sizeof(*fresh));
	if (!err && (!want || !fresh))
		err = nmr_error(-ENOMEM, "out of memory");
	for (size_t i = 0; !err && i < n; i++)	/* those whose provider is still registered */
		if (!bpf_map_lookup_elem(reg->providers_fd, &chain[i].provider, &p))
			want[m++] = chain[i];
	for (size_t i = 0; !err && i < nprovs; i++) {
		if (!declarative_pair(c, &provs[i]) || nmr_pair_known(reg, &c->id, &provs[i].id))
			continue;
		if (nmr_frags_check(c, &provs[i])) {
			failure_reason(reason, sizeof(reason), "");
			err = nmr_decline_one(reg, c, &provs[i], reason);
		} else if (!nmr_attach_decision(c, m + nfresh, &provs[i], reason, sizeof(reason)) ||
			   !nmr_npi_decision(reg, c, &provs[i], reason, sizeof(reason))) {
			err = nmr_decline_one(reg, c, &provs[i], reason);
		} else {
			fresh[nfresh++] = &provs[i];
		}
	}
	for (size_t i = 0; !err && i < nfresh && m < NMR_MAX_CHAIN; i++, nbound++)
		if (!(err = new_bound(reg, c, fresh[i], want, m, &want[m])))
			m++;
	if (!err) {
		qsort_r(want, m, sizeof(*want), cmp_want, reg);
		err = nmr_chain_commit(reg, c, want, m, repl, nrepl);
		if (err) {
			/* without the new pairs, then each of them alone */
			for (size_t i = 0; i < m; i++)
				if (want[i].state == NMR_BINDING_ATTACHING)
					nmr_context_free(reg, want[i].context_index);
			m = 0;
			for (size_t i = 0; i < n; i++)
				if (!bpf_map_lookup_elem(reg->providers_fd, &chain[i].provider, &p))
					want[m++] = chain[i];
			err = nmr_chain_commit(reg, c, want, m, repl, nrepl);
			nbound = 0;
		}
		/* each alone: the pairs that fail, or find the chain full, are declined */
		for (size_t i = nbound; !err && i < nfresh; i++)
			err = attach_pair(reg, c, fresh[i]);
	}
	free(fresh);
	free(want);
	free(chain);
	return err;
}

/*
 * NMR: for each provider of the NPI, in priority order, ClientAttachProvider.
 * Every accepted provider goes into the chain in one swap (settle_client()).
 */
int nmr_bind_client(struct nmr_registry *reg, struct nmr_client_record *client)
{
	struct nmr_provider_record *provs = NULL;
	size_t nprovs;
	int err;

	err = nmr_records_read(reg->providers_fd, sizeof(*provs), NMR_MAX_PROVIDERS,
			       (void **)&provs, &nprovs);
	if (err)
		return err;
	if (nprovs)
		qsort(provs, nprovs, sizeof(*provs), cmp_provider_order);
	err = settle_client(reg, client, provs, nprovs, NULL, 0);
	/* the caller sees the record as the commits wrote it */
	bpf_map_lookup_elem(reg->clients_fd, &client->id, client);
	free(provs);
	return err;
}

/*
 * Removes the pairs' records; bound ones leave their clients' chains first,
 * one swap per client. The command waits once, at its end (nmr_unlock).
 */
static int unbind_records(struct nmr_registry *reg, const struct nmr_binding_record *gone,
			  size_t ngone)
{
	int err = 0;

	for (size_t i = 0; i < ngone; i++) {
		struct nmr_binding_record *chain = NULL;
		struct nmr_client_record c;
		size_t n, m = 0;
		int e;

		if (gone[i].state != NMR_BINDING_BOUND ||
		    bpf_map_lookup_elem(reg->clients_fd, &gone[i].client, &c)) {
			bpf_map_delete_elem(reg->bindings_fd, &gone[i].id);
			continue;
		}
		e = nmr_chain_records(reg, &c, &chain, &n);
		for (size_t j = 0; !e && j < n; j++)
			if (!nmr_guid_equal(&chain[j].id, &gone[i].id))
				chain[m++] = chain[j];
		if (!e)
			e = nmr_chain_commit(reg, &c, chain, m, NULL, 0);
		free(chain);
		if (e)
			err = err ?: nmr_error_prefix(e, "unbind from client %s", c.name);
	}
	return err;
}

int nmr_unbind_pair(struct nmr_registry *reg, const struct nmr_guid *client,
		    const struct nmr_guid *provider)
{
	struct nmr_binding_record b;

	if (!pair_record(reg, client, provider, &b))
		return 0;
	return unbind_records(reg, &b, 1);
}

int nmr_unbind_provider(struct nmr_registry *reg, const struct nmr_provider_record *prov)
{
	struct nmr_client_record *clients = NULL;
	struct nmr_binding_record b;
	size_t n;
	int err;

	err = nmr_records_read(reg->clients_fd, sizeof(*clients), NMR_MAX_CLIENTS,
			       (void **)&clients, &n);
	for (size_t i = 0; !err && i < n; i++)
		if (pair_record(reg, &clients[i].id, &prov->id, &b))
			err = unbind_records(reg, &b, 1);
	free(clients);
	return err;
}

/*
 * Every record of the client's pairs removed, with their instances: for a
 * client whose dispatcher is off its hook already (nmr_hook_detach), so no
 * swap is needed; the command waits once, at its end, for packets still
 * running its chain.
 */
int nmr_unbind_client(struct nmr_registry *reg, const struct nmr_client_record *client)
{
	struct nmr_provider_record *provs = NULL;
	struct nmr_binding_record b;
	size_t n;
	int err;

	err = nmr_records_read(reg->providers_fd, sizeof(*provs), NMR_MAX_PROVIDERS,
			       (void **)&provs, &n);
	for (size_t i = 0; !err && i < n; i++) {
		char path[PATH_MAX];

		if (!pair_record(reg, &client->id, &provs[i].id, &b))
			continue;
		bpf_map_delete_elem(reg->bindings_fd, &b.id);
		if (nmr_binding_holds_context(&b))
			nmr_context_free(reg, b.context_index);
		if (!nmr_binding_path(reg, &b.id, 0, NULL, path, sizeof(path)))
			nmr_unpin_tree(path);
		reg->wait_owed = true;
	}
	free(provs);
	return err;
}

int nmr_rebuild_bindings(struct nmr_registry *reg, const struct nmr_replacement *repl,
			 size_t nrepl)
{
	struct nmr_client_record *clients = NULL;
	size_t nclients;
	int err;

	err = nmr_records_read(reg->clients_fd, sizeof(*clients), NMR_MAX_CLIENTS,
			       (void **)&clients, &nclients);
	for (size_t c = 0; !err && c < nclients; c++) {
		struct nmr_binding_record *chain = NULL;
		size_t n;

		err = nmr_chain_records(reg, &clients[c], &chain, &n);
		if (!err)	/* nothing to do where no replaced provider runs */
			err = nmr_chain_commit(reg, &clients[c], chain, n, repl, nrepl);
		if (err)
			nmr_error_prefix(err, "client %s", clients[c].name);
		free(chain);
	}
	free(clients);
	return err;
}

/* ---- a batch: many changes, one swap per client ---- */

/*
 * apply changes many providers at once; each client's chain should change in
 * one swap. Inside a batch, registering or deregistering a provider changes
 * its record only, and a replace stages and promotes its new object without
 * rebuilding; nmr_batch_settle() then makes each declarative client's chain
 * what the records say, in one commit each: the bindings of providers that
 * are gone leave it, replaced providers get new instances, and the pairs not
 * met yet are decided (and bound in order, or declined).
 */
void nmr_batch_begin(struct nmr_registry *reg)
{
	reg->batch = true;
	nmr_intent_begin(reg, NMR_INTENT_BATCH, NULL);
}

/* Keeps a replacement (and its object, which the batch now owns) for the settle. */
int nmr_batch_replace(struct nmr_registry *reg, const struct nmr_replacement *r)
{
	struct nmr_replacement *p = realloc(reg->batch_repl,
					    (reg->nbatch_repl + 1) * sizeof(*p));

	if (!p)
		return nmr_error(-ENOMEM, "out of memory");
	reg->batch_repl = p;
	p[reg->nbatch_repl++] = *r;
	return 0;
}

static void batch_free(struct nmr_registry *reg)
{
	for (size_t i = 0; i < reg->nbatch_repl; i++)
		free((void *)reg->batch_repl[i].obj);
	free(reg->batch_repl);
	reg->batch_repl = NULL;
	reg->nbatch_repl = 0;
	reg->batch = false;
	nmr_intent_done(reg, NMR_INTENT_BATCH);
}

int nmr_settle(struct nmr_registry *reg, const struct nmr_replacement *repl, size_t nrepl)
{
	struct nmr_client_record *clients = NULL;
	struct nmr_provider_record *provs = NULL;
	struct nmr_binding_record *binds = NULL;
	size_t nc, np, nb;
	int err;

	err = nmr_records_read(reg->providers_fd, sizeof(*provs), NMR_MAX_PROVIDERS,
			       (void **)&provs, &np);
	if (!err)
		err = nmr_records_read(reg->clients_fd, sizeof(*clients), NMR_MAX_CLIENTS,
				       (void **)&clients, &nc);
	if (!err && np)
		qsort(provs, np, sizeof(*provs), cmp_provider_order);
	for (size_t i = 0; !err && i < nc; i++)
		if (!nmr_owner_live(&clients[i].owner))
			err = settle_client(reg, &clients[i], provs, np, repl, nrepl);
	/* declined pairs of providers that are gone */
	if (!err)
		err = nmr_records_read(reg->bindings_fd, sizeof(*binds), NMR_MAX_BINDINGS,
				       (void **)&binds, &nb);
	for (size_t i = 0; !err && i < nb; i++) {
		struct nmr_provider_record p;

		if (binds[i].state == NMR_BINDING_DECLINED &&
		    bpf_map_lookup_elem(reg->providers_fd, &binds[i].provider, &p))
			bpf_map_delete_elem(reg->bindings_fd, &binds[i].id);
	}
	free(binds);
	free(clients);
	free(provs);
	return err;
}

int nmr_batch_settle(struct nmr_registry *reg)
{
	int err = nmr_settle(reg, reg->batch_repl, reg->nbatch_repl);

	batch_free(reg);
	return err;
}
