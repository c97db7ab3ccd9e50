// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The registry's records at one generation, read under one lock: what dump,
 * metrics and monitor print from.
 */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"

void nmr_snapshot_free(struct nmr_snapshot *s)
{
	free(s->npis);
	free(s->provs);
	free(s->clients);
	free(s->binds);
	memset(s, 0, sizeof(*s));
}

int nmr_snapshot_take(struct nmr_registry *reg, struct nmr_snapshot *s)
{
	int err = nmr_lock(reg, false);

	memset(s, 0, sizeof(*s));
	if (err)
		return err;
	err = nmr_registry_generation(reg, &s->generation);
	if (!err)
		err = nmr_npi_list(reg, &s->npis, &s->nn);
	if (!err)
		err = nmr_provider_list(reg, &s->provs, &s->np);
	if (!err)
		err = nmr_client_list(reg, &s->clients, &s->nc);
	if (!err)
		err = nmr_binding_list(reg, NULL, NULL, &s->binds, &s->nb);
	nmr_unlock(reg);
	if (err)
		nmr_snapshot_free(s);
	return err;
}
