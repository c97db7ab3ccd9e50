// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Providers: a BPF program registered for an NPI. Registration verifies the
 * program (the template instance), keeps its object in the registry, and binds
 * it into every matching client's chain.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "api/api.h"

static int fill_characteristics(const struct nmr_provider_opts *opts,
				const struct nmr_npi_record *npi, struct nmr_provider_record *rec)
{
	struct nmr_provider_characteristics *c = &rec->chars;

	c->version_min = opts->version_min ?: npi->version ?: 1;
	c->version_max = opts->version_max ?: c->version_min;
	if (c->version_max < c->version_min)
		return nmr_error(-EINVAL, "register provider %s: version range %u-%u is empty",
				 rec->name, c->version_min, c->version_max);
	c->af_mask = opts->af_mask;
	for (int i = 0; i < NMR_MAX_TAGS; i++) {
		if (!opts->tags[i])
			continue;
		if (strlen(opts->tags[i]) >= NMR_TAG_LEN)
			return nmr_error(-EINVAL, "register provider %s: tag '%s' longer than %d",
					 rec->name, opts->tags[i], NMR_TAG_LEN - 1);
		snprintf(c->tags[i], NMR_TAG_LEN, "%s", opts->tags[i]);
	}
	return 0;
}

int nmr_provider_register(struct nmr_registry *reg, const struct nmr_provider_opts *opts,
			  struct nmr_provider_record *out)
{
	struct nmr_provider_opts o;
	int err = NMR_OPTS_IMPORT(&o, opts, nmr_provider_opts);

	return err ?: nmr_provider_register_owned(reg, &o, false, false, out);
}

