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
#include "nmr_internal.h"
#include "opts.h"

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

static int read_file(const char *path, void **out, size_t *size)
{
	FILE *f = fopen(path, "rb");
	long len;
	void *buf;

	if (!f)
		return nmr_error(-errno, "read %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return nmr_error(-EIO, "read %s: not a regular file", path);
	}
	buf = malloc(len ? len : 1);
	if (!buf || fread(buf, 1, len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return nmr_error(-EIO, "read %s: %s", path, strerror(errno ?: EIO));
	}
	fclose(f);
	*out = buf;
	*size = len;
	return 0;
}

static bool prog_fits_hook(const struct bpf_program *prog, enum nmr_hook hook)
{
	enum bpf_prog_type type = bpf_program__type(prog);

	return hook == NMR_HOOK_XDP ? type == BPF_PROG_TYPE_XDP : type == BPF_PROG_TYPE_SCHED_CLS;
}

/*
 * Opens the object only to inspect it: which program, of which type, whether
 * it uses the provider SDK. Fills prog_name and flags of rec.
 */
/* The program of each of the NPI's slots after the first: named, in the object, of the type. */
static int inspect_slots(struct bpf_object *obj, const char *path,
			 const struct nmr_npi_record *npi, const char *const *slot_progs,
			 struct nmr_provider_record *rec)
{
	for (__u32 i = 1; i < npi->nslots; i++) {
		const char *name = slot_progs ? slot_progs[i] : rec->slot_progs[i];
		struct bpf_program *p;

		if (!name || !name[0])
			return nmr_error(-EINVAL, "register provider: npi %s has a slot %s: give "
					 "its program with --slot %s=PROGRAM", npi->name,
					 npi->slots[i], npi->slots[i]);
		p = bpf_object__find_program_by_name(obj, name);
		if (!p)
			return nmr_error(-ENOENT, "register provider: %s has no program %s for "
					 "slot %s", path, name, npi->slots[i]);
		if (!prog_fits_hook(p, npi->hook))
			return nmr_error(-EINVAL, "register provider: program %s (slot %s) is not "
					 "of the hook's type", name, npi->slots[i]);
		snprintf(rec->slot_progs[i], NMR_PROG_NAME_LEN, "%s", name);
	}
	return 0;
}

static int inspect_object(const void *buf, size_t size, const char *path, const char *want,
			  const struct nmr_npi_record *npi, const char *const *slot_progs,
			  struct nmr_provider_record *rec)
{
	struct bpf_program *prog = NULL, *p;
	struct bpf_object *obj;
	char names[256] = "";
	int n = 0, err = 0;

	obj = bpf_object__open_mem(buf, size, NULL);
	if (!obj) {
		char why[128];

		libbpf_strerror(errno, why, sizeof(why));
		return nmr_error(-EINVAL, "register provider: %s is not a BPF object file: %s",
				 path, why);
	}
	bpf_object__for_each_program(p, obj) {
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 n++ ? ", " : "", bpf_program__name(p));
		if (want ? !strcmp(bpf_program__name(p), want) : true)
			prog = p;
	}
	if (!n) {
		err = nmr_error(-ENOENT, "register provider: %s has no BPF program", path);
	} else if (want && !prog) {
		err = nmr_error(-ENOENT, "register provider: %s has no program named %s "
				"(it has: %s)", path, want, names);
	} else if (!want && n > 1) {
		err = nmr_error(-EINVAL, "register provider: %s has %d programs (%s); "
				"name one with --prog", path, n, names);
	} else if (!prog_fits_hook(prog, npi->hook)) {
		err = nmr_error(-EINVAL, "register provider: program %s is of type %s, but npi %s "
				"is for %s hooks, which need %s programs", bpf_program__name(prog),
				libbpf_bpf_prog_type_str(bpf_program__type(prog)), npi->name,
				nmr_hook_name(npi->hook),
				npi->hook == NMR_HOOK_XDP ? "xdp" : "sched_cls (SEC(\"tc\"))");
	}
	if (!err)
		err = inspect_slots(obj, path, npi, slot_progs, rec);
	if (!err) {
		snprintf(rec->prog_name, sizeof(rec->prog_name), "%s", bpf_program__name(prog));
		memcpy(rec->slot_progs[0], rec->prog_name, sizeof(rec->prog_name));
		if (bpf_object__find_map_by_name(obj, ".rodata.nmr"))
			rec->flags |= NMR_PROVIDER_F_SDK;
		/* libbpf 1.1 sets BPF_F_XDP_HAS_FRAGS only at load: read the section */
		if (strstr(bpf_program__section_name(prog), ".frags"))
			rec->flags |= NMR_PROVIDER_F_FRAGS;
	}
	bpf_object__close(obj);
	return err;
}

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

