// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --continue-on lists: a list that parses formats to one that parses to the same set. */
#include <stdlib.h>
#include <string.h>
#include "nmr_internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1), out[256];
	__u32 mask, again;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	for (enum nmr_hook h = NMR_HOOK_XDP; h <= NMR_HOOK_TC_EGRESS; h++) {
		if (nmr_verdicts_parse(h, s, &mask))
			continue;
		if (!mask)
			abort();	/* an accepted list names at least one verdict */
		nmr_verdicts_format(h, mask, out, sizeof(out));
		if (nmr_verdicts_parse(h, out, &again) || again != mask)
			abort();
	}
	free(s);
	return 0;
}
