// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The registry as the library's users see it: opened with the engine's recovery
 * behind its lock, closed with the live modules of this process told, destroyed
 * with every client and provider deregistered first.
 */
#include <stdlib.h>
#include "api/api.h"

int nmr_registry_open(const char *root, unsigned int flags, struct nmr_registry **out)
{
	int err = nmr_store_open(root, flags, nmr_recover, out);

	if (!err)
		nmr_reap_orphans(*out);
	return err;
}

void nmr_registry_close(struct nmr_registry *reg)
{
	if (reg && reg->observer && reg->observer->closing)
		reg->observer->closing(reg);
	nmr_store_close(reg);
}

static bool any_owner(const struct nmr_owner *o, const void *ctx)
{
	return true;
}

int nmr_registry_destroy(struct nmr_registry *reg)
{
	struct nmr_problems r = {};
	int err;

	if (reg->empty)
		return 0;
	err = nmr_store_destroyable(reg->root);
	if (err)
		return err;
	err = nmr_lock(reg, true);
	if (err)
		return err;
	nmr_deregister_where(reg, any_owner, NULL, &r);
	nmr_store_remove(reg, &r);
	nmr_unlock(reg);
	if (r.err)
		return nmr_error(r.err, "destroy registry %s: %d problem%s (the rest was removed): "
				 "%s", reg->root, r.count, r.count > 1 ? "s" : "", r.msg);
	return 0;
}
