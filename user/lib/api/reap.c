// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The modules of a process that ended: deregistered, unless persistent. Its
 * watchdog does this (live/module.c); when the watchdog died with it, the next
 * registrar that opens the registry does.
 */
#include <stdlib.h>
#include "api/api.h"

int nmr_reap_owner(struct nmr_registry *reg, __u32 pid, __u64 start_time)
{
	struct nmr_provider_record *provs = NULL;
	struct nmr_client_record *clients = NULL;
	char guid[NMR_GUID_STR_LEN];
	size_t np = 0, nc = 0;
	int err = nmr_lock(reg, true);

	if (err)
		return err;
	nmr_client_list(reg, &clients, &nc);
	for (size_t i = 0; i < nc; i++) {
		const struct nmr_owner *o = &clients[i].owner;

		if (o->pid == pid && o->start_time == start_time &&
		    !(o->flags & NMR_OWNER_F_PERSISTENT)) {
			nmr_guid_format(&clients[i].id, guid);
			nmr_client_deregister(reg, guid);
		}
	}
	nmr_provider_list(reg, &provs, &np);
	for (size_t i = 0; i < np; i++) {
		const struct nmr_owner *o = &provs[i].owner;

		if (o->pid == pid && o->start_time == start_time &&
		    !(o->flags & NMR_OWNER_F_PERSISTENT)) {
			nmr_guid_format(&provs[i].id, guid);
			nmr_provider_deregister(reg, guid);
		}
	}
	nmr_unlock(reg);
	free(clients);
	free(provs);
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