int nmr_provider_register_owned(struct nmr_registry *reg, const struct nmr_provider_opts *opts,
				bool live, bool persistent, struct nmr_provider_record *out)
{
	struct nmr_provider_record rec = {};
	struct nmr_instance tmpl = NMR_INSTANCE_INIT;
	struct nmr_registry_meta meta;
	struct nmr_npi_record npi, npi_now;
	char dir[PATH_MAX], path[PATH_MAX];
	bool dir_made = false, stored = false, chars_stored = false;
	void *obj = NULL, *npi_chars = NULL;
	__u32 npi_chars_size;
	size_t size = 0;
	int err;

	if (!opts->object_path)
		return nmr_error(-EINVAL, "register provider: a BPF object file is required");
	if (!opts->npi)
		return nmr_error(-EINVAL, "register provider: an NPI is required (--npi)");
	/* The user's file is read and parsed before the lock: it cannot hold other registrars. */
	err = nmr_object_read(opts->object_path, &obj, &size);
	if (!err)
		err = nmr_npi_find(reg, opts->npi, &npi);
	if (!err)
		err = nmr_object_inspect(obj, size, opts->object_path, opts->prog, &npi,
					 opts->slot_progs, &rec);
	if (err) {
		free(obj);
		return err;
	}
	err = nmr_lock(reg, true);
	if (err) {
		free(obj);
		return err;
	}
	/* the NPI as it is now, under the lock: the same one the object was checked for */
	err = nmr_npi_find(reg, opts->npi, &npi_now);
	if (!err && memcmp(&npi, &npi_now, sizeof(npi)))
		err = nmr_error(-EAGAIN, "register provider: npi %s changed during the "
				"registration; run it again", opts->npi);
	if (err)
		goto out;

	if (strlen(opts->name ? opts->name : rec.prog_name) >= NMR_NAME_LEN) {
		err = nmr_error(-EINVAL, "register provider: name %s is longer than %d "
				"characters%s",
				opts->name ? opts->name : rec.prog_name, NMR_NAME_LEN - 1,
				opts->name ? "" : "; give one with --name");
		goto out;
	}
	snprintf(rec.name, sizeof(rec.name), "%s", opts->name ? opts->name : rec.prog_name);
	err = nmr_name_check("provider", rec.name);
	if (err)
		goto out;
	rec.npi = npi.id;
	rec.object_size = size;
	rec.priority = opts->priority_set ? opts->priority : NMR_DEFAULT_PRIORITY;
	/* Any program hands packets on: the chain sees its verdict as the hook would. */
	rec.continue_on = opts->continue_on_set ? opts->continue_on
						: nmr_default_continue_on(npi.hook);
	err = fill_characteristics(opts, &npi, &rec);
	if (!err)	/* the NPI's own struct, when it defines one */
		err = nmr_npi_chars_make(reg, &npi, NMR_MODULE_PROVIDER, rec.name, opts->npi_chars,
					 opts->npi_chars_size, opts->npi_char_fields, &npi_chars,
					 &npi_chars_size);
	if (err)
		goto out;
	if (opts->id)
		rec.id = *opts->id;
	else if ((err = nmr_guid_generate(&rec.id)))
		goto out;
	err = nmr_record_unique(reg, reg->providers_fd, sizeof(rec),
				offsetof(struct nmr_provider_record, name), "provider", &rec.id,
				rec.name);
	if (err)
		goto out;
	if (live && (err = nmr_owner_self(&rec.owner, persistent)))
		goto out;
	err = nmr_meta_save(reg, &meta);
	if (err)
		goto out;

	/* Everything below is undone on failure, or by the next command after a kill. */
	err = nmr_intent_begin(reg, NMR_INTENT_PROVIDER_REGISTER, &rec.id);
	if (!err)
		err = nmr_next_number(reg, &rec.number);
	if (err)
		goto undo;
	err = nmr_provider_path(reg, &rec.id, NULL, dir, sizeof(dir));
	if (err || (err = nmr_mkdir(dir)))
		goto undo;
	dir_made = true;
	err = nmr_object_store(reg, &rec, NMR_PIN_OBJECT, obj, size);
	if (err)
		goto undo;
	err = nmr_instance_load(reg, &rec, obj, size, NMR_TEMPLATE_CONTEXT, true,
				&tmpl, opts->log_buf, opts->log_size);
	if (err)
		goto undo;
	rec.prog_id = tmpl.prog_id;
	err = nmr_path(reg, path, sizeof(path), "%s/prog", dir + strlen(reg->root) + 1);
	if (!err && bpf_obj_pin(tmpl.prog_fd, path))
		err = nmr_error(-errno, "register provider %s: pin %s: %s", rec.name, path,
				strerror(errno));
	if (!err)
		err = nmr_path(reg, path, sizeof(path), "%s/dispatch", dir + strlen(reg->root) + 1);
	if (!err && bpf_obj_pin(tmpl.dispatch_fd, path))
		err = nmr_error(-errno, "register provider %s: pin %s: %s", rec.name, path,
				strerror(errno));
	if (!err && npi_chars &&
	    !(err = nmr_npi_chars_store(reg, &npi.id, NMR_MODULE_PROVIDER, &rec.id, npi_chars,
					NULL)))
		chars_stored = true;
	if (err)
		goto undo;
	if (bpf_map_update_elem(reg->providers_fd, &rec.id, &rec, BPF_NOEXIST)) {
		err = nmr_error(-errno, "register provider %s: %s", rec.name,
				errno == E2BIG ? "the registry holds its maximum of providers"
					       : strerror(errno));
		goto undo;
	}
	stored = true;
	nmr_generation_bump(reg, NULL);
	/* a live module is bound through its callbacks (live/module.c) */
	err = live || reg->batch ? 0 : nmr_bind_provider(reg, &rec);
	if (err)
		goto undo;
	if (!live)	/* this process's live modules meet it now (the observer) */
		nmr_changed(reg);
	if (out)
		*out = rec;
	goto out;
undo:
	if (stored) {
		nmr_unbind_provider(reg, &rec);
		bpf_map_delete_elem(reg->providers_fd, &rec.id);
	}
	if (dir_made)
		nmr_unpin_tree(dir);
	if (chars_stored)
		nmr_npi_chars_remove(reg, &npi.id, NMR_MODULE_PROVIDER, &rec.id);
	nmr_meta_restore(reg, &meta);
out:
	nmr_instance_close(&tmpl);
	nmr_unlock(reg);
	free(obj);
	free(npi_chars);
	return err;
}

