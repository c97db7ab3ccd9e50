// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every path of the registry on bpffs, in one place. Under the root:
 *
 *   provider/<id>/LEAF            a provider's template, object, maps/
 *   client/<id>/LEAF              a client's NMR_PIN_* (nmr_internal.h)
 *   binding/<id>/<prog id>/LEAF   a binding's instance: prog, dispatch, code
 *   npi/<id>/LEAF                 an NPI's own characteristics: NMR_PIN_*_CHARS, _REQUIRES
 *
 * A NULL leaf names the directory itself.
 */
#include "nmr_internal.h"

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

int nmr_npi_path(struct nmr_registry *reg, const struct nmr_guid *id, const char *leaf,
		 char *buf, size_t len)
{
	return object_path(reg, NMR_NPIS_DIR, id, leaf, buf, len);
}
