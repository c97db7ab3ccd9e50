// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Deregistering modules by owner: every module (registry destroy), or those of
 * a process that ended, unless persistent. A process's watchdog reaps it
 * (live/module.c); when the watchdog died with it, the next registrar that
 * opens the registry does.
 */
#include <stdlib.h>
#include "api/api.h"

/*
 * Deregisters, clients first (their hooks leave the devices before anything
 * else goes), each module whose owner match() accepts; problems, if r, go there.
 */
void nmr_deregister_where(struct nmr_registry *reg, nmr_owner_match_fn match, const void *ctx,
			  struct nmr_problems *r)
{
	struct nmr_provider_record *provs = NULL;
	struct nmr_client_record *clients = NULL;
	char guid[NMR_GUID_STR_LEN];
	size_t np = 0, nc = 0;
	int err;

	err = nmr_client_list(reg, &clients, &nc);
	if (err && r)
		nmr_problem(r, err, "%s", nmr_last_error());
	for (size_t i = 0; i < nc; i++) {
		if (!match(&clients[i].owner, ctx))
			continue;
		nmr_guid_format(&clients[i].id, guid);
		err = nmr_client_deregister(reg, guid);
		if (err && r)
			nmr_problem(r, err, "%s", nmr_last_error());
	}
	free(clients);
	err = nmr_provider_list(reg, &provs, &np);
	if (err && r)
		nmr_problem(r, err, "%s", nmr_last_error());
	for (size_t i = 0; i < np; i++) {
		if (!match(&provs[i].owner, ctx))
			continue;
		nmr_guid_format(&provs[i].id, guid);
		err = nmr_provider_deregister(reg, guid);
		if (err && r)
			nmr_problem(r, err, "%s", nmr_last_error());
	}
	free(provs);
}

/* The owner a reap is for: a process's pid and start time. */
static bool owned_by(const struct nmr_owner *o, const void *ctx)
{
	const struct nmr_owner *ended = ctx;

	return o->pid == ended->pid && o->start_time == ended->start_time &&
	       !(o->flags & NMR_OWNER_F_PERSISTENT);
}

int nmr_reap_owner(struct nmr_registry *reg, __u32 pid, __u64 start_time)
{
	struct nmr_owner ended = { .pid = pid, .start_time = start_time };
	int err = nmr_lock(reg, true);

	if (err)
		return err;
	nmr_deregister_where(reg, owned_by, &ended, NULL);
	nmr_unlock(reg);
	return 0;
}

/*
 * Modules whose owner and watchdog both died (killed together, or the machine's OOM killer):
 * the next registrar that sees them does the watchdog's work.
 */
void nmr_reap_orphans(struct nmr_registry *reg)
{
	struct nmr_provider_record *provs = NULL;
	struct nmr_client_record *clients = NULL;
	size_t np = 0, nc = 0;

	if (reg->empty || nmr_client_list(reg, &clients, &nc) ||
	    nmr_provider_list(reg, &provs, &np))
		goto out;
	for (size_t i = 0; i < nc; i++)
		if (nmr_owner_orphaned(&clients[i].owner))
			nmr_reap_owner(reg, clients[i].owner.pid, clients[i].owner.start_time);
	for (size_t i = 0; i < np; i++)
		if (nmr_owner_orphaned(&provs[i].owner))
			nmr_reap_owner(reg, provs[i].owner.pid, provs[i].owner.start_time);
out:
	free(clients);
	free(provs);
}
