// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every path of the registry on bpffs, in one place. Under the root:
 *
 *   provider/<id>/LEAF            a provider's object, maps/ (NMR_PIN_* in store.h)
 *   client/<id>/LEAF              a client's dispatcher, chain table, counters, ...
 *   binding/<id>/<prog id>/LEAF   a binding's instance: prog, dispatch, code
 *   npi/<id>/LEAF                 an NPI's own characteristics: NMR_PIN_*_CHARS, _REQUIRES
 *
 * A NULL leaf names the directory itself. The registry's own maps are named in
 * registry.c (registry_pins[]).
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "store/store.h"

static int object_path(struct nmr_registry *reg, const char *kind, const struct nmr_guid *id,
		       const char *leaf, char *buf, size_t len)
{
	char guid[NMR_GUID_STR_LEN];

	nmr_guid_format(id, guid);
	return nmr_path(reg, buf, len, "%s/%s%s%s", kind, guid, leaf ? "/" : "",
			leaf ? leaf : "");
}

int nmr_provider_path(struct nmr_registry *reg, const struct nmr_guid *id, const char *leaf,
		      char *buf, size_t len)
{
	return object_path(reg, NMR_PROVIDERS_DIR, id, leaf, buf, len);
}

int nmr_client_path(struct nmr_registry *reg, const struct nmr_client_record *c,
		    const char *leaf, char *buf, size_t len)
{
	return object_path(reg, NMR_CLIENTS_DIR, &c->id, leaf, buf, len);
}

int nmr_binding_path(struct nmr_registry *reg, const struct nmr_guid *id, __u32 prog_id,
		     const char *leaf, char *buf, size_t len)
{
	char sub[32 + NMR_PROG_NAME_LEN];

	if (!prog_id)
		return object_path(reg, NMR_BINDINGS_DIR, id, leaf, buf, len);
	snprintf(sub, sizeof(sub), "%u%s%s", prog_id, leaf ? "/" : "", leaf ? leaf : "");
	return object_path(reg, NMR_BINDINGS_DIR, id, sub, buf, len);
}

/* A pinned object opened: its fd, or an error that names the path. */
static int pin_open(int err, const char *path)
{
	int fd;

	if (err)
		return err;
	fd = bpf_obj_get(path);
	return fd >= 0 ? fd : nmr_error(-errno, "open %s: %s", path, strerror(errno));
}

int nmr_client_pin_open(struct nmr_registry *reg, const struct nmr_client_record *c,
			const char *leaf)
{
	char path[PATH_MAX];

	return pin_open(nmr_client_path(reg, c, leaf, path, sizeof(path)), path);
}

int nmr_binding_pin_open(struct nmr_registry *reg, const struct nmr_guid *id, __u32 prog_id,
			 const char *leaf)
{
	char path[PATH_MAX];

	return pin_open(nmr_binding_path(reg, id, prog_id, leaf, path, sizeof(path)), path);
}

int nmr_npi_path(struct nmr_registry *reg, const struct nmr_guid *id, const char *leaf,
		 char *buf, size_t len)
{
	return object_path(reg, NMR_NPIS_DIR, id, leaf, buf, len);
}
