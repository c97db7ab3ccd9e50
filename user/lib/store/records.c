// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Records: the values of the registry's record maps (npis, providers, clients,
 * bindings), keyed by GUID, found by GUID or name, listed in registration order,
 * checked when read back (record_check.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "store/store.h"

int nmr_records_read(int map_fd, size_t value_size, size_t max, void **out, size_t *count)
{
	/* Keys are GUIDs in every record map. */
	struct nmr_guid key, next;
	void *prev_key = NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*count = 0;
	while (!bpf_map_get_next_key(map_fd, prev_key, &next)) {
		if (n == cap) {
			char *nb;

			cap = cap ? cap * 2 : 64;
			if (cap > max)
				cap = max + 1;
			nb = realloc(buf, cap * value_size);
			if (!nb) {
				free(buf);
				return nmr_error(-ENOMEM, "read registry: out of memory");
			}
			buf = nb;
		}
		if (!bpf_map_lookup_elem(map_fd, &next, buf + n * value_size)) {
			/* damaged ones are listed (made safe to print), so they can be removed */
			nmr_record_check(buf + n * value_size, value_size);
			n++;
		}
		key = next;
		prev_key = &key;
		if (n > max)
			break;
	}
	*out = buf;
	*count = n;
	return 0;
}

static int damaged(void *rec, size_t size, const char *kind, const char *ident)
{
	if (!nmr_record_check(rec, size))
		return 0;
	return nmr_error(-EBADMSG, "%s %s: its record in the registry is damaged (a name without "
			 "its end, or a value out of range), so nmr-bpf will not act on it: "
			 "'nmr-bpf registry destroy' removes the registry", kind, ident);
}

/*
 * Finds a record by GUID or unique name. Every record starts with its GUID;
 * name_off is where its name is.
 */
int nmr_record_find(struct nmr_registry *reg, int map_fd, size_t value_size, size_t name_off,
		    const char *kind, const char *ident, void *out)
{
	struct nmr_guid id;
	size_t n;
	char *all;
	int err;

	if (!ident || !ident[0])
		return nmr_error(-EINVAL, "no %s named", kind);
	if (reg->empty)
		return nmr_error(-ENOENT, "unknown %s %s (nothing is registered under %s)", kind,
				 ident, reg->root);
	if (!nmr_guid_parse(ident, &id)) {
		if (bpf_map_lookup_elem(map_fd, &id, out))
			return nmr_error(-ENOENT, "unknown %s %s", kind, ident);
		return damaged(out, value_size, kind, ident);
	}
	err = nmr_records_read(map_fd, value_size, SIZE_MAX / 2, (void **)&all, &n);
	if (err)
		return err;
	err = nmr_error(-ENOENT, "unknown %s %s (see: nmr-bpf %s list)", kind, ident, kind);
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(all + i * value_size + name_off, ident, NMR_NAME_LEN)) {
			memcpy(out, all + i * value_size, value_size);
			err = damaged(out, value_size, kind, ident);
			break;
		}
	}
	free(all);
	return err;
}

/* Fails with -EEXIST when a record of the map has this GUID or name already. */
int nmr_record_unique(struct nmr_registry *reg, int map_fd, size_t value_size, size_t name_off,
		      const char *kind, const struct nmr_guid *id, const char *name)
{
	char guid[NMR_GUID_STR_LEN];
	char *buf = malloc(value_size);
	int err = 0;

	if (!buf)
		return nmr_error(-ENOMEM, "out of memory");
	nmr_guid_format(id, guid);
	if (!bpf_map_lookup_elem(map_fd, id, buf))
		err = nmr_error(-EEXIST, "a %s with id %s is registered already", kind, guid);
	else if (!nmr_record_find(reg, map_fd, value_size, name_off, kind, name, buf))
		err = nmr_error(-EEXIST, "a %s named %s is registered already", kind, name);
	free(buf);
	return err;
}

static int cmp_number_at(const void *a, const void *b, void *offset)
{
	__u64 x, y;

	memcpy(&x, (const char *)a + (size_t)offset, sizeof(x));
	memcpy(&y, (const char *)b + (size_t)offset, sizeof(y));
	return x < y ? -1 : x > y;
}

/* All records of a map, in registration order (the __u64 at number_off). */
int nmr_records_list(struct nmr_registry *reg, int map_fd, size_t size, size_t max,
		     size_t number_off, void **out, size_t *count)
{
	int err;

	*out = NULL;
	*count = 0;
	if (reg->empty)
		return 0;
	err = nmr_lock(reg, false);
	if (err)
		return err;
	err = nmr_records_read(map_fd, size, max, out, count);
	nmr_unlock(reg);
	if (!err && *count)	/* no records: *out is NULL, which qsort may not see */
		qsort_r(*out, *count, size, cmp_number_at, (void *)number_off);
	return err;
}

int nmr_records_lookup(struct nmr_registry *reg, int map_fd, size_t size, size_t name_off,
		       const char *kind, const char *ident, void *out)
{
	int err = nmr_lock(reg, false);

	if (err)
		return err;
	err = nmr_record_find(reg, map_fd, size, name_off, kind, ident, out);
	nmr_unlock(reg);
	return err;
}

/* Typed: each kind of record by GUID or name, and all of a kind. */
int nmr_npi_find(struct nmr_registry *reg, const char *npi, struct nmr_npi_record *out)
{
	return nmr_records_lookup(reg, reg->npis_fd, sizeof(*out),
				  offsetof(struct nmr_npi_record, name), "npi", npi, out);
}

int nmr_npi_list(struct nmr_registry *reg, struct nmr_npi_record **out, size_t *count)
{
	return nmr_records_list(reg, reg->npis_fd, sizeof(**out), NMR_MAX_NPIS,
				offsetof(struct nmr_npi_record, number), (void **)out, count);
}

int nmr_provider_find(struct nmr_registry *reg, const char *provider,
		      struct nmr_provider_record *out)
{
	return nmr_records_lookup(reg, reg->providers_fd, sizeof(*out),
				  offsetof(struct nmr_provider_record, name), "provider", provider,
				  out);
}

int nmr_provider_list(struct nmr_registry *reg, struct nmr_provider_record **out, size_t *count)
{
	return nmr_records_list(reg, reg->providers_fd, sizeof(**out), NMR_MAX_PROVIDERS,
				offsetof(struct nmr_provider_record, number), (void **)out, count);
}

int nmr_client_find(struct nmr_registry *reg, const char *client, struct nmr_client_record *out)
{
	return nmr_records_lookup(reg, reg->clients_fd, sizeof(*out),
				  offsetof(struct nmr_client_record, name), "client", client, out);
}

int nmr_client_list(struct nmr_registry *reg, struct nmr_client_record **out, size_t *count)
{
	return nmr_records_list(reg, reg->clients_fd, sizeof(**out), NMR_MAX_CLIENTS,
				offsetof(struct nmr_client_record, number), (void **)out, count);
}
