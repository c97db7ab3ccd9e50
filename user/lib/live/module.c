// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live modules: providers and clients registered with NMR's callbacks.
 *
 * The records are those of any module, with an owner (this process). The
 * data path is the same (nmr_bind_one, nmr_unbind_pair); what differs is who
 * decides: the registrar calls the module's callbacks, here, in the owner's
 * process. Declarative registrars (the CLI) skip live modules of other
 * processes; the owner notices new peers through inotify on the registry
 * directories (the watcher thread) and attaches them itself. A watchdog
 * process deregisters the owner's modules when the owner ends without doing
 * so, unless they are persistent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/param.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "live/live.h"

struct nmr_module {
	struct nmr_module *next;
	struct nmr_registry *reg;
	enum nmr_module_kind kind;
	struct nmr_guid id;
	struct nmr_client_module_opts c;	/* kind == NMR_MODULE_CLIENT */
	struct nmr_provider_module_opts p;	/* kind == NMR_MODULE_PROVIDER */
	struct nmr_dispatch_table dispatch;
	bool deregistering;
};

/*
 * ACCEPTED: the provider's side of a pair with a live client of another process,
 * which accepted and waits for the client's process to bind it.
 */
enum binding_phase { ATTACHING, ACCEPTED, BOUND, DETACHING };

struct nmr_binding {
	struct nmr_binding *next;
	struct nmr_registry *reg;
	struct nmr_client_record client;
	struct nmr_provider_record provider;
	struct nmr_module *cm, *pm;	/* the live sides in this process */
	enum binding_phase phase;
	bool provider_accepted;
	void *client_ctx, *provider_ctx;
	struct nmr_dispatch_table pdisp;	/* the provider's table */
	bool pdisp_ours;			/* its fds are ours to close */
	struct nmr_binding_record rec;
	bool client_pending, provider_pending;
	char reason[NMR_REASON_LEN];
	char error[NMR_REASON_LEN];	/* why the BPF binding failed */
};

static bool owned_here(const struct nmr_owner *owner)
{
	return owner->pid == (__u32)getpid();
}

/* ---- registration instances ---- */

static void client_instance(const struct nmr_client_record *c, struct nmr_registration_instance *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->kind = NMR_MODULE_CLIENT;
	ri->npi_id = c->npi;
	ri->module_id = c->id;
	ri->name = c->name;
	ri->number = c->number;
	ri->ifindex = c->ifindex;
	ri->netns_ino = c->netns_ino;
	ri->dev = c->dev;
	ri->netns = c->netns;
	ri->client_characteristics = &c->chars;
}

static void provider_instance(const struct nmr_provider_record *p,
			      struct nmr_registration_instance *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->kind = NMR_MODULE_PROVIDER;
	ri->npi_id = p->npi;
	ri->module_id = p->id;
	ri->name = p->name;
	ri->number = p->number;
	ri->provider_characteristics = &p->chars;
}

/* ---- modules and bindings of this process ---- */

static struct nmr_module *module_of(struct nmr_registry *reg, const struct nmr_guid *id)
{
	for (struct nmr_module *m = reg->modules; m; m = m->next)
		if (nmr_guid_equal(&m->id, id) && !m->deregistering)
			return m;
	return NULL;
}

static struct nmr_binding *live_binding(struct nmr_registry *reg, const struct nmr_guid *client,
					const struct nmr_guid *provider)
{
	for (struct nmr_binding *b = reg->live; b; b = b->next)
		if (nmr_guid_equal(&b->client.id, client) &&
		    nmr_guid_equal(&b->provider.id, provider))
			return b;
	return NULL;
}