static int provider_dir(struct nmr_registry *reg, const struct nmr_provider_record *rec,
			char *path, size_t len)
{
	char guid[NMR_GUID_STR_LEN];

	nmr_guid_format(&rec->id, guid);
	return nmr_path(reg, path, len, NMR_PROVIDERS_DIR "/%s", guid);
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
	struct nmr_npi_record npi;
	char dir[PATH_MAX], path[PATH_MAX];
	bool dir_made = false, stored = false;
	void *obj = NULL;
	size_t size = 0;
	int err;

	if (!opts->object_path)
		return nmr_error(-EINVAL, "register provider: a BPF object file is required");
	if (!opts->npi)
		return nmr_error(-EINVAL, "register provider: an NPI is required (--npi)");
	err = nmr_lock(reg, true);
	if (err)
		return err;
	err = nmr_npi_find(reg, opts->npi, &npi);
	if (err)
		goto out;
	err = read_file(opts->object_path, &obj, &size);
	if (err)
		goto out;
	err = inspect_object(obj, size, opts->object_path, opts->prog, &npi, opts->slot_progs,
			     &rec);
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
	if (opts->continue_on_set && opts->continue_on && !(rec.flags & NMR_PROVIDER_F_SDK)) {
		err = nmr_error(-EINVAL, "register provider %s: program %s does not use the "
				"provider SDK (nmr_provider_return() in nmr_provider.h), so it "
				"cannot hand packets on: drop --continue-on", rec.name,
				rec.prog_name);
		goto out;
	}
	if (rec.flags & NMR_PROVIDER_F_SDK)
		rec.continue_on = opts->continue_on_set ? opts->continue_on
							: nmr_default_continue_on(npi.hook);
	err = fill_characteristics(opts, &npi, &rec);
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

	/* Everything below is undone on failure. */
	err = nmr_next_number(reg, &rec.number);
	if (err)
		goto undo;
	err = provider_dir(reg, &rec, dir, sizeof(dir));
	if (err || (err = nmr_mkdir(dir)))
		goto undo;
	dir_made = true;
	err = nmr_object_store(reg, &rec, "object", obj, size);
	if (err)
		goto undo;
	err = nmr_instance_load(reg, &rec, obj, size, NMR_TEMPLATE_SLOT, true,
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
	if (err)
		goto undo;
	if (bpf_map_update_elem(reg->providers_fd, &rec.id, &rec, BPF_NOEXIST)) {
		err = nmr_error(-errno, "register provider %s: %s", rec.name,
				errno == E2BIG ? "the registry holds its maximum of providers"
					       : strerror(errno));
		goto undo;
	}
	stored = true;
	/* a live module is bound through its callbacks (nmr_reconcile) */
	err = live ? 0 : nmr_bind_provider(reg, &rec);
	if (err)
		goto undo;
	if (!live)	/* a live one reconciles once it is a module (module.c) */
		nmr_reconcile(reg);	/* this process's live modules meet it now */
	if (out)
		*out = rec;
	goto out;
undo:
	if (stored)
		bpf_map_delete_elem(reg->providers_fd, &rec.id);
	if (dir_made)
		nmr_unpin_tree(dir);
	nmr_meta_restore(reg, &meta);
out:
	nmr_instance_close(&tmpl);
	nmr_unlock(reg);
	free(obj);
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
	if (!err)
		err = nmr_unbind_provider(reg, &rec);
	if (!err) {
		/* unbinding waited for readers: no packet runs its instances now */
		bpf_map_delete_elem(reg->providers_fd, &rec.id);
		if (!provider_dir(reg, &rec, dir, sizeof(dir)))
			nmr_unpin_tree(dir);
	} else {
		nmr_error_prefix(err, "deregister provider %s", rec.name);
	}
	nmr_unlock(reg);
	return err;
}

/* The names in a directory, as one string "\nname1\nname2\n" (for before/after checks). */
static char *dir_names(const char *path)
{
	size_t len = 2, used = 1;
	char *buf = calloc(1, len);
	struct dirent *de;
	DIR *dir = opendir(path);

	if (!buf || !dir) {
		if (dir)
			closedir(dir);
		return buf;
	}
	buf[0] = '\n';
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);
		char *nb;

		if (de->d_name[0] == '.')
			continue;
		nb = realloc(buf, len + n + 1);
		if (!nb)
			break;
		buf = nb;
		len += n + 1;
		memcpy(buf + used, de->d_name, n);
		used += n;
		buf[used++] = '\n';
		buf[used] = 0;
	}
	closedir(dir);
	return buf;
}

