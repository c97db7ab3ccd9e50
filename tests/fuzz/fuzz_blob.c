// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Stored blobs as read back (nmr_blob_parse): the size they claim never reads past them. */
#include <stdlib.h>
#include <string.h>
#include "nmr_internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	/* an exact-size copy, so that ASan sees any read past the end */
	void *buf = malloc(size ? size : 1);
	size_t n;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (!nmr_blob_parse(buf, size, &n) && n > size - 8)
		abort();
	free(buf);
	return 0;
}
