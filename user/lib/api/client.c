// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Clients: an XDP or TC hook of one interface registered for an NPI. Its
 * dispatcher goes on the hook at registration (bpf/hook.c); providers are linked
 * into its chain as they are bound (engine/pairs.c, engine/commit.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "api/api.h"

int nmr_client_counts(struct nmr_registry *reg, const struct nmr_client_record *c,
		      struct nmr_client_counts *out)
{
	struct nmr_chain_stats sum;
	struct nmr_chain_events ev;
	int err = nmr_client_stats(reg, c, &sum, &ev);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	out->no_provider = ev.no_provider;
	out->missed = ev.default_missed;
	return 0;
}

static int fill_client(const struct nmr_client_opts *opts, const struct nmr_npi_record *npi,
		       struct nmr_client_record *rec)
{
	struct nmr_client_characteristics *c = &rec->chars;

	if (strlen(opts->dev) >= NMR_DEV_LEN)
		return nmr_error(-EINVAL, "register client: device name %s too long", opts->dev);
	snprintf(rec->dev, sizeof(rec->dev), "%s", opts->dev);
	if (opts->netns && strlen(opts->netns) >= NMR_NAME_LEN)
		return nmr_error(-EINVAL, "register client: netns name %s too long", opts->netns);
	snprintf(rec->netns, sizeof(rec->netns), "%s", opts->netns ? opts->netns : "");
	char name[2 * NMR_NAME_LEN + NMR_DEV_LEN];

	if (opts->name)
		snprintf(name, sizeof(name), "%s", opts->name);
	else
		snprintf(name, sizeof(name), "%s%s%s-%s", rec->netns, rec->netns[0] ? "-" : "",
			 rec->dev, nmr_hook_name(npi->hook));
	if (strlen(name) >= NMR_NAME_LEN)
		return nmr_error(-EINVAL, "register client: name %s is longer than %d characters%s",
				 name, NMR_NAME_LEN - 1,
				 opts->name ? "" : "; give one with --name");
	memcpy(rec->name, name, strlen(name) + 1);
	rec->npi = npi->id;
	rec->hook = npi->hook;
	rec->mode = opts->mode;
	c->require_version = opts->require_version;
	c->af_mask = opts->af_mask;
	c->max_providers = opts->max_providers;
	c->flags = opts->exclusive ? NMR_CHARS_F_EXCLUSIVE : 0;
	if (opts->xdp_frags && npi->hook != NMR_HOOK_XDP)
		return nmr_error(-EINVAL, "register client: xdp frags on a %s hook",
				 nmr_hook_name(npi->hook));
	if (opts->tc_netlink && npi->hook == NMR_HOOK_XDP)
		return nmr_error(-EINVAL, "register client: TC through netlink on an xdp hook");
	rec->flags = (opts->xdp_frags ? NMR_CLIENT_F_FRAGS : 0) |
		     (opts->tc_netlink ? NMR_CLIENT_F_TC_NETLINK : 0);
	for (int i = 0; i < NMR_MAX_TAGS; i++) {
		if (!opts->require_tags[i])
			continue;
		if (strlen(opts->require_tags[i]) >= NMR_TAG_LEN)
			return nmr_error(-EINVAL, "register client: tag '%s' longer than %d",
					 opts->require_tags[i], NMR_TAG_LEN - 1);
		snprintf(c->require_tags[i], NMR_TAG_LEN, "%s", opts->require_tags[i]);
	}
	return nmr_name_check("client", rec->name);
}

int nmr_client_register(struct nmr_registry *reg, const struct nmr_client_opts *opts,
			struct nmr_client_record *out)
{
	struct nmr_client_opts o;
	int err = NMR_OPTS_IMPORT(&o, opts, nmr_client_opts);

	return err ?: nmr_client_register_owned(reg, &o, false, false, -1, out);
}

/* The record, written as registration goes (nmr_hook_attach), so that a kill is undone. */
static int client_save(struct nmr_registry *reg, const struct nmr_client_record *c)
{
	if (bpf_map_update_elem(reg->clients_fd, &c->id, c, BPF_ANY))
		return nmr_error(-errno, "register client %s: %s", c->name,
				 errno == E2BIG ? "the registry holds its maximum of clients"
						: strerror(errno));
	return 0;
}

int nmr_client_register_owned(struct nmr_registry *reg, const struct nmr_client_opts *opts,
			      bool live, bool persistent, int default_fd,
			      struct nmr_client_record *out)
{
	struct nmr_client_record rec = {};
	struct nmr_registry_meta meta;
	struct nmr_npi_record npi;
	struct nmr_npi_requires requires = {};
	bool attached = false, chars_stored = false;
	void *npi_chars = NULL;
	__u32 npi_chars_size;
	int err;

	if (!opts->npi)
		return nmr_error(-EINVAL, "register client: an NPI is required (--npi)");
	if (!opts->dev)
		return nmr_error(-EINVAL, "register client: a device is required (--dev)");
	err = nmr_lock(reg, true);
	if (err)
		return err;
	err = nmr_npi_find(reg, opts->npi, &npi);
	if (!err)
		err = fill_client(opts, &npi, &rec);
	if (!err && opts->id)
		rec.id = *opts->id;
	else if (!err)
		err = nmr_guid_generate(&rec.id);
	if (!err)
		err = nmr_record_unique(reg, reg->clients_fd, sizeof(rec),
					offsetof(struct nmr_client_record, name), "client",
					&rec.id, rec.name);
	if (!err)	/* the NPI's own struct, and conditions on its providers' */
		err = nmr_npi_chars_make(reg, &npi, NMR_MODULE_CLIENT, rec.name, opts->npi_chars,
					 opts->npi_chars_size, opts->npi_char_fields, &npi_chars,
					 &npi_chars_size);
	if (!err)
		err = nmr_npi_requires_make(reg, &npi, rec.name, opts->npi_requires, &requires);
	if (!err)
		err = nmr_netns_ino(rec.netns, &rec.netns_ino);
	if (!err && live)	/* a live module's (live/module.c) */
		err = nmr_owner_self(&rec.owner, persistent);
	if (!err && default_fd >= 0)
		rec.flags |= NMR_CLIENT_F_DEFAULT;
	if (!err)
		err = nmr_meta_save(reg, &meta);
	if (err)
		goto out;

	/* Everything below is undone on failure, or by the next command after a kill. */
	err = nmr_intent_begin(reg, NMR_INTENT_CLIENT_REGISTER, &rec.id);
	if (!err)
		err = nmr_next_number(reg, &rec.number);
	if (!err && (npi_chars || requires.require[0][0]) &&
	    !(err = nmr_npi_chars_store(reg, &npi.id, NMR_MODULE_CLIENT, &rec.id, npi_chars,
					&requires)))
		chars_stored = true;
	if (!err)
		err = nmr_hook_attach(reg, &rec, opts->force, default_fd, client_save);
	if (err)
		goto undo;
	attached = true;
	err = client_save(reg, &rec);	/* where its hook is: link, filter */
	if (err)
		goto undo;
	nmr_generation_bump(reg, NULL);
	/* a live module is bound through its callbacks (live/module.c) */
	err = live ? 0 : nmr_bind_client(reg, &rec);
	if (err) {
		nmr_hook_detach(reg, &rec);
		nmr_unbind_client(reg, &rec);
		bpf_map_delete_elem(reg->clients_fd, &rec.id);
		attached = false;
		goto undo;
	}
	if (!live)	/* this process's live modules meet it now (the observer) */
		nmr_changed(reg);
	if (out)
		*out = rec;
	goto out;
undo:
	if (attached)
		nmr_hook_detach(reg, &rec);
	bpf_map_delete_elem(reg->clients_fd, &rec.id);
	if (chars_stored)
		nmr_npi_chars_remove(reg, &npi.id, NMR_MODULE_CLIENT, &rec.id);
	nmr_meta_restore(reg, &meta);
out:
	nmr_unlock(reg);
	free(npi_chars);
	return err;
}

int nmr_client_deregister(struct nmr_registry *reg, const char *client)
{
	struct nmr_client_record rec;
	int err;

	err = nmr_lock(reg, true);
	if (err)
		return err;
	err = nmr_client_find(reg, client, &rec);
	if (err)
		goto out;
	/*
	 * The dispatcher off the hook first: no provider runs for the client
	 * after it. The command waits, when it lets go of the lock, until no
	 * packet can still be running one (store/registry.c).
	 */
	err = nmr_intent_begin(reg, NMR_INTENT_CLIENT_DEREGISTER, &rec.id);
	if (!err)
		err = nmr_hook_detach(reg, &rec);
	if (!err)
		err = nmr_unbind_client(reg, &rec);
	if (!err) {
		bpf_map_delete_elem(reg->clients_fd, &rec.id);
		nmr_npi_chars_remove(reg, &rec.npi, NMR_MODULE_CLIENT, &rec.id);
		nmr_generation_bump(reg, NULL);
	} else
		nmr_error_prefix(err, "deregister client %s", rec.name);
out:
	nmr_unlock(reg);
	return err;
}