int nmr_provider_deregister(struct nmr_registry *reg, const char *provider)
{
	struct nmr_provider_record rec;
	char dir[PATH_MAX];
	int err;

	err = nmr_lock(reg, true);
	if (err)
		return err;
	err = nmr_provider_find(reg, provider, &rec);
	if (err)	/* its message names what is unknown; rec holds nothing */
		goto out;
	err = nmr_intent_begin(reg, NMR_INTENT_PROVIDER_DEREGISTER, &rec.id);
	if (!err && !reg->batch)	/* a batch unbinds it when it settles */
		err = nmr_unbind_provider(reg, &rec);
	if (!err) {
		/* the command waits for readers when it lets go of the lock */
		bpf_map_delete_elem(reg->providers_fd, &rec.id);
		nmr_npi_chars_remove(reg, &rec.npi, NMR_MODULE_PROVIDER, &rec.id);
		if (!nmr_provider_path(reg, &rec.id, NULL, dir, sizeof(dir)))
			nmr_unpin_tree(dir);
		nmr_generation_bump(reg, NULL);
	} else {
		nmr_error_prefix(err, "deregister provider %s", rec.name);
	}
out:
	nmr_unlock(reg);
	return err;
}

struct staged {
	struct nmr_replacement new, old;
	void *new_obj, *old_obj;
	char dir[PATH_MAX];
	char *maps_before;
	bool staged;
};

static void unstage(struct nmr_registry *reg, struct staged *st)
{
	char path[PATH_MAX];

	if (!st->staged)
		return;
	nmr_staged_drop(reg, &st->new.rec.id);
	snprintf(path, sizeof(path), "%s/" NMR_PIN_MAPS, st->dir);
	nmr_remove_new_pins(path, st->maps_before);
}

/* Loads and verifies the new version beside the old one, staged (store/staged.c). */
static int stage(struct nmr_registry *reg, const struct nmr_provider_replacement *r,
		 struct staged *st)
{
	struct nmr_provider_record *rec = &st->new.rec, probe = {};
	struct nmr_instance tmpl = NMR_INSTANCE_INIT;
	struct nmr_npi_record npi;
	char guid[NMR_GUID_STR_LEN], path[PATH_MAX];
	size_t size = 0;
	int err;

	err = nmr_provider_find(reg, r->provider, &st->old.rec);
	if (err)
		return err;
	nmr_guid_format(&st->old.rec.npi, guid);
	err = nmr_npi_find(reg, guid, &npi);
	size = st->new.size;	/* read before the lock (nmr_provider_replace) */
	if (!err)
		memcpy(probe.slot_progs, st->old.rec.slot_progs, sizeof(probe.slot_progs));
	if (!err)	/* the new version has the same slot programs */
		err = nmr_object_inspect(st->new_obj, size, r->object_path, r->prog, &npi, NULL,
					 &probe);
	if (!err)
		err = nmr_object_load(reg, &st->old.rec, &st->old_obj, &st->old.size);
	if (err)
		return err;
	st->old.obj = st->old_obj;
	*rec = st->old.rec;
	memcpy(rec->prog_name, probe.prog_name, sizeof(rec->prog_name));
	memcpy(rec->slot_progs, probe.slot_progs, sizeof(rec->slot_progs));
	if ((probe.flags ^ rec->flags) & NMR_PROVIDER_F_FRAGS)
		return nmr_error(-EINVAL, "replace provider %s: the new program is %s, the "
				 "registered one is not: they cannot share its clients' dispatch "
				 "tables", rec->name, probe.flags & NMR_PROVIDER_F_FRAGS ?
				 "xdp.frags" : "plain xdp");
	rec->flags = probe.flags;
	rec->object_size = size;
	st->new.obj = st->new_obj;
	st->new.size = size;

