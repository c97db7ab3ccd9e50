// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Changes conditional on a generation (meta.c keeps them): a caller that read
 * a state makes its change under the same lock as the check that nothing
 * changed since (TCX's expected_revision, for the whole registry or a client).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "store/store.h"

int nmr_registry_lock(struct nmr_registry *reg)
{
	return nmr_lock(reg, true);
}

void nmr_registry_unlock(struct nmr_registry *reg)
{
	nmr_unlock(reg);
}

int nmr_expect_generation(struct nmr_registry *reg, const char *client, __u64 gen)
{
	struct nmr_client_record rec;
	__u64 now;
	int err;

	err = nmr_lock(reg, true);
	if (err)
		return err;
	if (client) {
		err = nmr_client_find(reg, client, &rec);
		now = rec.generation;
	} else {
		err = nmr_registry_generation(reg, &now);
	}
	if (!err && now != gen)
		err = nmr_error(-ESTALE, "generation conflict: %s%s is at generation %llu, "
				"not %llu (it changed since it was read)",
				client ? "client " : "the registry", client ? rec.name : "",
				(unsigned long long)now, (unsigned long long)gen);
	nmr_unlock(reg);
	return err;
}