static void binding_free(struct nmr_binding *b)
{
	struct nmr_registry *reg = b->reg;

	for (struct nmr_binding **pp = &reg->live; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	if (b->pdisp_ours) {
		for (__u32 i = 0; i < b->pdisp.count; i++)
			close(b->pdisp.prog_fds[i]);
		close(b->pdisp.map_fd);
	}
	free(b);
	pthread_mutex_lock(&reg->wait_mutex);
	reg->wait_gen++;
	pthread_cond_broadcast(&reg->wait_cond);
	pthread_mutex_unlock(&reg->wait_mutex);
}

const struct nmr_binding_record *nmr_binding_record(const struct nmr_binding *b)
{
	return b->phase == BOUND || b->phase == DETACHING ? &b->rec : NULL;
}

void nmr_binding_decline(struct nmr_binding *b, const char *reason)
{
	snprintf(b->reason, sizeof(b->reason), "%s", reason);
}

int nmr_binding_write_context(struct nmr_binding *b, const void *data, size_t len)
{
	if (b->phase != BOUND)
		return nmr_error(-EINVAL, "write binding context: not attached");
	return nmr_binding_context_write(b->reg, &b->rec, data, len);
}

const struct nmr_guid *nmr_module_id(const struct nmr_module *m)
{
	return &m->id;
}

/* The BPF binding: into the client's chain. The provider's table defaults to its instance. */
static int complete(struct nmr_binding *b)
{
	struct nmr_registry *reg = b->reg;
	char path[PATH_MAX];
	int err, fd;

	err = nmr_bind_one(reg, &b->client, &b->provider, &b->rec);
	if (err) {
		const char *why = strrchr(nmr_last_error(), ':');

		snprintf(b->error, sizeof(b->error), "%s", why ? why + 2 : nmr_last_error());
		if (b->pm && b->provider_accepted && b->pm->p.cleanup_binding_context)
			b->pm->p.cleanup_binding_context(b->provider_ctx);
		return err;
	}
	b->phase = BOUND;
	if (!b->pdisp.count) {
		/* the binding's dispatch table: the provider's program for each NPI slot */
		if (!nmr_binding_path(reg, &b->rec.id, b->rec.prog_id, NMR_PIN_DISPATCH, path,
				      sizeof(path)) &&
		    (fd = bpf_obj_get(path)) >= 0) {
			__u32 id;

			b->pdisp.map_fd = fd;
			b->pdisp_ours = true;
			for (__u32 i = 0; i < NMR_DISPATCH_SLOTS; i++) {
				if (bpf_map_lookup_elem(fd, &i, &id))
					break;
				b->pdisp.prog_fds[b->pdisp.count++] = bpf_prog_get_fd_by_id(id);
			}
		}
	}
	return 0;
}

/* ---- live modules of two processes ---- */
/*
 * A live client of this process meets a live provider of another: its
 * attach_provider() runs here, and when it asks for the provider
 * (nmr_client_attach_provider), the pair's record says NMR_BINDING_OFFERED
 * and the registry's doorbell rings. This process lets go of the registry
 * lock while it waits, so that the provider's process can take it: its
 * watcher runs attach_client() there and answers in the record, ACCEPTED or
 * DECLINED with its reason. This process then binds the pair (one commit) or
 * records the decline. A provider that does not answer within the peer
 * timeout, or whose process ends, is declined with that as the reason; the
 * provider's process, seeing the record become BOUND, DECLINED or gone,
 * makes its side bound or detaches it. Contexts stay in their processes;
 * what both see is the BPF: the binding's context entry and dispatch tables.
 */
#define PEER_TIMEOUT_MS		5000
#define PEER_TIMEOUT_ENV	"NMR_PEER_TIMEOUT_MS"
#define PEER_SLICE_MS		100	/* how often a wait looks whether the peer still runs */

static int peer_timeout_ms(void)
{
	const char *s = getenv(PEER_TIMEOUT_ENV);
	long ms = s && s[0] ? strtol(s, NULL, 10) : 0;

	return ms > 0 && ms <= 600000 ? (int)ms : PEER_TIMEOUT_MS;
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/*
 * Waits, without the lock, until the provider's process answered (the record
 * left OFFERED, or went), its process ended, or the timeout: 0 answered,
 * -ESRCH ended, -ETIMEDOUT. Woken by the registry's doorbell, no polling of
 * the record; a slice at most between looks at the peer's process.
 */
static int wait_answer(struct nmr_binding *b, const struct nmr_guid *id)
{
	struct nmr_registry *reg = b->reg;
	__u64 deadline = now_ms() + peer_timeout_ms();
	struct nmr_binding_record rec;
	struct pollfd pfd = { .events = POLLIN };
	char buf[1024];
	int err = -ETIMEDOUT;

	pfd.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (pfd.fd >= 0 && inotify_add_watch(pfd.fd, reg->root, IN_ATTRIB) < 0) {
		close(pfd.fd);
		pfd.fd = -1;
	}
	for (;;) {
		__u64 now = now_ms();

		if (bpf_map_lookup_elem(reg->bindings_fd, id, &rec) ||
		    rec.state != NMR_BINDING_OFFERED) {
			err = 0;
			break;
		}
		if (!nmr_owner_live(&b->provider.owner)) {
			err = -ESRCH;
			break;
		}
		if (now >= deadline)
			break;
		if (pfd.fd >= 0 && poll(&pfd, 1, MIN(deadline - now, PEER_SLICE_MS)) > 0)
			while (read(pfd.fd, buf, sizeof(buf)) > 0)
				;
		else if (pfd.fd < 0)
			usleep(1000 * MIN(deadline - now, 10));
	}
	if (pfd.fd >= 0)
		close(pfd.fd);
	return err;
}

/* From nmr_client_attach_provider(): the provider lives in another process. */
static int ask_remote_provider(struct nmr_binding *b)
{
	struct nmr_registry *reg = b->reg;
	struct nmr_binding_record rec;
	struct nmr_client_record c;
	struct nmr_provider_record p;
	struct nmr_lock_held held;
	int err;

	err = nmr_pair_note(reg, &b->client, &b->provider, NMR_BINDING_OFFERED, "");
	if (err)
		return err;
	nmr_generation_bump(reg, NULL);	/* the doorbell: the provider's watcher wakes */
	nmr_binding_id(&b->client.id, &b->provider.id, &rec.id);
	nmr_lock_let_go(reg, &held);	/* the provider's process needs it to answer */
	err = wait_answer(b, &rec.id);
	nmr_lock_retake(reg, &held);
	/* while the lock was let go, either side may have gone */
	if (bpf_map_lookup_elem(reg->clients_fd, &b->client.id, &c) ||
	    bpf_map_lookup_elem(reg->providers_fd, &b->provider.id, &p)) {
		nmr_unbind_pair(reg, &b->client.id, &b->provider.id);
		snprintf(b->reason, sizeof(b->reason), "%s deregistered while asked",
			 bpf_map_lookup_elem(reg->clients_fd, &b->client.id, &c) ? "client" :
			 "provider");
		return -ENOENT;
	}
	if (!bpf_map_lookup_elem(reg->bindings_fd, &rec.id, &rec) &&
	    rec.state == NMR_BINDING_ACCEPTED) {
		b->provider_accepted = true;
		return 0;
	}
	if (!err && rec.state == NMR_BINDING_DECLINED)
		snprintf(b->reason, sizeof(b->reason), "%s", rec.reason);
	else
		snprintf(b->reason, sizeof(b->reason), "peer did not answer: provider %s %s",
			 b->provider.name, err == -ESRCH ? "ended before it answered" :
			 "gave no answer in time");
	return NMR_STATUS_NOINTERFACE;
}

/* The provider's side of an attachment: its callback, or nothing to ask. */
static int ask_provider(struct nmr_binding *b)
{
	struct nmr_registration_instance ri;
	void *npi_chars;
	int status;

	if (!b->pm && nmr_owner_live(&b->provider.owner) && !owned_here(&b->provider.owner))
		return ask_remote_provider(b);
	if (!b->pm) {
		b->provider_accepted = true;
		return 0;
	}
	client_instance(&b->client, &ri);
	npi_chars = nmr_npi_chars_instance(b->reg, &ri);	/* the NPI's own struct, if any */
	status = b->pm->p.attach_client(b, b->pm->p.provider_context, &ri);
	free(npi_chars);
	if (status == 0 && !b->provider_accepted)
		return nmr_error(-EPROTO, "provider %s: attach_client returned success without "
				 "calling nmr_provider_attach_client()", b->provider.name);
	if (status && !b->reason[0])
		snprintf(b->reason, sizeof(b->reason), "provider %s declined", b->provider.name);
	return status;
}

int nmr_client_attach_provider(struct nmr_binding *b, void *client_binding_context,
			       void **provider_binding_context,
			       const struct nmr_dispatch_table **provider_dispatch)
{
	int status;

	if (b->phase != ATTACHING || !b->cm)
		return nmr_error(-EINVAL, "nmr_client_attach_provider: not in attach_provider()");
	b->client_ctx = client_binding_context;
	status = ask_provider(b);
	if (status)
		return status;
	status = complete(b);
	if (status)
		return status;
	if (provider_binding_context)
		*provider_binding_context = b->provider_ctx;
	if (provider_dispatch)
		*provider_dispatch = &b->pdisp;
	return 0;
}

int nmr_provider_attach_client(struct nmr_binding *b, void *provider_binding_context,
			       const struct nmr_dispatch_table *provider_dispatch,
			       void **client_binding_context,
			       const struct nmr_dispatch_table **client_dispatch)
{
	if (b->phase != ATTACHING || !b->pm)
		return nmr_error(-EINVAL, "nmr_provider_attach_client: not in attach_client()");
	b->provider_ctx = provider_binding_context;
	if (provider_dispatch)
		b->pdisp = *provider_dispatch;
	b->provider_accepted = true;
	if (client_binding_context)
		*client_binding_context = b->client_ctx;
	if (client_dispatch)
		*client_dispatch = b->cm && b->cm->dispatch.count ? &b->cm->dispatch : NULL;
	return 0;
}

static bool pair_registered(struct nmr_registry *reg, const struct nmr_client_record *client,
			    const struct nmr_provider_record *prov)
{
	struct nmr_client_record c;
	struct nmr_provider_record p;

	return !bpf_map_lookup_elem(reg->clients_fd, &client->id, &c) &&
	       !bpf_map_lookup_elem(reg->providers_fd, &prov->id, &p);
}

/*
 * Decides and makes one attachment where a side is live here: the client is
 * asked first, as the NMR does; a declarative client by its characteristics.
 */
static void attach_pair(struct nmr_registry *reg, const struct nmr_client_record *client,
			const struct nmr_provider_record *prov)
{
	struct nmr_registration_instance ri;
	struct nmr_binding *b;
	int status;

	b = calloc(1, sizeof(*b));
	if (!b)
		return;
	b->reg = reg;
	b->client = *client;
	b->provider = *prov;
	b->cm = module_of(reg, &client->id);
	b->pm = module_of(reg, &prov->id);
	b->phase = ATTACHING;
	b->next = reg->live;
	reg->live = b;

	if (b->cm) {
		void *npi_chars;

		provider_instance(prov, &ri);
		npi_chars = nmr_npi_chars_instance(reg, &ri);	/* the NPI's own struct, if any */
		status = b->cm->c.attach_provider(b, b->cm->c.client_context, &ri);
		free(npi_chars);
		if (status == NMR_STATUS_NOINTERFACE && !b->reason[0])
			snprintf(b->reason, sizeof(b->reason), "client %s declined", client->name);
	} else {
		status = nmr_attach_decision(client, client->nchain, prov, b->reason,
					     sizeof(b->reason)) &&
			 nmr_npi_decision(reg, client, prov, b->reason, sizeof(b->reason)) ?
			 ask_provider(b) : NMR_STATUS_NOINTERFACE;
		if (!status)
			status = complete(b);
	}
	if (status == 0 && b->phase == BOUND)
		return;
	if (status == 0)	/* returned success without attaching */
		snprintf(b->reason, sizeof(b->reason), "client %s did not attach", client->name);
	else if (status != NMR_STATUS_NOINTERFACE && !b->reason[0])
		snprintf(b->reason, sizeof(b->reason), "attach failed: %s", b->error[0] ? b->error :
			 strerror(-status));
	/* Declined or failed: recorded, so that users see why and it is not retried. */
	if (b->phase == BOUND)
		nmr_unbind_pair(reg, &client->id, &prov->id);
	if (pair_registered(reg, client, prov)) {	/* not if a side went while asked */
		nmr_decline_one(reg, client, prov, b->reason);
		/* a provider of another process that accepted learns it: detaches */
		if (!b->pm && nmr_owner_live(&prov->owner) && !owned_here(&prov->owner))
			nmr_generation_bump(reg, NULL);
	}
	binding_free(b);
}

/* ---- detach ---- */

static void finish_if_done(struct nmr_binding *b)
{
	if (b->phase == DETACHING && !b->client_pending && !b->provider_pending)
		binding_free(b);
}

/*
 * The binding has left the chain (unlink: make it leave now) and no packet
 * can run it; now its live sides detach, perhaps later.
 */
static void detach(struct nmr_binding *b, bool unlink)
{
	struct nmr_registry *reg = b->reg;
	int st;

	if (unlink)
		nmr_unbind_pair(reg, &b->client.id, &b->provider.id);
	b->phase = DETACHING;
	if (b->cm) {
		st = b->cm->c.detach_provider ? b->cm->c.detach_provider(b->client_ctx) : 0;
		if (st == NMR_STATUS_PENDING)
			b->client_pending = true;
		else if (b->cm->c.cleanup_binding_context)
			b->cm->c.cleanup_binding_context(b->client_ctx);
	}
	if (b->pm) {
		st = b->pm->p.detach_client ? b->pm->p.detach_client(b->provider_ctx) : 0;
		if (st == NMR_STATUS_PENDING)
			b->provider_pending = true;
		else if (b->pm->p.cleanup_binding_context)
			b->pm->p.cleanup_binding_context(b->provider_ctx);
	}
	finish_if_done(b);
}

void nmr_client_detach_complete(struct nmr_binding *b)
{
	struct nmr_registry *reg = b->reg;

	nmr_lock(reg, true);
	if (b->client_pending) {
		b->client_pending = false;
		if (b->cm->c.cleanup_binding_context)
			b->cm->c.cleanup_binding_context(b->client_ctx);
		finish_if_done(b);
	}
	nmr_unlock(reg);
}

void nmr_provider_detach_complete(struct nmr_binding *b)
{
	struct nmr_registry *reg = b->reg;

	nmr_lock(reg, true);
	if (b->provider_pending) {
		b->provider_pending = false;
		if (b->pm->p.cleanup_binding_context)
			b->pm->p.cleanup_binding_context(b->provider_ctx);
		finish_if_done(b);
	}
	nmr_unlock(reg);
}

/* ---- reconciling with what other processes did ---- */

static void meet(struct nmr_registry *reg, const struct nmr_client_record *c,
		 const struct nmr_provider_record *p, bool may_wait)
{
	if (!nmr_guid_equal(&c->npi, &p->npi) || nmr_pair_known(reg, &c->id, &p->id) ||
	    live_binding(reg, &c->id, &p->id))
		return;
	/* a live client of another process asks for itself, here through answer_offers() */
	if (!owned_here(&c->owner) && nmr_owner_live(&c->owner))
		return;
	/* a live provider of another process is asked by a live client of this one */
	if (!owned_here(&p->owner) && nmr_owner_live(&p->owner) && !owned_here(&c->owner))
		return;
	/*
	 * Asking another process lets go of the lock while it waits: not in the middle
	 * of a command of this process that holds it (a registration telling the
	 * observer, a batch). The watcher meets the pair once that command is done.
	 */
	if (!owned_here(&p->owner) && nmr_owner_live(&p->owner) && (!may_wait || reg->batch)) {
		reg->seen_generation = 0;	/* the watcher reconciles when woken: */
		nmr_doorbell(reg);
		return;
	}
	/* ours, but not (or no longer) a module: registering or deregistering */
	if ((owned_here(&c->owner) && !module_of(reg, &c->id)) ||
	    (owned_here(&p->owner) && !module_of(reg, &p->id)))
		return;
	attach_pair(reg, c, p);
}

/* In the provider's process: the offers its live providers are to answer, answered. */
static void answer_offers(struct nmr_registry *reg)
{
	struct nmr_binding_record *all = NULL, now;
	size_t n = 0;
	bool rang = false;

	if (nmr_records_read(reg->bindings_fd, sizeof(*all), NMR_MAX_BINDINGS, (void **)&all, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		struct nmr_module *pm = module_of(reg, &all[i].provider);
		struct nmr_binding *b;
		int status;

		if (all[i].state != NMR_BINDING_OFFERED || !pm ||
		    live_binding(reg, &all[i].client, &all[i].provider))
			continue;
		b = calloc(1, sizeof(*b));
		if (!b)
			break;
		if (bpf_map_lookup_elem(reg->clients_fd, &all[i].client, &b->client) ||
		    bpf_map_lookup_elem(reg->providers_fd, &all[i].provider, &b->provider)) {
			free(b);
			continue;
		}
		b->reg = reg;
		b->pm = pm;
		b->phase = ATTACHING;
		b->next = reg->live;
		reg->live = b;
		status = ask_provider(b);	/* attach_client(), here */
		/* the client's process may have given up meanwhile: answer only an offer */
		if (bpf_map_lookup_elem(reg->bindings_fd, &all[i].id, &now) ||
		    now.state != NMR_BINDING_OFFERED) {
			if (!status && pm->p.cleanup_binding_context)
				pm->p.cleanup_binding_context(b->provider_ctx);
			binding_free(b);
			continue;
		}
		if (!status) {
			b->phase = ACCEPTED;
			nmr_pair_note(reg, &b->client, &b->provider, NMR_BINDING_ACCEPTED, "");
		} else {
			if (!b->reason[0])
				snprintf(b->reason, sizeof(b->reason), "provider %s declined",
					 b->provider.name);
			nmr_pair_note(reg, &b->client, &b->provider, NMR_BINDING_DECLINED,
				      b->reason);
			binding_free(b);
		}
		rang = true;
	}
	free(all);
	if (rang)
		nmr_generation_bump(reg, NULL);	/* the client's process waits for this */
}

/* In the provider's process: what became of the pairs it accepted. */
static void settle_accepted(struct nmr_registry *reg)
{
	struct nmr_binding_record rec;

	for (struct nmr_binding *b = reg->live, *next; b; b = next) {
		struct nmr_guid id;

		next = b->next;
		if (b->phase != ACCEPTED)
			continue;
		nmr_binding_id(&b->client.id, &b->provider.id, &id);
		if (bpf_map_lookup_elem(reg->bindings_fd, &id, &rec)) {
			detach(b, false);	/* the client's side went */
		} else if (rec.state == NMR_BINDING_BOUND) {
			b->rec = rec;
			b->phase = BOUND;
		} else if (rec.state == NMR_BINDING_DECLINED) {
			detach(b, false);	/* accepted, but the client could not bind it */
		}
	}
}

/*
 * may_wait: the caller holds the lock only for this (the watcher, a module's
 * registration), so asking a peer of another process may let go of it.
 */
static void reconcile(struct nmr_registry *reg, bool may_wait)
{
	struct nmr_provider_record *provs = NULL;
	struct nmr_client_record *clients = NULL;
	struct nmr_binding_record rec;
	size_t np = 0, nc = 0;

	if (!reg->modules || nmr_lock(reg, true))
		return;
	reg->seen_generation = reg->generation_at_lock;	/* meets everything up to now */
	/* Bindings another process took away (it unbound or deregistered a peer). */
	for (struct nmr_binding *b = reg->live, *next; b; b = next) {
		next = b->next;
		if (b->phase == BOUND && bpf_map_lookup_elem(reg->bindings_fd, &b->rec.id, &rec))
			detach(b, false);
	}
	settle_accepted(reg);
	answer_offers(reg);
	/* Peers the live modules have not met. */
	if (!nmr_client_list(reg, &clients, &nc) && !nmr_provider_list(reg, &provs, &np)) {
		for (struct nmr_module *m = reg->modules; m; m = m->next) {
			if (m->deregistering)
				continue;
			for (size_t i = 0; m->kind == NMR_MODULE_CLIENT && i < np; i++)
				for (size_t j = 0; j < nc; j++)
					if (nmr_guid_equal(&clients[j].id, &m->id))
						meet(reg, &clients[j], &provs[i], may_wait);
			for (size_t i = 0; m->kind == NMR_MODULE_PROVIDER && i < nc; i++)
				for (size_t j = 0; j < np; j++)
					if (nmr_guid_equal(&provs[j].id, &m->id))
						meet(reg, &clients[i], &provs[j], may_wait);
		}
	}
	free(clients);
	free(provs);
	nmr_unlock(reg);
}

/* ---- the watcher thread: inotify on the registry, no polling ---- */

static void *watch(void *arg)
{
	struct nmr_registry *reg = arg;
	struct pollfd fds[2] = { { .fd = reg->inotify_fd, .events = POLLIN },
				 { .fd = reg->stop_fd, .events = POLLIN } };
	char buf[4096];
	__u64 gen;

	while (poll(fds, 2, -1) >= 0 || errno == EINTR) {
		if (fds[1].revents)
			break;
		if (!(fds[0].revents & POLLIN))
			continue;
		while (read(reg->inotify_fd, buf, sizeof(buf)) > 0)
			;
		/* a change this process made itself (its generation seen): nothing to meet */
		if (nmr_registry_generation(reg, &gen) || gen != reg->seen_generation)
			reconcile(reg, true);
	}
	return NULL;
}

static int start_watcher(struct nmr_registry *reg)
{
	const char *dirs[] = { NMR_PROVIDERS_DIR, NMR_CLIENTS_DIR, NMR_BINDINGS_DIR };
	char path[PATH_MAX];

	if (reg->watching)
		return 0;
	reg->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	reg->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (reg->inotify_fd < 0 || reg->stop_fd < 0)
		return nmr_error(-errno, "watch the registry: %s", strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (nmr_path(reg, path, sizeof(path), "%s", dirs[i]))
			return -ENAMETOOLONG;
		if (inotify_add_watch(reg->inotify_fd, path, IN_CREATE | IN_DELETE |
				      IN_MOVED_TO | IN_MOVED_FROM) < 0)
			return nmr_error(-errno, "watch %s: %s", path, strerror(errno));
	}
	/* the doorbell every change rings when it is done (store/meta.c) */
	if (inotify_add_watch(reg->inotify_fd, reg->root, IN_ATTRIB) < 0)
		return nmr_error(-errno, "watch %s: %s", reg->root, strerror(errno));
	if (pthread_create(&reg->watcher, NULL, watch, reg))
		return nmr_error(-EAGAIN, "start the registry watcher thread");
	reg->watching = true;
	return 0;
}

/* ---- the watchdog: deregisters this process's modules when it ends ---- */

static int start_watchdog(struct nmr_registry *reg)
{
	pid_t parent = getpid(), pid;
	__u64 parent_start;

	if (reg->watchdog_pid)
		return 0;
	parent_start = nmr_owner_start_time(parent);
	pid = fork();
	if (pid < 0)
		return nmr_error(-errno, "start the watchdog: %s", strerror(errno));
	if (pid == 0) {
		struct nmr_registry *r;
		struct pollfd pfd;
		int pidfd;

		/* own session, no inherited fd (the registry lock among them) */
		setsid();
		syscall(SYS_close_range, 3, ~0U, 0);
		pidfd = syscall(SYS_pidfd_open, parent, 0);
		if (pidfd >= 0 && getppid() == parent) {
			pfd.fd = pidfd;
			pfd.events = POLLIN;
			while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
				;
		} else {
			/* no pidfd (an older kernel): the parent's end is seen as re-parenting */
			while (getppid() == parent)
				sleep(1);
		}
		if (!nmr_registry_open(reg->root, NMR_REGISTRY_NO_CREATE, &r)) {
			nmr_reap_owner(r, parent, parent_start);
			nmr_registry_close(r);
		}
		_exit(0);
	}
	reg->watchdog_pid = pid;
	return 0;
}

/* ---- registration ---- */

static void modules_close(struct nmr_registry *reg);

/* A change this process made, told by the layers below in the middle of their command. */
static void changed(struct nmr_registry *reg)
{
	reconcile(reg, false);
}

/* How the layers below tell this one: a change of this process, a handle closing. */
static const struct nmr_observer live_observer = {
	.changed = changed,
	.closing = modules_close,
};

static int add_module(struct nmr_registry *reg, struct nmr_module *m)
{
	int err = start_watchdog(reg);

	if (!err)
		err = start_watcher(reg);
	if (err)
		return err;
	m->reg = reg;
	m->next = reg->modules;
	reg->modules = m;
	reg->observer = &live_observer;
	return 0;
}

int nmr_client_module_register(struct nmr_registry *reg,
			       const struct nmr_client_module_opts *user_opts,
			       struct nmr_module **out)
{
	struct nmr_client_module_opts o;
	const struct nmr_client_module_opts *opts = &o;
	struct nmr_client_record rec;
	struct nmr_client_opts client;
	struct nmr_module *m;
	int err;

	err = NMR_OPTS_IMPORT(&o, user_opts, nmr_client_module_opts) ?:
	      NMR_OPTS_IMPORT(&client, o.client, nmr_client_opts);
	if (err)
		return err;
	o.client = NULL;	/* the caller's, not kept past this call */
	if (!opts->attach_provider)
		return nmr_error(-EINVAL, "register client module: attach_provider is required");
	m = calloc(1, sizeof(*m));
	if (!m)
		return nmr_error(-ENOMEM, "register client module: out of memory");
	m->kind = NMR_MODULE_CLIENT;
	m->c = *opts;
	if (opts->dispatch)
		m->dispatch = *opts->dispatch;
	err = nmr_lock(reg, true);
	if (err) {
		free(m);
		return err;
	}
	err = nmr_client_register_owned(reg, &client, true, opts->persistent,
					m->dispatch.count ? m->dispatch.prog_fds[0] : -1, &rec);
	if (!err) {
		m->id = rec.id;
		err = add_module(reg, m);
		if (err)
			nmr_client_deregister(reg, rec.name);
	}
	if (err) {
		free(m);
	} else {
		reconcile(reg, true);	/* NMR: attach_provider for every provider there is */
		*out = m;
	}
	nmr_unlock(reg);
	return err;
}

int nmr_provider_module_register(struct nmr_registry *reg,
				 const struct nmr_provider_module_opts *user_opts,
				 struct nmr_module **out)
{
	struct nmr_provider_module_opts o;
	const struct nmr_provider_module_opts *opts = &o;
	struct nmr_provider_record rec;
	struct nmr_provider_opts provider;
	struct nmr_module *m;
	int err;

	err = NMR_OPTS_IMPORT(&o, user_opts, nmr_provider_module_opts) ?:
	      NMR_OPTS_IMPORT(&provider, o.provider, nmr_provider_opts);
	if (err)
		return err;
	o.provider = NULL;	/* the caller's, not kept past this call */
	if (!opts->attach_client)
		return nmr_error(-EINVAL, "register provider module: attach_client is required");
	m = calloc(1, sizeof(*m));
	if (!m)
		return nmr_error(-ENOMEM, "register provider module: out of memory");
	m->kind = NMR_MODULE_PROVIDER;
	m->p = *opts;
	err = nmr_lock(reg, true);
	if (err) {
		free(m);
		return err;
	}
	err = nmr_provider_register_owned(reg, &provider, true, opts->persistent, &rec);
	if (!err) {
		m->id = rec.id;
		err = add_module(reg, m);
		if (err)
			nmr_provider_deregister(reg, rec.name);
	}
	if (err) {
		free(m);
	} else {
		reconcile(reg, true);	/* attach_client for every declarative client there is */
		*out = m;
	}
	nmr_unlock(reg);
	return err;
}

int nmr_module_deregister(struct nmr_module *m)
{
	struct nmr_registry *reg = m->reg;
	char guid[NMR_GUID_STR_LEN];
	int err = nmr_lock(reg, true);

	if (err)
		return err;
	if (m->deregistering) {
		nmr_unlock(reg);
		return 0;
	}
	m->deregistering = true;
	for (struct nmr_binding *b = reg->live, *next; b; b = next) {
		next = b->next;
		if ((b->cm == m || b->pm == m) && (b->phase == BOUND || b->phase == ACCEPTED))
			detach(b, true);
	}
	nmr_guid_format(&m->id, guid);
	err = m->kind == NMR_MODULE_CLIENT ? nmr_client_deregister(reg, guid)
					   : nmr_provider_deregister(reg, guid);
	nmr_unlock(reg);
	return err;
}

static bool module_busy(struct nmr_module *m)
{
	for (struct nmr_binding *b = m->reg->live; b; b = b->next)
		if (b->cm == m || b->pm == m)
			return true;
	return false;
}

int nmr_module_wait(struct nmr_module *m)
{
	struct nmr_registry *reg = m->reg;
	bool busy = true;

	while (busy) {
		struct timespec ts;
		__u64 gen;

		/* the generation first: a binding that finishes after it is not missed */
		pthread_mutex_lock(&reg->wait_mutex);
		gen = reg->wait_gen;
		pthread_mutex_unlock(&reg->wait_mutex);
		nmr_lock(reg, true);
		busy = module_busy(m);
		if (!busy) {
			for (struct nmr_module **pp = &reg->modules; *pp; pp = &(*pp)->next) {
				if (*pp == m) {
					*pp = m->next;
					break;
				}
			}
		}
		nmr_unlock(reg);
		if (!busy)
			break;
		/* woken when a binding finishes; the timeout only guards a lost wakeup */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&reg->wait_mutex);
		while (reg->wait_gen == gen &&
		       pthread_cond_timedwait(&reg->wait_cond, &reg->wait_mutex, &ts) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&reg->wait_mutex);
	}
	free(m);
	return 0;
}

/* Closing the registry: the watcher stops; modules still registered stay to the watchdog. */
static void modules_close(struct nmr_registry *reg)
{
	__u64 one = 1;

	if (reg->watching) {
		if (write(reg->stop_fd, &one, sizeof(one)) != sizeof(one))
			pthread_cancel(reg->watcher);
		pthread_join(reg->watcher, NULL);
		reg->watching = false;
	}
	if (reg->inotify_fd > 0)
		close(reg->inotify_fd);
	if (reg->stop_fd > 0)
		close(reg->stop_fd);
	/*
	 * The BPF bindings stay (the watchdog or the modules' deregistration removes them);
	 * what the modules gave this process for them goes with it.
	 */
	for (struct nmr_binding *b = reg->live, *next; b; b = next) {
		next = b->next;
		if (b->phase == BOUND && b->cm && b->cm->c.cleanup_binding_context)
			b->cm->c.cleanup_binding_context(b->client_ctx);
		if ((b->phase == BOUND || b->phase == ACCEPTED) && b->pm && b->provider_accepted &&
		    b->pm->p.cleanup_binding_context)
			b->pm->p.cleanup_binding_context(b->provider_ctx);
		binding_free(b);
	}
	for (struct nmr_module *m = reg->modules, *next; m; m = next) {
		next = m->next;
		free(m);
	}
	reg->live = NULL;
	reg->modules = NULL;
}