	err = nmr_provider_path(reg, &rec->id, NULL, st->dir, sizeof(st->dir));
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/" NMR_PIN_MAPS, st->dir);
	st->maps_before = nmr_dir_names(path);
	st->staged = true;
	err = nmr_staged_path(reg, &rec->id, NMR_PIN_OBJECT, path, sizeof(path)) ?:
	      nmr_blob_store(path, st->new_obj, size);
	if (!err)
		err = nmr_instance_load(reg, rec, st->new_obj, size, NMR_TEMPLATE_CONTEXT, true,
					&tmpl, r->log_buf, r->log_size);
	if (!err) {
		rec->prog_id = tmpl.prog_id;
		err = nmr_staged_pin(reg, &rec->id, NMR_PIN_PROG, tmpl.prog_fd);
	}
	if (!err)
		err = nmr_staged_pin(reg, &rec->id, NMR_PIN_DISPATCH, tmpl.dispatch_fd);
	if (err)
		nmr_error_prefix(err, "replace provider %s", rec->name);
	nmr_instance_close(&tmpl);
	return err;
}

int nmr_provider_replace(struct nmr_registry *reg, const struct nmr_provider_replacement *r,
			 size_t n)
{
	struct nmr_replacement *next = NULL, *prev = NULL;
	struct staged *st;
	int err = 0;

	if (!n)
		return 0;
	st = calloc(n, sizeof(*st));
	next = calloc(n, sizeof(*next));
	prev = calloc(n, sizeof(*prev));
	if (!st || !next || !prev) {
		free(st);
		free(next);
		free(prev);
		return nmr_error(-ENOMEM, "replace provider: out of memory");
	}
	/* the users' files, read before the lock: none of them can hold other registrars */
	for (size_t i = 0; !err && i < n; i++)
		err = nmr_object_read(r[i].object_path, &st[i].new_obj, &st[i].new.size);
	if (!err)
		err = nmr_lock(reg, true);
	if (err)
		goto out_free;
	err = nmr_intent_begin(reg, NMR_INTENT_PROVIDER_REPLACE, NULL);
	for (size_t i = 0; !err && i < n; i++) {
		for (size_t j = 0; j < i; j++)
			if (!strcmp(r[i].provider, r[j].provider))
				err = nmr_error(-EINVAL, "replace provider %s: named twice",
						r[i].provider);
		if (!err)
			err = stage(reg, &r[i], &st[i]);
		next[i] = st[i].new;
		prev[i] = st[i].old;
	}
	/* a batch rebuilds them when it settles, with its other changes */
	for (size_t i = 0; !err && reg->batch && i < n; i++) {
		err = nmr_batch_replace(reg, &next[i]);
		if (!err)
			st[i].new_obj = NULL;	/* the batch owns it now */
	}
	/* Every client's chain changes in one step, whatever number of its providers change. */
	if (!err && !reg->batch) {
		err = nmr_rebuild_bindings(reg, next, n);
		if (err) {
			char msg[1024];

			snprintf(msg, sizeof(msg), "%s", nmr_last_error());
			nmr_rebuild_bindings(reg, prev, n);
			nmr_error(err, "replace provider: %s", msg);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (err) {
			unstage(reg, &st[i]);
			continue;
		}
		/* the chains run the new code: a record that cannot say so is recovered */
		if (bpf_map_update_elem(reg->providers_fd, &st[i].new.rec.id, &st[i].new.rec,
					BPF_EXIST) || nmr_staged_promote(reg, &st[i].new.rec.id)) {
			err = nmr_error(-EIO, "replace provider %s: its record or pins could not "
					"be written (%s); the next command undoes the replace",
					st[i].new.rec.name, strerror(errno));
			reg->unfinished = true;
		}
	}
	if (!err)
		nmr_generation_bump(reg, NULL);
	nmr_unlock(reg);
out_free:
	for (size_t i = 0; i < n; i++) {
		free(st[i].new_obj);
		free(st[i].old_obj);
		free(st[i].maps_before);
	}
	free(st);
	free(next);
	free(prev);
	return err;
}
