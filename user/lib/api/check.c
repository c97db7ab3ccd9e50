// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * registry check: where the records, the pins and what the kernel runs
 * disagree. Taking the registry lock already finishes or undoes a command
 * that was killed (recover.c); what check finds beyond that was done by
 * hand, or by the world: a device or namespace that went away, a pin
 * removed, a hook detached by another tool. --repair makes them agree again:
 * a chain the table does not run is linked and swapped in again from the
 * records, a client whose device is gone is deregistered, records that
 * name nothing are removed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "api/api.h"

struct checker {
	struct nmr_registry *reg;
	bool repair;
	int found;
	nmr_check_report_fn report;
	void *ctx;
};

static void problem(struct checker *k, bool repaired, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct checker *k, bool repaired, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	k->found++;
	if (k->report)
		k->report(buf, repaired, k->ctx);
}

static bool pin_exists(struct nmr_registry *reg, const struct nmr_binding_record *b,
		       const char *leaf)
{
	char path[PATH_MAX];

	return !nmr_binding_path(reg, &b->id, b->prog_id, leaf, path, sizeof(path)) &&
	       !access(path, F_OK);
}

/* The client's chain as its records say, relinked and swapped in. */
static int relink(struct nmr_registry *reg, struct nmr_client_record *c)
{
	struct nmr_binding_record *chain = calloc(NMR_MAX_CHAIN + 1, sizeof(*chain));
	size_t n = 0;
	int err;

	if (!chain)
		return nmr_error(-ENOMEM, "out of memory");
	for (__u32 i = 0; i < c->nchain && i < NMR_MAX_CHAIN; i++)
		if (!bpf_map_lookup_elem(reg->bindings_fd, &c->chain[i], &chain[n]) &&
		    chain[n].state == NMR_BINDING_BOUND && pin_exists(reg, &chain[n], NMR_PIN_CODE))
			n++;
	reg->force_relink = true;
	err = nmr_chain_commit(reg, c, chain, n, NULL, 0);
	reg->force_relink = false;
	free(chain);
	return err;
}

static void check_client(struct checker *k, struct nmr_client_record *c)
{
	struct nmr_registry *reg = k->reg;
	bool relinked = false, chain_ok = true;
	__u32 running = 0;
	int fd, hook;

	hook = nmr_hook_state(c);
	if (hook == NMR_HOOK_GONE) {
		char guid[NMR_GUID_STR_LEN];

		nmr_guid_format(&c->id, guid);
		problem(k, k->repair && !nmr_client_deregister(reg, guid),
			"client %s: device %s%s%s is gone (deregister the client)", c->name, c->dev,
			c->netns[0] ? " in network namespace " : "", c->netns);
		return;
	}
	if (hook == NMR_HOOK_OTHER)
		problem(k, false, "client %s: the hook of %s does not run its dispatcher (prog id "
			"%u); another tool replaced it: deregister and register the client",
			c->name, c->dev, c->dispatcher_prog_id);
	fd = nmr_chain_table_open(reg, c);
	if (fd < 0) {
		problem(k, false, "client %s: %s", c->name, nmr_last_error());
		return;
	}
	nmr_chain_table_running(fd, &running);
	close(fd);
	for (__u32 i = 0; i < c->nchain && i < NMR_MAX_CHAIN; i++) {
		struct nmr_binding_record b;

		if (bpf_map_lookup_elem(reg->bindings_fd, &c->chain[i], &b))
			problem(k, false, "client %s: binding %u of its chain has no record", c->name,
				i), chain_ok = false;
		else if (b.state != NMR_BINDING_BOUND || !pin_exists(reg, &b, NMR_PIN_CODE))
			problem(k, false, "client %s: binding %u of its chain is %s", c->name, i,
				b.state != NMR_BINDING_BOUND ? "not bound" : "missing its code"),
				chain_ok = false;
	}
	if (running != c->chain_prog_id)
		problem(k, false, "client %s: its chain table runs program %u, its record says %u",
			c->name, running, c->chain_prog_id), chain_ok = false;
	if (!chain_ok && k->repair) {
		relinked = !relink(reg, c);
		problem(k, relinked, "client %s: chain relinked from its records%s%s", c->name,
			relinked ? "" : ": ", relinked ? "" : nmr_last_error());
		k->found--;	/* the repair, not a finding */
	}
}

static void check_binding(struct checker *k, const struct nmr_binding_record *b)
{
	struct nmr_registry *reg = k->reg;
	struct nmr_provider_record p;
	struct nmr_client_record c;
	bool has_c = !bpf_map_lookup_elem(reg->clients_fd, &b->client, &c);
	bool has_p = !bpf_map_lookup_elem(reg->providers_fd, &b->provider, &p);
	bool in_chain = false;
	char guid[NMR_GUID_STR_LEN];

	nmr_guid_format(&b->id, guid);
	for (__u32 i = 0; has_c && i < c.nchain && i < NMR_MAX_CHAIN; i++)
		in_chain |= nmr_guid_equal(&c.chain[i], &b->id);
	if (has_c && has_p && (!nmr_binding_holds_context(b) || in_chain))
		return;	/* declined, offered between live modules, or in the chain */
	if (has_c && has_p && b->state == NMR_BINDING_BOUND) {
		problem(k, k->repair && !nmr_unbind_pair(reg, &b->client, &b->provider),
			"binding %s: bound, but not in client %s's chain", guid, c.name);
		return;
	}
	if (k->repair) {
		bpf_map_delete_elem(reg->bindings_fd, &b->id);
		if (nmr_binding_holds_context(b))
			nmr_context_free(reg, b->context_index);
	}
	problem(k, k->repair, "binding %s: its %s is not registered", guid,
		has_c ? "provider" : "client");
}

static void orphan(const char *path, void *ctx)
{
	struct checker *k = ctx;

	problem(k, k->repair, "%s: no record names it", path);
}

int nmr_registry_check(struct nmr_registry *reg, bool repair, nmr_check_report_fn report,
		       void *ctx)
{
	struct checker k = { .reg = reg, .repair = repair, .report = report, .ctx = ctx };
	struct nmr_client_record *clients = NULL;
	struct nmr_binding_record *binds = NULL;
	size_t nc = 0, nb = 0;
	int err;

	if (reg->empty)
		return 0;
	err = nmr_lock(reg, repair);
	if (err)
		return err;
	err = nmr_records_read(reg->clients_fd, sizeof(*clients), NMR_MAX_CLIENTS,
			       (void **)&clients, &nc);
	for (size_t i = 0; !err && i < nc; i++)
		check_client(&k, &clients[i]);
	if (!err)
		err = nmr_records_read(reg->bindings_fd, sizeof(*binds), NMR_MAX_BINDINGS,
				       (void **)&binds, &nb);
	for (size_t i = 0; !err && i < nb; i++)
		check_binding(&k, &binds[i]);
	if (!err) {
		nmr_orphans(reg, orphan, &k);
		if (repair)
			err = nmr_recover(reg);	/* removes them, counts context slots again */
	}
	free(clients);
	free(binds);
	nmr_unlock(reg);
	return err ?: k.found;
}
