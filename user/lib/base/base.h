/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libnmrbpf's base: what every layer above uses and that knows no registry.
 *
 *   live    live modules, their watcher and watchdog          (live/)
 *   api     the public calls: npi, provider, client, binding, registry (api/)
 *   engine  a client's change as a transaction, pair policy, recovery (engine/)
 *   bpf     codes, instances, the linker, counters, hooks      (bpf/)
 *   store   the registry root: paths, records, blobs, lock, owners (store/)
 *   base    errors, GUIDs, names, netns, bpffs, the RCU wait   (base/)
 *
 * A file calls only into its own layer and those below it (scripts/layers.py
 * checks); each layer's header includes the one below.
 */
#ifndef NMR_BASE_H
#define NMR_BASE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "libnmrbpf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- error.c: the one place messages are made ---- */
int nmr_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds "<what>: " in front of the current message (for context from callers). */
int nmr_error_prefix(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- names.c ---- */
/* A module's name: letters, digits, '_', '-', '.', not a GUID; else an error for kind. */
int nmr_name_check(const char *kind, const char *name);

/* ---- opts.c: the public options structs' size check (libnmrbpf.h: NMR_OPTS) ---- */
/*
 * Copies a caller's options struct, of the size its sz says, into dst (our
 * size), zero-filling the fields an older caller does not know. Refuses a
 * missing struct, an sz too small to hold sz itself, and a larger struct
 * whose bytes beyond ours are not zero: fields this library cannot honour.
 */
int nmr_opts_import(void *dst, size_t size, const void *src, const char *type);
#define NMR_OPTS_IMPORT(dst, src, type) nmr_opts_import(dst, sizeof(*(dst)), src, #type)

/* ---- sha256.c ---- */
#define NMR_SHA256_HEX_LEN	65
void nmr_sha256_hex(const void *data, size_t len, char out[NMR_SHA256_HEX_LEN]);

/* ---- netns.c ---- */
struct nmr_netns_guard {
	int saved_fd;
};
int nmr_netns_enter(const char *name, struct nmr_netns_guard *guard);
/* 0, or an error when this thread could not go back (it then is not where it was). */
int nmr_netns_leave(struct nmr_netns_guard *guard);
int nmr_netns_ino(const char *name, __u64 *ino);

/* ---- sys.c: bpffs, ids, the RCU wait ---- */
/* A directory of mode 0700 (whatever the umask); 0 if it exists. */
int nmr_mkdir(const char *path);
/* Removes every pin below path, then path itself; a negative errno. */
int nmr_unpin_tree(const char *path);
/* Returns once no BPF program that started before the call can still be running. */
int nmr_wait_for_readers(void);
/* A program's or a map's id from its fd; 0 if the kernel will not say. */
__u32 nmr_prog_id(int prog_fd);
__u32 nmr_map_id(int map_fd);

#endif /* NMR_BASE_H */
