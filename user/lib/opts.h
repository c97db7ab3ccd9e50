/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The public options structs' size check (libnmrbpf.h: NMR_OPTS). */
#ifndef NMR_OPTS_H
#define NMR_OPTS_H

#include <stddef.h>

/*
 * Copies a caller's options struct, of the size its sz says, into dst (our
 * size), zero-filling the fields an older caller does not know. Refuses a
 * missing struct, an sz too small to hold sz itself, and a larger struct
 * whose bytes beyond ours are not zero: fields this library cannot honour.
 */
int nmr_opts_import(void *dst, size_t size, const void *src, const char *type);

#define NMR_OPTS_IMPORT(dst, src, type) nmr_opts_import(dst, sizeof(*(dst)), src, #type)

#endif /* NMR_OPTS_H */
