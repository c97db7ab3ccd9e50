// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Declarative state: a file (state.c) says which NPIs, providers and clients
 * the registry holds; a plan says what would change to get there; apply
 * carries the plan out; dump writes the registry back as such a file.
 *
 * Objects are matched by name. A provider whose object changed (its sha256)
 * and nothing else is replaced (nmr_provider_replace(): all such providers in
 * one call, so each client's chain swaps once); one whose other properties
 * changed is rebound: deregistered and registered again. A client that
 * changed is rebound too; an NPI cannot change in place. Everything the plan
 * can find wrong it finds before anything changes; the plan and its execution
 * happen under one registry lock, against one generation.
 *
 * Only declarative objects are managed: a live module's (its process decides
 * its bindings) is neither dumped, nor changed, nor pruned.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/libbpf.h>
#include "api/api.h"
#include "api/state.h"

#define NEW_NUMBER	(1ULL << 62)	/* numbers of registrations yet to come sort last */

/* What the plan knows of a provider or client in the state to be. */
struct final_provider {
	const char *name, *npi;
	__u32 priority;
	__u64 number;
	struct nmr_provider_characteristics chars;
	bool fresh;		/* registered by the plan: binds to kept clients */
	bool replaced;
};

struct final_client {
	const char *name, *npi;
	struct nmr_client_record rec;	/* for its characteristics */
	bool fresh;			/* registered by the plan */
	int chain;			/* its index in plan->chains */
};

struct planner {
	struct nmr_registry *reg;
	const struct nmr_state *st;
	unsigned int flags;
	struct nmr_plan *plan;
	struct nmr_npi_record *npis;
	struct nmr_provider_record *provs;
	struct nmr_client_record *clients;
	struct nmr_binding_record *binds;
	size_t nn, np, nc, nb;
	bool *prov_named, *client_named, *npi_named;	/* registered ones the file names */
	struct final_provider *fprov;
	struct final_client *fclient;
	size_t nfprov, nfclient;
};

static bool live_owned(const struct nmr_owner *o)
{
	return o->pid != 0;
}

static int add_step(struct planner *p, enum nmr_plan_action action, enum nmr_plan_object object,
		    const char *name, const struct nmr_guid *id, int index, const char *why)
{
	struct nmr_plan *plan = p->plan;
	struct nmr_plan_step *s, *ns = realloc(plan->steps, (plan->nsteps + 1) * sizeof(*ns));

	if (!ns)
		return nmr_error(-ENOMEM, "plan: out of memory");
	plan->steps = ns;
	s = &ns[plan->nsteps++];
	memset(s, 0, sizeof(*s));
	s->action = action;
	s->object = object;
	s->index = index;
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (id)
		s->id = *id;
	snprintf(s->why, sizeof(s->why), "%s", why ? why : "");
	return 0;
}

/* "what differs" lists, comma-separated */
static void differs(char *why, size_t len, bool cond, const char *field)
{
	if (!cond)
		return;
	snprintf(why + strlen(why), len - strlen(why), "%s%s", why[0] ? ", " : "", field);
}

static bool tags_equal(const char (*have)[NMR_TAG_LEN], const char *const *want)
{
	for (int i = 0; i < NMR_MAX_TAGS; i++)
		if (strcmp(have[i], want[i] ? want[i] : ""))
			return false;
	return true;
}

static const struct nmr_npi_record *registered_npi(struct planner *p, const char *name)
{
	for (size_t i = 0; i < p->nn; i++)
		if (!strcmp(p->npis[i].name, name))
			return &p->npis[i];
	return NULL;
}

/* The NPI a provider or client names, as it will be: from the file, or kept in the registry. */
static int resolve_npi(struct planner *p, const char *name, const char *what, const char *obj,
		       int line, enum nmr_hook *hook, __u32 *version, __u32 *nslots)
{
	const struct nmr_npi_record *r;

	if (!name)
		return nmr_error(-EINVAL, "%s:%d: %s %s: an npi is required", p->st->source, line,
				 what, obj);
	for (size_t i = 0; i < p->st->nnpis; i++) {
		const struct state_npi *n = &p->st->npis[i];

		if (!strcmp(n->name, name)) {
			*hook = n->hook;
			*version = n->version ?: 1;
			*nslots = 0;
			while (*nslots < NMR_MAX_SLOTS && n->slots[*nslots])
				(*nslots)++;
			*nslots = *nslots ?: 1;
			return 0;
		}
	}
	r = registered_npi(p, name);
	if (r && !(p->flags & NMR_APPLY_PRUNE)) {
		*hook = r->hook;
		*version = r->version;
		*nslots = r->nslots;
		return 0;
	}
	return nmr_error(-ENOENT, "%s:%d: %s %s: unknown NPI %s%s", p->st->source, line, what, obj,
			 name, r ? " (registered, but --prune removes it: name it in the file)" :
			 " (neither in the file nor registered)");
}

/* A name registration would refuse, refused now, before anything changes. */
static int check_name(struct planner *p, const char *kind, const char *name, int line)
{
	int err = nmr_name_check(kind, name);

	return err ? nmr_error_prefix(err, "%s:%d", p->st->source, line) : 0;
}

/* The client's device exists where the file says, now. */
static int check_device(struct planner *p, const struct state_client *sc)
{
	struct nmr_netns_guard guard;
	unsigned int ifindex;
	int err;

	if (strlen(sc->dev) >= NMR_DEV_LEN || (sc->netns && strlen(sc->netns) >= NMR_NAME_LEN))
		return nmr_error(-EINVAL, "%s:%d: client %s: device or netns name too long",
				 p->st->source, sc->line, sc->name);
	err = nmr_netns_enter(sc->netns, &guard);
	if (err)
		return nmr_error_prefix(err, "%s:%d: client %s", p->st->source, sc->line, sc->name);
	ifindex = if_nametoindex(sc->dev);
	nmr_netns_leave(&guard);
	if (!ifindex)
		return nmr_error(-ENODEV, "%s:%d: client %s: no device %s%s%s", p->st->source,
				 sc->line, sc->name, sc->dev, sc->netns ? " in netns " : "",
				 sc->netns ? sc->netns : "");
	return 0;
}

