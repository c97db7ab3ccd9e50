// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* NPIs: a GUID, a name and the hook kind its clients are. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "nmr_internal.h"

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

int nmr_npi_register(struct nmr_registry *reg, const struct nmr_npi_opts *opts,
		     struct nmr_npi_record *out)
{
	struct nmr_npi_record rec = {};
	int err;

	if (!opts->name)
		return nmr_error(-EINVAL, "register npi: a name is required");
	err = nmr_name_check("npi", opts->name);
	if (err)
		return err;
	if (opts->hook < NMR_HOOK_XDP || opts->hook > NMR_HOOK_TC_EGRESS)
		return nmr_error(-EINVAL, "register npi %s: a hook is required (--hook xdp, "
				 "tc-ingress or tc-egress)", opts->name);
	snprintf(rec.name, sizeof(rec.name), "%s", opts->name);
	rec.hook = opts->hook;
	rec.version = opts->version ?: 1;
	if (opts->id)
		rec.id = *opts->id;
	else if ((err = nmr_guid_generate(&rec.id)))
		return err;

	err = nmr_lock(reg, true);
	if (err)
		return err;
	err = nmr_record_unique(reg, reg->npis_fd, sizeof(rec),
				offsetof(struct nmr_npi_record, name), "npi", &rec.id, rec.name);
	if (!err)
		err = nmr_next_number(reg, &rec.number);
	if (!err && bpf_map_update_elem(reg->npis_fd, &rec.id, &rec, BPF_NOEXIST))
		err = nmr_error(-errno, "register npi %s: %s", rec.name,
				errno == E2BIG ? "the registry holds its maximum of NPIs"
					       : strerror(errno));
	nmr_unlock(reg);
	if (!err && out)
		*out = rec;
	return err;
}

int nmr_npi_deregister(struct nmr_registry *reg, const char *npi)
{
	struct nmr_provider_record *provs = NULL;
	struct nmr_client_record *clients = NULL;
	struct nmr_npi_record rec;
	size_t np = 0, nc = 0, users = 0;
	int err;

	err = nmr_lock(reg, true);
	if (err)
		return err;
	err = nmr_npi_find(reg, npi, &rec);
	if (!err)
		err = nmr_provider_list(reg, &provs, &np);
	if (!err)
		err = nmr_client_list(reg, &clients, &nc);
	for (size_t i = 0; !err && i < np; i++)
		users += nmr_guid_equal(&provs[i].npi, &rec.id);
	for (size_t i = 0; !err && i < nc; i++)
		users += nmr_guid_equal(&clients[i].npi, &rec.id);
	if (!err && users)
		err = nmr_error(-EBUSY, "deregister npi %s: %zu provider(s) and client(s) are "
				"registered for it; deregister them first", rec.name, users);
	if (!err && bpf_map_delete_elem(reg->npis_fd, &rec.id))
		err = nmr_error(-errno, "deregister npi %s: %s", rec.name, strerror(errno));
	nmr_unlock(reg);
	free(provs);
	free(clients);
	return err;
}