/* Removes the pins in dir that were not there before (names from dir_names()). */
static void remove_new_pins(const char *dir, const char *before)
{
	char *after = dir_names(dir);

	for (char *s = after, *save = NULL, *t; after && (t = strtok_r(s, "\n", &save)); s = NULL) {
		char needle[NAME_MAX + 3], path[PATH_MAX];

		snprintf(needle, sizeof(needle), "\n%s\n", t);
		if (before && strstr(before, needle))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, t);
		unlink(path);
	}
	free(after);
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
	snprintf(path, sizeof(path), "%s/object_new", st->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/prog_new", st->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/dispatch_new", st->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/maps", st->dir);
	remove_new_pins(path, st->maps_before);
}

/* Loads and verifies the new version beside the old one: object_new, prog_new. */
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
	if (!err)
		err = read_file(r->object_path, &st->new_obj, &size);
	if (!err)
		memcpy(probe.slot_progs, st->old.rec.slot_progs, sizeof(probe.slot_progs));
	if (!err)	/* the new version has the same slot programs */
		err = inspect_object(st->new_obj, size, r->object_path, r->prog, &npi, NULL,
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
	if (!(probe.flags & NMR_PROVIDER_F_SDK))
		rec->continue_on = 0;
	else if (!(rec->flags & NMR_PROVIDER_F_SDK))
		rec->continue_on = nmr_default_continue_on(npi.hook);
	rec->flags = probe.flags;
	rec->object_size = size;
	st->new.obj = st->new_obj;
	st->new.size = size;

	err = provider_dir(reg, rec, st->dir, sizeof(st->dir));
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/maps", st->dir);
	st->maps_before = dir_names(path);
	st->staged = true;
	err = nmr_object_store(reg, rec, "object_new", st->new_obj, size);
	if (!err)
		err = nmr_instance_load(reg, rec, st->new_obj, size, NMR_TEMPLATE_SLOT, true,
					&tmpl, r->log_buf, r->log_size);
	if (!err) {
		rec->prog_id = tmpl.prog_id;
		snprintf(path, sizeof(path), "%s/prog_new", st->dir);
		if (bpf_obj_pin(tmpl.prog_fd, path))
			err = nmr_error(-errno, "replace provider %s: pin %s: %s", rec->name, path,
					strerror(errno));
	}
	if (!err) {
		snprintf(path, sizeof(path), "%s/dispatch_new", st->dir);
		if (bpf_obj_pin(tmpl.dispatch_fd, path))
			err = nmr_error(-errno, "replace provider %s: pin %s: %s", rec->name, path,
					strerror(errno));
	}
	nmr_instance_close(&tmpl);
	return err;
}

static void promote(struct staged *st)
{
	const char *leaves[] = { "object", "prog", "dispatch" };

	for (size_t i = 0; i < ARRAY_SIZE(leaves); i++) {
		char from[PATH_MAX], to[PATH_MAX];

		snprintf(to, sizeof(to), "%s/%s", st->dir, leaves[i]);
		snprintf(from, sizeof(from), "%s/%s_new", st->dir, leaves[i]);
		unlink(to);
		rename(from, to);
	}
}

int nmr_provider_replace(struct nmr_registry *reg, const struct nmr_provider_replacement *r,
			 size_t n)
{
	struct nmr_replacement *next = NULL, *prev = NULL;
	struct staged *st;
	int err;

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
	err = nmr_lock(reg, true);
	if (err)
		goto out_free;
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
	/* Every client's chain changes in one step, whatever number of its providers change. */
	if (!err) {
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
		bpf_map_update_elem(reg->providers_fd, &st[i].new.rec.id, &st[i].new.rec,
				    BPF_EXIST);
		promote(&st[i]);
	}
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