static int plan_npis(struct planner *p)
{
	for (size_t i = 0; i < p->st->nnpis; i++) {
		const struct state_npi *n = &p->st->npis[i];
		const struct nmr_npi_record *r = registered_npi(p, n->name);
		char why[128] = "";
		__u32 nslots = 0;

		if (!n->hook)
			return nmr_error(-EINVAL, "%s:%d: npi %s: a hook is required",
					 p->st->source, n->line, n->name);
		if (check_name(p, "npi", n->name, n->line))
			return -EINVAL;
		if (!r) {
			for (size_t j = 0; j < p->nn; j++)
				if (n->has_id && nmr_guid_equal(&p->npis[j].id, &n->id))
					return nmr_error(-EEXIST, "%s:%d: npi %s: its id is "
							 "npi %s's", p->st->source, n->line,
							 n->name, p->npis[j].name);
			if (add_step(p, NMR_PLAN_REGISTER, NMR_PLAN_NPI, n->name, NULL, i, NULL))
				return -ENOMEM;
			continue;
		}
		p->npi_named[r - p->npis] = true;
		while (nslots < NMR_MAX_SLOTS && n->slots[nslots])
			nslots++;
		differs(why, sizeof(why), r->hook != n->hook, "hook");
		differs(why, sizeof(why), r->version != (n->version ?: 1), "version");
		differs(why, sizeof(why), n->has_id && !nmr_guid_equal(&r->id, &n->id), "id");
		differs(why, sizeof(why), r->nslots != (nslots ?: 1), "slots");
		for (__u32 s = 0; s < nslots && s < r->nslots; s++)
			differs(why, sizeof(why), strcmp(r->slots[s], n->slots[s]), "slot names");
		if (why[0])
			return nmr_error(-EINVAL, "%s:%d: npi %s: %s differ from the registered "
					 "NPI's; an NPI cannot change in place (deregister it "
					 "first)",
					 p->st->source, n->line, n->name, why);
	}
	return 0;
}

static int read_object(const char *path, void **buf, size_t *size)
{
	FILE *f = fopen(path, "r");
	struct stat sb;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || !(*buf = malloc(sb.st_size ?: 1))) {
		fclose(f);
		return -EINVAL;
	}
	*size = fread(*buf, 1, sb.st_size, f);
	fclose(f);
	if (*size != (size_t)sb.st_size) {
		free(*buf);
		return -EIO;
	}
	return 0;
}

/* The object exists, is what its sha256 says, and holds the programs named. */
static int check_object(struct planner *p, const struct state_provider *sp,
			char digest[NMR_SHA256_HEX_LEN], char prog[NMR_PROG_NAME_LEN])
{
	const char *src = p->st->source;
	struct bpf_object *obj;
	struct bpf_program *bp;
	void *buf = NULL;
	size_t size = 0;
	int err, nprogs = 0;

	if (!sp->object)
		return nmr_error(-EINVAL, "%s:%d: provider %s: an object is required", src,
				 sp->line, sp->name);
	err = read_object(sp->object, &buf, &size);
	if (err)
		return nmr_error(err, "%s:%d: provider %s: object %s: %s", src, sp->line, sp->name,
				 sp->object, strerror(-err));
	nmr_sha256_hex(buf, size, digest);
	if (sp->sha256 && strcasecmp(sp->sha256, digest)) {
		free(buf);
		return nmr_error(-EBADMSG, "%s:%d: provider %s: object %s has sha256 %s, not %s "
				 "(digest mismatch)", src, sp->line, sp->name, sp->object, digest,
				 sp->sha256);
	}
	obj = bpf_object__open_mem(buf, size, NULL);
	if (!obj) {
		err = -errno;
		free(buf);
		return nmr_error(err, "%s:%d: provider %s: %s is not a BPF object: %s", src,
				 sp->line, sp->name, sp->object, strerror(-err));
	}
	prog[0] = 0;
	bpf_object__for_each_program(bp, obj) {
		nprogs++;
		if (!sp->program)
			snprintf(prog, NMR_PROG_NAME_LEN, "%s", bpf_program__name(bp));
	}
	if (sp->program) {
		if (!bpf_object__find_program_by_name(obj, sp->program))
			err = nmr_error(-ENOENT, "%s:%d: provider %s: %s has no program %s", src,
					sp->line, sp->name, sp->object, sp->program);
		snprintf(prog, NMR_PROG_NAME_LEN, "%s", sp->program);
	} else if (nprogs != 1) {
		err = nmr_error(-EINVAL, "%s:%d: provider %s: %s holds %d programs: name one "
				"(program:)", src, sp->line, sp->name, sp->object, nprogs);
	}
	for (int i = 1; !err && i < NMR_MAX_SLOTS; i++)
		if (sp->slot_progs[i] && !bpf_object__find_program_by_name(obj, sp->slot_progs[i]))
			err = nmr_error(-ENOENT, "%s:%d: provider %s: %s has no program %s", src,
					sp->line, sp->name, sp->object, sp->slot_progs[i]);
	bpf_object__close(obj);
	free(buf);
	return err;
}

static int stored_digest(struct planner *p, const struct nmr_provider_record *r,
			 char digest[NMR_SHA256_HEX_LEN])
{
	void *buf;
	size_t size;
	int err = nmr_object_load(p->reg, r, &buf, &size);

	if (err)
		return err;
	nmr_sha256_hex(buf, size, digest);
	free(buf);
	return 0;
}

static int continue_mask(const struct state_provider *sp, enum nmr_hook hook, __u32 *mask,
			 const char *src)
{
	*mask = 0;
	for (int i = 0; i < NMR_VERDICT_SLOTS && sp->continue_on[i]; i++) {
		__u32 m;

		if (nmr_verdicts_parse(hook, sp->continue_on[i], &m))
			return nmr_error_prefix(-EINVAL, "%s:%d: provider %s: continue-on", src,
						sp->line, sp->name);
		*mask |= m;
	}
	return 0;
}

