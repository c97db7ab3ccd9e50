// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* GUIDs as users type them: whatever parses formats back to a GUID that parses the same. */
#include <stdlib.h>
#include <string.h>
#include "nmr_internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1), out[NMR_GUID_STR_LEN];
	struct nmr_guid a, b;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (!nmr_guid_parse(s, &a)) {
		nmr_guid_format(&a, out);
		if (strlen(out) != NMR_GUID_STR_LEN - 1 || nmr_guid_parse(out, &b) ||
		    !nmr_guid_equal(&a, &b))
			abort();
	}
	free(s);
	return 0;
}
