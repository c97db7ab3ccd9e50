// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The registry's intent mark (nmr_registry_meta.intent): what the holder of the
 * exclusive lock is doing. A lock taker that finds it set knows the holder died,
 * and has the engine recover (engine/recover.c) before it goes on.
 */
#include <string.h>
#include <unistd.h>
#include "store/store.h"

int nmr_intent_begin(struct nmr_registry *reg, enum nmr_intent_op op, const struct nmr_guid *id)
{
	struct nmr_registry_meta meta;
	int err = nmr_meta_get(reg, &meta);

	if (err)
		return err;
	/* the outermost command names the change: a registration binds, too */
	if (meta.intent.op != NMR_INTENT_NONE && meta.intent.op != NMR_INTENT_CHANGE)
		return 0;
	meta.intent.op = op;
	meta.intent.pid = getpid();
	if (id)
		meta.intent.id = *id;
	return nmr_meta_put(reg, &meta);
}

void nmr_intent_done(struct nmr_registry *reg, enum nmr_intent_op op)
{
	struct nmr_registry_meta meta;

	if (nmr_meta_get(reg, &meta) || meta.intent.op != op)
		return;
	meta.intent.op = NMR_INTENT_CHANGE;
	memset(&meta.intent.id, 0, sizeof(meta.intent.id));
	nmr_meta_put(reg, &meta);
}

void nmr_intent_end(struct nmr_registry *reg)
{
	struct nmr_registry_meta meta;

	if (nmr_meta_get(reg, &meta) || meta.intent.op == NMR_INTENT_NONE)
		return;
	memset(&meta.intent, 0, sizeof(meta.intent));
	nmr_meta_put(reg, &meta);
}