static int plan_providers(struct planner *p)
{
	for (size_t i = 0; i < p->st->nproviders; i++) {
		const struct state_provider *sp = &p->st->providers[i];
		const struct nmr_provider_record *r = NULL;
		struct final_provider *f = &p->fprov[p->nfprov++];
		char digest[NMR_SHA256_HEX_LEN], have[NMR_SHA256_HEX_LEN];
		char prog[NMR_PROG_NAME_LEN], why[128] = "";
		enum nmr_hook hook;
		__u32 version, nslots, mask = 0;
		int err;

		err = check_name(p, "provider", sp->name, sp->line);
		if (!err)
			err = resolve_npi(p, sp->npi, "provider", sp->name, sp->line, &hook,
					  &version, &nslots);
		if (!err)
			err = check_object(p, sp, digest, prog);
		if (!err && sp->continue_on_set)
			err = continue_mask(sp, hook, &mask, p->st->source);
		if (err)
			return err;
		for (size_t j = 0; j < p->np; j++)
			if (!strcmp(p->provs[j].name, sp->name))
				r = &p->provs[j];
		f->name = sp->name;
		f->npi = sp->npi;
		f->priority = sp->priority_set ? sp->priority : NMR_DEFAULT_PRIORITY;
		f->chars.version_min = sp->version_set ? sp->version_min : version;
		f->chars.version_max = sp->version_set ? sp->version_max : version;
		f->chars.af_mask = sp->af_mask;
		for (int t = 0; t < NMR_MAX_TAGS && sp->tags[t]; t++)
			snprintf(f->chars.tags[t], NMR_TAG_LEN, "%s", sp->tags[t]);
		if (!r) {
			for (size_t j = 0; j < p->np; j++)
				if (sp->has_id && nmr_guid_equal(&p->provs[j].id, &sp->id))
					return nmr_error(-EEXIST, "%s:%d: provider %s: its id is "
							 "provider %s's", p->st->source, sp->line,
							 sp->name, p->provs[j].name);
			f->fresh = true;
			f->number = NEW_NUMBER + i;
			if (add_step(p, NMR_PLAN_REGISTER, NMR_PLAN_PROVIDER, sp->name, NULL, i,
				     NULL))
				return -ENOMEM;
			continue;
		}
		if (live_owned(&r->owner))
			return nmr_error(-EPERM, "%s:%d: provider %s is a live module's (pid %u): "
					 "apply does not manage it", p->st->source, sp->line,
					 sp->name, r->owner.pid);
		p->prov_named[r - p->provs] = true;
		f->number = r->number;
		{
			const struct nmr_npi_record *rn = registered_npi(p, sp->npi);

			differs(why, sizeof(why), !rn || !nmr_guid_equal(&rn->id, &r->npi), "npi");
		}
		differs(why, sizeof(why), sp->has_id && !nmr_guid_equal(&sp->id, &r->id), "id");
		differs(why, sizeof(why), strcmp(prog, r->prog_name), "program");
		differs(why, sizeof(why), f->priority != r->priority, "priority");
		differs(why, sizeof(why), sp->continue_on_set && mask != r->continue_on,
			"continue-on");
		differs(why, sizeof(why), sp->version_set &&
			(sp->version_min != r->chars.version_min ||
			 sp->version_max != r->chars.version_max), "version");
		differs(why, sizeof(why), sp->af_mask != r->chars.af_mask, "af");
		differs(why, sizeof(why), !tags_equal(r->chars.tags, sp->tags), "tags");
		for (__u32 s = 1; s < NMR_MAX_SLOTS; s++)
			differs(why, sizeof(why), sp->slot_progs[s] &&
				strcmp(sp->slot_progs[s], r->slot_progs[s]), "slot-programs");
		if (why[0]) {
			f->fresh = true;
			f->number = NEW_NUMBER + i;
			if (add_step(p, NMR_PLAN_REBIND, NMR_PLAN_PROVIDER, sp->name, &r->id, i,
				     why))
				return -ENOMEM;
			continue;
		}
		err = stored_digest(p, r, have);
		if (err)
			return err;
		if (strcmp(have, digest)) {
			f->replaced = true;
			snprintf(why, sizeof(why), "object sha256 %.12s... -> %.12s...", have,
				 digest);
			if (add_step(p, NMR_PLAN_REPLACE, NMR_PLAN_PROVIDER, sp->name, &r->id, i,
				     why))
				return -ENOMEM;
		}
	}
	return 0;
}

static void client_rec_of(const struct state_client *sc, enum nmr_hook hook,
			  struct nmr_client_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->hook = hook;
	rec->chars.require_version = sc->require_version;
	rec->chars.af_mask = sc->af_mask;
	rec->chars.max_providers = sc->max_providers;
	rec->chars.flags = sc->exclusive ? NMR_CHARS_F_EXCLUSIVE : 0;
	for (int t = 0; t < NMR_MAX_TAGS && sc->require_tags[t]; t++)
		snprintf(rec->chars.require_tags[t], NMR_TAG_LEN, "%s", sc->require_tags[t]);
	rec->flags = (sc->xdp_frags ? NMR_CLIENT_F_FRAGS : 0) |
		     (sc->tc_netlink ? NMR_CLIENT_F_TC_NETLINK : 0);
	rec->mode = sc->mode;
}

