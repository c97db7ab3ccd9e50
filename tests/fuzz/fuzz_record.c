// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Records as read back from the registry maps, any bytes: after nmr_record_check every string
 * ends within its field and every count is in range, damaged or not.
 */
#include <stdlib.h>
#include <string.h>
#include "nmr_internal.h"

#define ENDS(f) do { if (!memchr((f), 0, sizeof(f))) abort(); } while (0)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	union {
		struct nmr_npi_record n;
		struct nmr_provider_record p;
		struct nmr_client_record c;
		struct nmr_binding_record b;
	} r;
	int err;

	if (!size)
		return 0;
	memset(&r, 0, sizeof(r));
	memcpy(&r, data + 1, size - 1 < sizeof(r) ? size - 1 : sizeof(r));
	switch (data[0] % 4) {
	case 0:
		err = nmr_record_check(&r.n, sizeof(r.n));
		ENDS(r.n.name);
		for (int i = 0; i < NMR_MAX_SLOTS; i++)
			ENDS(r.n.slots[i]);
		if (r.n.nslots < 1 || r.n.nslots > NMR_MAX_SLOTS)
			abort();
		if (!err && nmr_hook_name(r.n.hook)[0] == 'u')
			abort();
		break;
	case 1:
		nmr_record_check(&r.p, sizeof(r.p));
		ENDS(r.p.name);
		ENDS(r.p.prog_name);
		for (int i = 0; i < NMR_MAX_SLOTS; i++)
			ENDS(r.p.slot_progs[i]);
		for (int i = 0; i < NMR_MAX_TAGS; i++)
			ENDS(r.p.chars.tags[i]);
		break;
	case 2:
		nmr_record_check(&r.c, sizeof(r.c));
		ENDS(r.c.name);
		ENDS(r.c.dev);
		ENDS(r.c.netns);
		for (int i = 0; i < NMR_MAX_TAGS; i++)
			ENDS(r.c.chars.require_tags[i]);
		break;
	default:
		err = nmr_record_check(&r.b, sizeof(r.b));
		ENDS(r.b.reason);
		if (!err && r.b.position >= NMR_MAX_CHAIN)
			abort();
		break;
	}
	return 0;
}
