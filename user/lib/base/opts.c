// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Options structs that can grow (libbpf's sz pattern), and the library's version. */
#include <errno.h>
#include <string.h>
#include "base/base.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *nmr_libnmrbpf_version(void)
{
	return STR(LIBNMRBPF_MAJOR_VERSION) "." STR(LIBNMRBPF_MINOR_VERSION) "."
	       STR(LIBNMRBPF_PATCH_VERSION);
}

int nmr_opts_import(void *dst, size_t size, const void *src, const char *type)
{
	const unsigned char *tail;
	size_t sz;

	if (!src)
		return nmr_error(-EINVAL, "struct %s: no options given", type);
	memcpy(&sz, src, sizeof(sz));
	if (sz < sizeof(size_t))
		return nmr_error(-EINVAL, "struct %s: sz is %zu (declare it with NMR_OPTS())",
				 type, sz);
	/* Fields of a newer header than this library: refused unless left zero. */
	tail = (const unsigned char *)src + size;
	for (size_t i = size; i < sz; i++, tail++)
		if (*tail)
			return nmr_error(-EINVAL, "struct %s: byte %zu is set, but this library "
					 "(%s) knows only %zu bytes of it", type, i,
					 nmr_libnmrbpf_version(), size);
	memset(dst, 0, size);
	memcpy(dst, src, sz < size ? sz : size);
	memcpy(dst, &size, sizeof(size));
	return 0;
}