static int plan_clients(struct planner *p)
{
	for (size_t i = 0; i < p->st->nclients; i++) {
		const struct state_client *sc = &p->st->clients[i];
		const struct nmr_client_record *r = NULL;
		struct final_client *f = &p->fclient[p->nfclient++];
		struct nmr_client_record want;
		enum nmr_hook hook;
		__u32 version, nslots;
		char why[128] = "";
		int err;

		err = check_name(p, "client", sc->name, sc->line);
		if (!err)
			err = resolve_npi(p, sc->npi, "client", sc->name, sc->line, &hook, &version,
					  &nslots);
		if (err)
			return err;
		if (!sc->dev)
			return nmr_error(-EINVAL, "%s:%d: client %s: a device is required",
					 p->st->source, sc->line, sc->name);
		err = check_device(p, sc);
		if (err)
			return err;
		client_rec_of(sc, hook, &want);
		f->name = sc->name;
		f->npi = sc->npi;
		f->rec = want;
		f->chain = -1;
		for (size_t j = 0; j < p->nc; j++)
			if (!strcmp(p->clients[j].name, sc->name))
				r = &p->clients[j];
		if (!r) {
			f->fresh = true;
			if (add_step(p, NMR_PLAN_REGISTER, NMR_PLAN_CLIENT, sc->name, NULL, i,
				     NULL))
				return -ENOMEM;
			continue;
		}
		if (live_owned(&r->owner) || (r->flags & NMR_CLIENT_F_DEFAULT))
			return nmr_error(-EPERM, "%s:%d: client %s is a live module's: apply does "
					 "not manage it", p->st->source, sc->line, sc->name);
		p->client_named[r - p->clients] = true;
		{
			const struct nmr_npi_record *rn = registered_npi(p, sc->npi);

			differs(why, sizeof(why), !rn || !nmr_guid_equal(&rn->id, &r->npi), "npi");
		}
		differs(why, sizeof(why), sc->has_id && !nmr_guid_equal(&sc->id, &r->id), "id");
		differs(why, sizeof(why), strcmp(sc->dev, r->dev), "device");
		differs(why, sizeof(why), strcmp(sc->netns ? sc->netns : "", r->netns), "netns");
		differs(why, sizeof(why), hook == NMR_HOOK_XDP && want.mode != r->mode, "mode");
		differs(why, sizeof(why), memcmp(&want.chars, &r->chars, sizeof(want.chars)),
			"characteristics");
		differs(why, sizeof(why), (want.flags ^ r->flags) &
			(NMR_CLIENT_F_FRAGS | NMR_CLIENT_F_TC_NETLINK), "xdp-frags/tc-netlink");
		if (why[0]) {
			f->fresh = true;
			if (add_step(p, NMR_PLAN_REBIND, NMR_PLAN_CLIENT, sc->name, &r->id, i, why))
				return -ENOMEM;
		} else {
			f->rec = *r;
		}
	}
	return 0;
}

static int plan_prune(struct planner *p)
{
	if (!(p->flags & NMR_APPLY_PRUNE))
		return 0;
	for (size_t i = 0; i < p->nc; i++)
		if (!p->client_named[i] && !live_owned(&p->clients[i].owner) &&
		    !(p->clients[i].flags & NMR_CLIENT_F_DEFAULT) &&
		    add_step(p, NMR_PLAN_DEREGISTER, NMR_PLAN_CLIENT, p->clients[i].name,
			     &p->clients[i].id, -1, "not in the file"))
			return -ENOMEM;
	for (size_t i = 0; i < p->np; i++)
		if (!p->prov_named[i] && !live_owned(&p->provs[i].owner) &&
		    add_step(p, NMR_PLAN_DEREGISTER, NMR_PLAN_PROVIDER, p->provs[i].name,
			     &p->provs[i].id, -1, "not in the file"))
			return -ENOMEM;
	for (size_t i = 0; i < p->nn; i++) {
		bool used = false;	/* by a live module, which prune leaves alone */

		for (size_t j = 0; j < p->np; j++)
			used |= live_owned(&p->provs[j].owner) &&
				nmr_guid_equal(&p->provs[j].npi, &p->npis[i].id);
		for (size_t j = 0; j < p->nc; j++)
			used |= (live_owned(&p->clients[j].owner) ||
				 (p->clients[j].flags & NMR_CLIENT_F_DEFAULT)) &&
				nmr_guid_equal(&p->clients[j].npi, &p->npis[i].id);
		if (!p->npi_named[i] && !used &&
		    add_step(p, NMR_PLAN_DEREGISTER, NMR_PLAN_NPI, p->npis[i].name, &p->npis[i].id,
			     -1, "not in the file"))
			return -ENOMEM;
	}
	return 0;
}

/* The NPI of id among those registered, or NULL. */
static const struct nmr_npi_record *npi_of(const struct planner *p, const struct nmr_guid *id)
{
	for (size_t j = 0; j < p->nn; j++)
		if (nmr_guid_equal(&p->npis[j].id, id))
			return &p->npis[j];
	return NULL;
}

/* Whether a registered module without a line in the file stays: not pruned, or not ours to. */
static bool kept(const struct planner *p, bool named, const struct nmr_owner *owner, bool pinned)
{
	return !named && (!(p->flags & NMR_APPLY_PRUNE) || live_owned(owner) || pinned);
}

/* Registered objects that stay as they are, without a line in the file. */
static int keep_unnamed(struct planner *p)
{
	for (size_t i = 0; i < p->np; i++) {
		const struct nmr_provider_record *r = &p->provs[i];
		const struct nmr_npi_record *n = npi_of(p, &r->npi);
		struct final_provider *f;

		if (!n || !kept(p, p->prov_named[i], &r->owner, false))
			continue;
		f = &p->fprov[p->nfprov++];
		f->name = r->name;
		f->npi = n->name;
		f->priority = r->priority;
		f->number = r->number;
		f->chars = r->chars;
	}
	for (size_t i = 0; i < p->nc; i++) {
		const struct nmr_client_record *r = &p->clients[i];
		const struct nmr_npi_record *n = npi_of(p, &r->npi);
		struct final_client *f;

		if (!n || !kept(p, p->client_named[i], &r->owner, r->flags & NMR_CLIENT_F_DEFAULT))
			continue;
		f = &p->fclient[p->nfclient++];
		f->name = r->name;
		f->npi = n->name;
		f->rec = *r;
		f->chain = -1;
	}
	return 0;
}

static int cmp_final(const void *a, const void *b)
{
	const struct final_provider *x = *(const struct final_provider *const *)a;
	const struct final_provider *y = *(const struct final_provider *const *)b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->number < y->number ? -1 : x->number > y->number;
}

static struct nmr_plan_chain *new_chain(struct planner *p, const char *client)
{
	struct nmr_plan *plan = p->plan;
	struct nmr_plan_chain *c, *nc = realloc(plan->chains, (plan->nchains + 1) * sizeof(*nc));

	if (!nc)
		return NULL;
	plan->chains = nc;
	c = &nc[plan->nchains++];
	memset(c, 0, sizeof(*c));
	snprintf(c->client, sizeof(c->client), "%s", client);
	return c;
}

