// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* NPIs: a GUID, a name and the hook kind its clients are. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "api/api.h"

static int fill_slots(const struct nmr_npi_opts *opts, struct nmr_npi_record *rec)
{
	for (int i = 0; i < NMR_MAX_SLOTS && opts->slots[i]; i++) {
		const char *name = opts->slots[i];

		if (!name[0] || strlen(name) >= NMR_SLOT_LEN || strchr(name, '='))
			return nmr_error(-EINVAL, "register npi %s: slot name '%s': 1 to %d "
					 "characters, no '='", rec->name, name, NMR_SLOT_LEN - 1);
		for (int j = 0; j < i; j++)
			if (!strcmp(rec->slots[j], name))
				return nmr_error(-EINVAL, "register npi %s: slot %s named twice",
						 rec->name, name);
		snprintf(rec->slots[i], NMR_SLOT_LEN, "%s", name);
		rec->nslots++;
	}
	if (!rec->nslots) {
		snprintf(rec->slots[0], NMR_SLOT_LEN, "main");
		rec->nslots = 1;
	}
	return 0;
}

int nmr_npi_register(struct nmr_registry *reg, const struct nmr_npi_opts *user_opts,
		     struct nmr_npi_record *out)
{
	struct nmr_npi_record rec = {};
	struct nmr_npi_btf *chars = NULL;
	struct nmr_npi_opts o;
	const struct nmr_npi_opts *opts = &o;
	bool chars_made = false;
	int err;

	err = NMR_OPTS_IMPORT(&o, user_opts, nmr_npi_opts);
	if (err)
		return err;
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
	err = fill_slots(opts, &rec);
	if (err)
		return err;
	if (opts->id)
		rec.id = *opts->id;
	else if ((err = nmr_guid_generate(&rec.id)))
		return err;
	/* its own characteristics structs, read from the user's file before the lock */
	err = nmr_npi_btf_import(opts, &chars);
	if (err)
		return err;

	err = nmr_lock(reg, true);
	if (err) {
		nmr_npi_btf_free(chars);
		return err;
	}
	err = nmr_record_unique(reg, reg->npis_fd, sizeof(rec),
				offsetof(struct nmr_npi_record, name), "npi", &rec.id, rec.name);
	if (!err)
		err = nmr_next_number(reg, &rec.number);
	if (!err && chars && !(err = nmr_npi_chars_create(reg, &rec, chars)))
		chars_made = true;
	if (!err && bpf_map_update_elem(reg->npis_fd, &rec.id, &rec, BPF_NOEXIST))
		err = nmr_error(-errno, "register npi %s: %s", rec.name,
				errno == E2BIG ? "the registry holds its maximum of NPIs"
					       : strerror(errno));
	if (!err)
		nmr_generation_bump(reg, NULL);
	else if (chars_made)
		nmr_npi_chars_destroy(reg, &rec.id);
	nmr_unlock(reg);
	nmr_npi_btf_free(chars);
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
	if (!err) {
		nmr_npi_chars_destroy(reg, &rec.id);	/* its own characteristics' maps */
		nmr_generation_bump(reg, NULL);
	}
	nmr_unlock(reg);
	free(provs);
	free(clients);
	return err;
}
