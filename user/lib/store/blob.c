// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Blobs: byte strings kept in the registry as frozen array maps, so that
 * they live as long as their pin (a provider's ELF object, a binding's code).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/param.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "store/store.h"

#define OBJECT_CHUNK 65536

/* A frozen array map of OBJECT_CHUNK-byte entries; the first 8 bytes hold the size. */
int nmr_blob_store(const char *path, const void *buf, size_t size)
{
	size_t total = size + sizeof(__u64);
	__u32 entries = (total + OBJECT_CHUNK - 1) / OBJECT_CHUNK;
	char *chunk;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nmr_blob", 4, OBJECT_CHUNK, entries, NULL);
	if (fd < 0)
		return nmr_error(-errno, "store %s: create map: %s", path, strerror(errno));
	chunk = malloc(OBJECT_CHUNK);
	if (!chunk) {
		close(fd);
		return nmr_error(-ENOMEM, "store %s: out of memory", path);
	}
	for (__u32 i = 0; i < entries && !err; i++) {
		size_t off = (size_t)i * OBJECT_CHUNK, n, skip = i ? 0 : sizeof(__u64);
		size_t from = i ? off - sizeof(__u64) : 0;

		memset(chunk, 0, OBJECT_CHUNK);
		if (!i)
			*(__u64 *)chunk = size;
		n = MIN(size - MIN(size, from), OBJECT_CHUNK - skip);
		memcpy(chunk + skip, (const char *)buf + from, n);
		if (bpf_map_update_elem(fd, &i, chunk, BPF_ANY))
			err = nmr_error(-errno, "store %s: %s", path, strerror(errno));
	}
	free(chunk);
	/* Frozen: what was stored never changes. */
	if (!err && bpf_map_freeze(fd))
		err = nmr_error(-errno, "store %s: freeze: %s", path, strerror(errno));
	if (!err && bpf_obj_pin(fd, path))
		err = nmr_error(-errno, "store %s: pin: %s", path, strerror(errno));
	close(fd);
	return err;
}

/*
 * A stored blob as read back, chunks end to end: its first __u64 is its size, which must fit
 * in what was read. The registry's maps can be written by anyone with the rights, so the
 * size is checked before it is used.
 */
int nmr_blob_parse(void *buf, size_t total, size_t *size)
{
	__u64 n;

	if (total < sizeof(n))
		return -EINVAL;
	memcpy(&n, buf, sizeof(n));
	if (n > total - sizeof(n))
		return -EINVAL;
	memmove(buf, (char *)buf + sizeof(n), n);
	*size = n;
	return 0;
}

int nmr_blob_load(const char *path, void **out, size_t *size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char *buf = NULL;
	size_t total;
	int fd, err = 0;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return nmr_error(-errno, "read %s: %s", path, strerror(errno));
	/* what nmr_blob_store makes: an array of whole chunks, not more than an object's */
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_MAP_TYPE_ARRAY ||
	    info.key_size != 4 || info.value_size != OBJECT_CHUNK || !info.max_entries ||
	    info.max_entries > NMR_OBJECT_MAX_SIZE / OBJECT_CHUNK + 1) {
		err = nmr_error(-EINVAL, "read %s: not a stored blob (damaged registry: "
				"'nmr-bpf registry destroy' removes it)", path);
		goto out;
	}
	total = (size_t)info.max_entries * OBJECT_CHUNK;
	buf = malloc(total);
	if (!buf) {
		err = nmr_error(-ENOMEM, "read %s: out of memory", path);
		goto out;
	}
	for (__u32 i = 0; i < info.max_entries && !err; i++)
		if (bpf_map_lookup_elem(fd, &i, buf + (size_t)i * OBJECT_CHUNK))
			err = nmr_error(-errno, "read %s: %s", path, strerror(errno));
	if (!err && nmr_blob_parse(buf, total, size))
		err = nmr_error(-EINVAL, "read %s: its size is beyond its end (damaged registry: "
				"'nmr-bpf registry destroy' removes it)", path);
	if (!err) {
		*out = buf;
		buf = NULL;
	}
out:
	free(buf);
	close(fd);
	return err;
}

int nmr_object_store(struct nmr_registry *reg, const struct nmr_provider_record *prov,
		     const char *leaf, const void *buf, size_t size)
{
	char path[PATH_MAX];
	int err = nmr_provider_path(reg, &prov->id, leaf, path, sizeof(path));

	return err ?: nmr_blob_store(path, buf, size);
}

int nmr_object_load(struct nmr_registry *reg, const struct nmr_provider_record *prov,
		    void **out, size_t *size)
{
	char path[PATH_MAX];
	int err = nmr_provider_path(reg, &prov->id, NMR_PIN_OBJECT, path, sizeof(path));

	if (!err)
		err = nmr_blob_load(path, out, size);
	return err ? nmr_error_prefix(err, "provider %s", prov->name) : 0;
}