/* The registered client's chain now, by provider name. */
static void chain_before(struct planner *p, const struct nmr_client_record *r,
			 struct nmr_plan_chain *c)
{
	for (__u32 pos = 0; pos < NMR_MAX_CHAIN; pos++) {
		for (size_t i = 0; i < p->nb; i++) {
			const struct nmr_binding_record *b = &p->binds[i];

			if (b->state != NMR_BINDING_BOUND || b->position != pos ||
			    !nmr_guid_equal(&b->client, &r->id))
				continue;
			for (size_t j = 0; j < p->np; j++)
				if (nmr_guid_equal(&p->provs[j].id, &b->provider))
					snprintf(c->before[c->nbefore++], NMR_NAME_LEN, "%s",
						 p->provs[j].name);
		}
	}
}

static bool in_list(char (*list)[NMR_NAME_LEN], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

/*
 * The chain each client will run, as the engine builds it: a client
 * registered by the plan takes its NPI's providers in priority order, each
 * if its characteristics and room allow; a kept client keeps its bound
 * providers that stay, and then meets the new ones in registration order.
 */
static int predict_chains(struct planner *p)
{
	struct final_provider **order = calloc(p->nfprov + 1, sizeof(*order));

	if (!order)
		return nmr_error(-ENOMEM, "plan: out of memory");
	for (size_t i = 0; i < p->nc; i++) {
		const struct nmr_client_record *r = &p->clients[i];
		struct nmr_plan_chain *c = new_chain(p, r->name);

		if (!c) {
			free(order);
			return nmr_error(-ENOMEM, "plan: out of memory");
		}
		chain_before(p, r, c);
		c->gone = true;
		for (size_t j = 0; j < p->nfclient; j++)
			if (!p->fclient[j].fresh && !strcmp(p->fclient[j].name, r->name)) {
				p->fclient[j].chain = p->plan->nchains - 1;
				c->gone = false;
			}
		c->changed = c->nbefore && c->gone;
	}
	for (size_t k = 0; k < p->nfclient; k++) {
		struct final_client *fc = &p->fclient[k];
		struct nmr_plan_chain *c;
		size_t n = 0, bound = 0;
		char reason[NMR_REASON_LEN];

		if (fc->chain < 0) {
			c = new_chain(p, fc->name);
			if (!c) {
				free(order);
				return nmr_error(-ENOMEM, "plan: out of memory");
			}
			fc->chain = p->plan->nchains - 1;
		}
		c = &p->plan->chains[fc->chain];
		for (size_t i = 0; i < p->nfprov; i++)
			if (!strcmp(p->fprov[i].npi, fc->npi))
				order[n++] = &p->fprov[i];
		if (fc->fresh) {
			qsort(order, n, sizeof(*order), cmp_final);
		} else {
			/* kept bindings first (their count decides room), then the new ones */
			size_t kept = 0;

			for (size_t i = 0; i < n; i++) {
				if (!order[i]->fresh &&
				    in_list(c->before, c->nbefore, order[i]->name)) {
					struct final_provider *t = order[kept];

					order[kept++] = order[i];
					order[i] = t;
				}
			}
			qsort(order + kept, n - kept, sizeof(*order), cmp_final);
			for (size_t i = kept; i < n; i++)	/* never met: declined before */
				if (!order[i]->fresh)
					order[i] = NULL;
		}
		for (size_t i = 0; i < n; i++) {
			struct nmr_provider_record pr = {};

			if (!order[i])
				continue;
			pr.chars = order[i]->chars;
			if (nmr_attach_decision(&fc->rec, bound, &pr, reason, sizeof(reason)) == 1)
				bound++;
			else
				order[i] = NULL;
		}
		for (size_t i = 0, m = 0; i < n; i++)
			if (order[i])
				order[m++] = order[i];
		qsort(order, bound, sizeof(*order), cmp_final);
		c->nafter = bound;
		for (size_t i = 0; i < bound; i++) {
			snprintf(c->after[i], NMR_NAME_LEN, "%s", order[i]->name);
			c->changed |= order[i]->replaced;
		}
		c->changed |= c->nafter != c->nbefore || (fc->fresh && c->nafter);
		for (size_t i = 0; i < c->nafter && !c->changed; i++)
			c->changed = strcmp(c->after[i], c->before[i]);
	}
	free(order);
	return 0;
}

/* A provider the file registers or changes that no client of its NPI would take is an error. */
static int check_acceptance(struct planner *p)
{
	for (size_t i = 0; i < p->st->nproviders; i++) {
		const struct final_provider *f = &p->fprov[i];
		char reason[NMR_REASON_LEN] = "", who[NMR_NAME_LEN] = "";
		size_t clients = 0, accept = 0;

		if (!f->fresh && !f->replaced)
			continue;
		for (size_t k = 0; k < p->nfclient; k++) {
			char why[NMR_REASON_LEN];

			if (strcmp(p->fclient[k].npi, f->npi))
				continue;
			clients++;
			if (nmr_characteristics_match(&p->fclient[k].rec.chars, &f->chars, why,
						      sizeof(why))) {
				accept++;
			} else if (!reason[0]) {
				snprintf(reason, sizeof(reason), "%s", why);
				snprintf(who, sizeof(who), "%s", p->fclient[k].name);
			}
		}
		if (clients && !accept)
			return nmr_error(-EINVAL, "%s:%d: provider %s: none of the %zu "
					 "client(s) of NPI %s would accept it (client %s: %s)",
					 p->st->source, p->st->providers[i].line, f->name,
					 clients, f->npi, who, reason);
	}
	return 0;
}

static void planner_free(struct planner *p)
{
	free(p->npis);
	free(p->provs);
	free(p->clients);
	free(p->binds);
	free(p->prov_named);
	free(p->client_named);
	free(p->npi_named);
	free(p->fprov);
	free(p->fclient);
}

void nmr_plan_free(struct nmr_plan *plan)
{
	if (!plan)
		return;
	free(plan->steps);
	free(plan->chains);
	free(plan);
}

int nmr_plan_make(struct nmr_registry *reg, const struct nmr_state *st, unsigned int flags,
		  struct nmr_plan **out)
{
	struct planner p = { .reg = reg, .st = st, .flags = flags };
	int err;

	*out = NULL;
	p.plan = calloc(1, sizeof(*p.plan));
	if (!p.plan)
		return nmr_error(-ENOMEM, "plan: out of memory");
	err = nmr_lock(reg, true);
	if (err) {
		free(p.plan);
		return err;
	}
	err = nmr_registry_generation(reg, &p.plan->generation);
	if (!err)
		err = nmr_npi_list(reg, &p.npis, &p.nn);
	if (!err)
		err = nmr_provider_list(reg, &p.provs, &p.np);
	if (!err)
		err = nmr_client_list(reg, &p.clients, &p.nc);
	if (!err)
		err = nmr_binding_list(reg, NULL, NULL, &p.binds, &p.nb);
	if (err)
		goto out;
	p.prov_named = calloc(p.np + 1, sizeof(bool));
	p.client_named = calloc(p.nc + 1, sizeof(bool));
	p.npi_named = calloc(p.nn + 1, sizeof(bool));
	p.fprov = calloc(st->nproviders + p.np + 1, sizeof(*p.fprov));
	p.fclient = calloc(st->nclients + p.nc + 1, sizeof(*p.fclient));
	if (!p.prov_named || !p.client_named || !p.npi_named || !p.fprov || !p.fclient) {
		err = nmr_error(-ENOMEM, "plan: out of memory");
		goto out;
	}
	err = plan_npis(&p);
	if (!err)
		err = plan_providers(&p);
	if (!err)
		err = plan_clients(&p);
	if (!err)
		err = plan_prune(&p);
	if (!err)
		err = keep_unnamed(&p);
	if (!err)
		err = predict_chains(&p);
	if (!err)
		err = check_acceptance(&p);
out:
	nmr_unlock(reg);
	planner_free(&p);
	if (err)
		nmr_plan_free(p.plan);
	else
		*out = p.plan;
	return err;
}

/* ---- carrying a plan out ---- */

static int npi_opts_of(const struct state_npi *n, struct nmr_npi_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->name = n->name;
	o->hook = n->hook;
	o->id = n->has_id ? &n->id : NULL;
	o->version = n->version;
	for (int i = 0; i < NMR_MAX_SLOTS; i++)
		o->slots[i] = n->slots[i];
	return 0;
}

static int provider_opts_of(struct nmr_registry *reg, const struct nmr_state *st,
			    const struct state_provider *sp, struct nmr_provider_opts *o)
{
	struct nmr_npi_record npi;
	int err = nmr_npi_find(reg, sp->npi, &npi);

	if (err)
		return err;
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->object_path = sp->object;
	o->npi = sp->npi;
	o->prog = sp->program;
	o->name = sp->name;
	o->id = sp->has_id ? &sp->id : NULL;
	if (sp->version_set) {
		o->version_min = sp->version_min;
		o->version_max = sp->version_max;
	}
	o->priority = sp->priority;
	o->priority_set = sp->priority_set;
	o->continue_on_set = sp->continue_on_set;
	if (sp->continue_on_set && (err = continue_mask(sp, npi.hook, &o->continue_on,
							st->source)))
		return err;
	o->af_mask = sp->af_mask;
	for (int i = 0; i < NMR_MAX_TAGS; i++)
		o->tags[i] = sp->tags[i];
	for (int i = 1; i < NMR_MAX_SLOTS; i++)
		o->slot_progs[i] = sp->slot_progs[i];
	return 0;
}

static void client_opts_of(const struct state_client *sc, struct nmr_client_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->npi = sc->npi;
	o->dev = sc->dev;
	o->netns = sc->netns;
	o->mode = sc->mode;
	o->name = sc->name;
	o->id = sc->has_id ? &sc->id : NULL;
	o->require_version = sc->require_version;
	o->af_mask = sc->af_mask;
	o->max_providers = sc->max_providers;
	o->exclusive = sc->exclusive;
	for (int i = 0; i < NMR_MAX_TAGS; i++)
		o->require_tags[i] = sc->require_tags[i];
	o->xdp_frags = sc->xdp_frags;
	o->tc_netlink = sc->tc_netlink;
}

/* Where a provider's object came from, for dump: provider/<id>/source. */
static void note_source(struct nmr_registry *reg, const char *provider, const char *path)
{
	struct nmr_provider_record rec;
	char full[PATH_MAX], pin[PATH_MAX];

	if (nmr_provider_find(reg, provider, &rec) || !realpath(path, full))
		return;
	if (nmr_provider_path(reg, &rec.id, "source", pin, sizeof(pin)))
		return;
	unlink(pin);
	nmr_object_store(reg, &rec, "source", full, strlen(full) + 1);
}

enum phase {
	PHASE_NPI_REGISTER,
	PHASE_CLIENT_GO,
	PHASE_PROVIDER_GO,
	PHASE_PROVIDER_REPLACE,
	PHASE_PROVIDER_REGISTER,
	PHASE_CLIENT_REGISTER,
	PHASE_NPI_GO,
	PHASE_COUNT,
};

static bool in_phase(const struct nmr_plan_step *s, enum phase ph)
{
	bool go = s->action == NMR_PLAN_DEREGISTER || s->action == NMR_PLAN_REBIND;
	bool come = s->action == NMR_PLAN_REGISTER || s->action == NMR_PLAN_REBIND;

	switch (ph) {
	case PHASE_NPI_REGISTER:
		return s->object == NMR_PLAN_NPI && come;
	case PHASE_CLIENT_GO:
		return s->object == NMR_PLAN_CLIENT && go;
	case PHASE_PROVIDER_GO:
		return s->object == NMR_PLAN_PROVIDER && go;
	case PHASE_PROVIDER_REPLACE:
		return s->object == NMR_PLAN_PROVIDER && s->action == NMR_PLAN_REPLACE;
	case PHASE_PROVIDER_REGISTER:
		return s->object == NMR_PLAN_PROVIDER && come;
	case PHASE_CLIENT_REGISTER:
		return s->object == NMR_PLAN_CLIENT && come;
	case PHASE_NPI_GO:
		return s->object == NMR_PLAN_NPI && go;
	default:
		return false;
	}
}

static int replace_all(struct nmr_registry *reg, const struct nmr_state *st,
		       const struct nmr_plan *plan)
{
	struct nmr_provider_replacement *r = calloc(plan->nsteps + 1, sizeof(*r));
	size_t n = 0;
	int err;

	if (!r)
		return nmr_error(-ENOMEM, "apply: out of memory");
	for (size_t i = 0; i < plan->nsteps; i++) {
		const struct nmr_plan_step *s = &plan->steps[i];

		if (!in_phase(s, PHASE_PROVIDER_REPLACE))
			continue;
		r[n].provider = st->providers[s->index].name;
		r[n].object_path = st->providers[s->index].object;
		r[n].prog = st->providers[s->index].program;
		n++;
	}
	/* one call: each client's chain swaps once, however many of its providers change */
	err = nmr_provider_replace(reg, r, n);
	for (size_t i = 0; !err && i < n; i++)
		note_source(reg, r[i].provider, r[i].object_path);
	free(r);
	return err;
}

static int run_step(struct nmr_registry *reg, const struct nmr_state *st,
		    const struct nmr_plan_step *s, enum phase ph)
{
	char guid[NMR_GUID_STR_LEN];
	int err;

	nmr_guid_format(&s->id, guid);
	switch (ph) {
	case PHASE_NPI_REGISTER: {
		struct nmr_npi_opts o;

		npi_opts_of(&st->npis[s->index], &o);
		return nmr_npi_register(reg, &o, NULL);
	}
	case PHASE_CLIENT_GO:
		return nmr_client_deregister(reg, guid);
	case PHASE_PROVIDER_GO:
		return nmr_provider_deregister(reg, guid);
	case PHASE_PROVIDER_REGISTER: {
		const struct state_provider *sp = &st->providers[s->index];
		struct nmr_provider_opts o;

		err = provider_opts_of(reg, st, sp, &o);
		if (!err)
			err = nmr_provider_register(reg, &o, NULL);
		if (!err)
			note_source(reg, sp->name, sp->object);
		return err;
	}
	case PHASE_CLIENT_REGISTER: {
		struct nmr_client_opts o;

		client_opts_of(&st->clients[s->index], &o);
		return nmr_client_register(reg, &o, NULL);
	}
	case PHASE_NPI_GO:
		return nmr_npi_deregister(reg, guid);
	default:
		return 0;
	}
}

int nmr_plan_apply(struct nmr_registry *reg, const struct nmr_state *st,
		   const struct nmr_plan *plan)
{
	size_t done = 0;
	__u64 gen;
	int err;

	err = nmr_lock(reg, true);
	if (err)
		return err;
	err = nmr_registry_generation(reg, &gen);
	if (!err && gen != plan->generation)
		err = nmr_error(-ESTALE, "apply: generation conflict: the registry moved from "
				"generation %llu, planned against, to %llu; plan again",
				(unsigned long long)plan->generation, (unsigned long long)gen);
	/* provider changes touch records only; the settle swaps each client once */
	if (!err)
		nmr_batch_begin(reg);
	for (int ph = 0; !err && ph < PHASE_COUNT; ph++) {
		if (ph == PHASE_CLIENT_REGISTER) {
			/* before new clients bind, in their own registration */
			err = nmr_batch_settle(reg);
			if (err)
				break;
		}
		if (ph == PHASE_PROVIDER_REPLACE) {
			err = replace_all(reg, st, plan);
			done += !err;
			continue;
		}
		for (size_t i = 0; !err && i < plan->nsteps; i++) {
			if (!in_phase(&plan->steps[i], ph))
				continue;
			err = run_step(reg, st, &plan->steps[i], ph);
			if (err)
				nmr_error_prefix(err, "apply: %s %s (after %zu change(s) made)",
						 plan->steps[i].object == NMR_PLAN_NPI ? "npi" :
						 plan->steps[i].object == NMR_PLAN_PROVIDER ?
						 "provider" : "client", plan->steps[i].name, done);
			done++;
		}
	}
	if (reg->batch) {	/* failed before the settle: what was done still settles */
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", nmr_last_error());
		nmr_batch_settle(reg);
		nmr_error(err, "%s", msg);
	}
	nmr_unlock(reg);
	return err;
}

/* ---- dump ---- */

static void yaml_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void yaml_list(FILE *f, const char *key, const char *const *items, int n)
{
	int first = 1;

	for (int i = 0; i < n; i++) {
		if (!items[i] || !items[i][0])
			continue;
		fprintf(f, first ? "    %s: [" : ", ", key);
		yaml_quoted(f, items[i]);
		first = 0;
	}
	if (!first)
		fputs("]\n", f);
}

static void yaml_af(FILE *f, const char *key, __u32 mask)
{
	if (mask)
		fprintf(f, "    %s: [%s%s%s]\n", key, mask & NMR_AF_INET ? "inet" : "",
			(mask & NMR_AF_INET) && (mask & NMR_AF_INET6) ? ", " : "",
			mask & NMR_AF_INET6 ? "inet6" : "");
}

static int dump_object_path(struct nmr_registry *reg, const struct nmr_provider_record *r,
			    const char *objects_dir, char *path, size_t len)
{
	char pin[PATH_MAX], guid[NMR_GUID_STR_LEN];
	void *buf = NULL;
	size_t size;
	int err;

	nmr_guid_format(&r->id, guid);
	if (objects_dir) {
		char dir[PATH_MAX];
		FILE *f;

		if (!realpath(objects_dir, dir))
			return nmr_error(-errno, "dump: %s: %s", objects_dir, strerror(errno));
		if (snprintf(path, len, "%s/%s.bpf.o", dir, r->name) >= (int)len)
			return nmr_error(-ENAMETOOLONG, "dump: path too long");
		err = nmr_object_load(reg, r, &buf, &size);
		if (err)
			return err;
		f = fopen(path, "w");
		if (!f || fwrite(buf, 1, size, f) != size || fclose(f)) {
			err = nmr_error(-errno ?: -EIO, "dump: write %s: %s", path,
					strerror(errno ?: EIO));
			if (f)
				fclose(f);
		}
		free(buf);
		return err;
	}
	err = nmr_provider_path(reg, &r->id, "source", pin, sizeof(pin));
	if (!err && access(pin, F_OK))
		return nmr_error(-ENOENT, "dump: provider %s was not registered by apply, so the "
				 "file of its object is not known: dump with an objects directory "
				 "(--objects DIR), which receives a copy of every object",
				 r->name);
	if (!err)
		err = nmr_blob_load(pin, &buf, &size);
	if (err)
		return err;
	snprintf(path, len, "%.*s", (int)size, (const char *)buf);
	free(buf);
	return 0;
}

int nmr_state_dump(struct nmr_registry *reg, FILE *f, const char *objects_dir)
{
	struct nmr_snapshot s;
	int err;

	/* objects are copied under the same lock as the records */
	err = nmr_lock(reg, false);
	if (err)
		return err;
	err = nmr_snapshot_take(reg, &s);
	if (err)
		goto out;
	fprintf(f, "# nmr-bpf state of %s at generation %llu (nmr-bpf apply -f FILE)\n",
		nmr_registry_root(reg), (unsigned long long)s.generation);
	fprintf(f, "npis:%s\n", s.nn ? "" : " []");
	for (size_t i = 0; i < s.nn; i++) {
		const struct nmr_npi_record *n = &s.npis[i];
		const char *slots[NMR_MAX_SLOTS] = {};
		char guid[NMR_GUID_STR_LEN];

		nmr_guid_format(&n->id, guid);
		fprintf(f, "  - name: %s\n    id: %s\n    hook: %s\n    version: %u\n", n->name,
			guid, nmr_hook_name(n->hook), n->version);
		for (__u32 s = 0; s < n->nslots && s < NMR_MAX_SLOTS; s++)
			slots[s] = n->slots[s];
		yaml_list(f, "slots", slots, NMR_MAX_SLOTS);
	}
	fprintf(f, "providers:\n");
	for (size_t i = 0; i < s.np; i++) {
		const struct nmr_provider_record *r = &s.provs[i];
		const struct nmr_npi_record *n = NULL;
		const char *list[NMR_MAX_SLOTS] = {};
		char guid[NMR_GUID_STR_LEN], path[PATH_MAX], digest[NMR_SHA256_HEX_LEN];
		void *buf;
		size_t size;

		if (live_owned(&r->owner))
			continue;
		for (size_t j = 0; j < s.nn; j++)
			if (nmr_guid_equal(&s.npis[j].id, &r->npi))
				n = &s.npis[j];
		err = dump_object_path(reg, r, objects_dir, path, sizeof(path));
		if (!err)
			err = nmr_object_load(reg, r, &buf, &size);
		if (err)
			goto done;
		nmr_sha256_hex(buf, size, digest);
		free(buf);
		nmr_guid_format(&r->id, guid);
		fprintf(f, "  - name: %s\n    id: %s\n    npi: %s\n    object: ", r->name, guid,
			n ? n->name : "?");
		yaml_quoted(f, path);
		fprintf(f, "\n    sha256: %s\n    program: %s\n    priority: %u\n", digest,
			r->prog_name, r->priority);
		if (r->flags & NMR_PROVIDER_F_SDK) {
			char v[128];

			nmr_verdicts_format(n ? n->hook : NMR_HOOK_XDP, r->continue_on, v,
					    sizeof(v));
			fprintf(f, "    continue-on: [%s]\n", r->continue_on ? v : "");
		}
		if (r->chars.version_min == r->chars.version_max)
			fprintf(f, "    version: %u\n", r->chars.version_min);
		else
			fprintf(f, "    version: %u-%u\n", r->chars.version_min,
				r->chars.version_max);
		yaml_af(f, "af", r->chars.af_mask);
		for (int t = 0; t < NMR_MAX_TAGS; t++)
			list[t] = r->chars.tags[t];
		yaml_list(f, "tags", list, NMR_MAX_TAGS);
		memset(list, 0, sizeof(list));
		for (__u32 s = 1; n && s < n->nslots && s < NMR_MAX_SLOTS; s++)
			list[s - 1] = r->slot_progs[s];
		yaml_list(f, "slot-programs", list, NMR_MAX_SLOTS);
	}
	fprintf(f, "clients:\n");
	for (size_t i = 0; i < s.nc; i++) {
		const struct nmr_client_record *c = &s.clients[i];
		const struct nmr_npi_record *n = NULL;
		const char *list[NMR_MAX_TAGS];
		char guid[NMR_GUID_STR_LEN];

		if (live_owned(&c->owner) || (c->flags & NMR_CLIENT_F_DEFAULT))
			continue;
		for (size_t j = 0; j < s.nn; j++)
			if (nmr_guid_equal(&s.npis[j].id, &c->npi))
				n = &s.npis[j];
		nmr_guid_format(&c->id, guid);
		fprintf(f, "  - name: %s\n    id: %s\n    npi: %s\n    device: %s\n", c->name,
			guid, n ? n->name : "?", c->dev);
		if (c->netns[0])
			fprintf(f, "    netns: %s\n", c->netns);
		if (c->hook == NMR_HOOK_XDP)
			fprintf(f, "    mode: %s\n", c->mode == NMR_MODE_SKB ? "skb" : "native");
		if (c->chars.require_version)
			fprintf(f, "    require-version: %u\n", c->chars.require_version);
		yaml_af(f, "af", c->chars.af_mask);
		if (c->chars.max_providers)
			fprintf(f, "    max-providers: %u\n", c->chars.max_providers);
		if (c->chars.flags & NMR_CHARS_F_EXCLUSIVE)
			fprintf(f, "    exclusive: true\n");
		for (int t = 0; t < NMR_MAX_TAGS; t++)
			list[t] = c->chars.require_tags[t];
		yaml_list(f, "require-tags", list, NMR_MAX_TAGS);
		if (c->flags & NMR_CLIENT_F_FRAGS)
			fprintf(f, "    xdp-frags: true\n");
		if (c->flags & NMR_CLIENT_F_TC_NETLINK)
			fprintf(f, "    tc-netlink: true\n");
	}
	if (fflush(f))
		err = nmr_error(-errno, "dump: write: %s", strerror(errno));
done:
	nmr_snapshot_free(&s);
out:
	nmr_unlock(reg);
	return err;
}
