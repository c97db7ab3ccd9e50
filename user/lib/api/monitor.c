// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The change stream: registry events as they happen, made by any process.
 *
 * Nothing polls. inotify on the root and its object directories wakes the
 * monitor: pins come and go with most changes, and every change bumps the
 * generation, which touches the root (store/meta.c). The monitor then reads
 * the records under the registry's shared lock, so it sees each change whole,
 * and tells what differs from the last reading. A live module's owner is
 * watched through a pidfd, which becomes readable when the process ends.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "api/api.h"

#define MAX_OWNERS 64

struct owner_watch {
	__u32 pid;
	__u64 start_time;
	int fd;
};

struct monitor {
	struct nmr_registry *reg;
	nmr_event_fn fn;
	void *ctx;
	struct nmr_snapshot now;
	struct owner_watch owners[MAX_OWNERS];
	size_t nowners;
	struct nmr_owner gone[MAX_OWNERS];	/* owners already reported */
	size_t ngone;
};

const char *nmr_event_name(enum nmr_event_kind kind)
{
	static const char *const names[] = {
		[NMR_EVENT_NPI_REGISTERED] = "npi-registered",
		[NMR_EVENT_NPI_DEREGISTERED] = "npi-deregistered",
		[NMR_EVENT_PROVIDER_REGISTERED] = "provider-registered",
		[NMR_EVENT_PROVIDER_REPLACED] = "provider-replaced",
		[NMR_EVENT_PROVIDER_DEREGISTERED] = "provider-deregistered",
		[NMR_EVENT_CLIENT_REGISTERED] = "client-registered",
		[NMR_EVENT_CLIENT_DEREGISTERED] = "client-deregistered",
		[NMR_EVENT_BINDING_BOUND] = "binding-bound",
		[NMR_EVENT_BINDING_DECLINED] = "binding-declined",
		[NMR_EVENT_BINDING_REMOVED] = "binding-removed",
		[NMR_EVENT_CHAIN_SWAPPED] = "chain-swapped",
		[NMR_EVENT_OWNER_GONE] = "owner-gone",
	};

	if ((unsigned int)kind >= ARRAY_SIZE(names) || !names[kind])
		return "unknown";
	return names[kind];
}

/* Every record starts with its GUID. */
static void *find_rec(const void *arr, size_t n, size_t size, const struct nmr_guid *id)
{
	for (size_t i = 0; i < n; i++)
		if (nmr_guid_equal((const struct nmr_guid *)((const char *)arr + i * size), id))
			return (char *)arr + i * size;
	return NULL;
}

#define FIND(arr, n, guid) find_rec((arr), (n), sizeof((arr)[0]), (guid))

static const char *provider_name(const struct nmr_snapshot *a, const struct nmr_snapshot *b,
				 const struct nmr_guid *id)
{
	const struct nmr_provider_record *p = FIND(a->provs, a->np, id);

	if (!p && b)
		p = FIND(b->provs, b->np, id);
	return p ? p->name : "?";
}

static const char *client_name(const struct nmr_snapshot *a, const struct nmr_snapshot *b,
			       const struct nmr_guid *id)
{
	const struct nmr_client_record *c = FIND(a->clients, a->nc, id);

	if (!c && b)
		c = FIND(b->clients, b->nc, id);
	return c ? c->name : "?";
}

static int emit(struct monitor *m, struct nmr_event *ev)
{
	ev->generation = m->now.generation;
	return m->fn(ev, m->ctx);
}

static int emit_binding(struct monitor *m, const struct nmr_snapshot *a, const struct nmr_snapshot *b,
			const struct nmr_binding_record *r, enum nmr_event_kind kind)
{
	struct nmr_event ev = { .kind = kind, .id = r->id };

	ev.client = client_name(a, b, &r->client);
	ev.provider = provider_name(a, b, &r->provider);
	ev.position = r->position;
	if (kind == NMR_EVENT_BINDING_DECLINED)
		ev.reason = r->reason;
	return emit(m, &ev);
}

static int emit_chain(struct monitor *m, const struct nmr_snapshot *s,
		      const struct nmr_client_record *c, __u64 old_gen)
{
	const char *chain[NMR_MAX_CHAIN];
	struct nmr_event ev = { .kind = NMR_EVENT_CHAIN_SWAPPED, .id = c->id, .name = c->name };
	size_t n = 0;

	for (__u32 pos = 0; pos < NMR_MAX_CHAIN; pos++)
		for (size_t i = 0; i < s->nb; i++)
			if (s->binds[i].state == NMR_BINDING_BOUND && s->binds[i].position == pos &&
			    nmr_guid_equal(&s->binds[i].client, &c->id) && n < NMR_MAX_CHAIN)
				chain[n++] = provider_name(s, NULL, &s->binds[i].provider);
	ev.client = c->name;
	ev.old_generation = old_gen;
	ev.new_generation = c->generation;
	ev.chain = chain;
	ev.chain_len = n;
	return emit(m, &ev);
}

/* Everything that differs between the last reading (old) and this one (m->now). */
static int diff(struct monitor *m, const struct nmr_snapshot *old)
{
	const struct nmr_snapshot *s = &m->now;
	int err = 0;

	for (size_t i = 0; !err && i < s->nn; i++)
		if (!FIND(old->npis, old->nn, &s->npis[i].id))
			err = emit(m, &(struct nmr_event){ .kind = NMR_EVENT_NPI_REGISTERED,
							   .id = s->npis[i].id,
							   .name = s->npis[i].name });
	for (size_t i = 0; !err && i < s->np; i++) {
		const struct nmr_provider_record *o = FIND(old->provs, old->np, &s->provs[i].id);
		struct nmr_event ev = { .id = s->provs[i].id, .name = s->provs[i].name,
					.provider = s->provs[i].name };

		if (!o)
			ev.kind = NMR_EVENT_PROVIDER_REGISTERED;
		else if (o->prog_id != s->provs[i].prog_id)
			ev.kind = NMR_EVENT_PROVIDER_REPLACED;
		else
			continue;
		err = emit(m, &ev);
	}
	for (size_t i = 0; !err && i < s->nc; i++)
		if (!FIND(old->clients, old->nc, &s->clients[i].id))
			err = emit(m, &(struct nmr_event){ .kind = NMR_EVENT_CLIENT_REGISTERED,
							   .id = s->clients[i].id,
							   .name = s->clients[i].name,
							   .client = s->clients[i].name });
	for (size_t i = 0; !err && i < s->nb; i++) {
		const struct nmr_binding_record *o = FIND(old->binds, old->nb, &s->binds[i].id);
		const struct nmr_binding_record *b = &s->binds[i];

		if (o && o->state == b->state)
			continue;
		err = emit_binding(m, s, old, b, b->state == NMR_BINDING_BOUND ?
				   NMR_EVENT_BINDING_BOUND : NMR_EVENT_BINDING_DECLINED);
	}
	for (size_t i = 0; !err && i < s->nc; i++) {
		const struct nmr_client_record *o = FIND(old->clients, old->nc, &s->clients[i].id);
		__u64 before = o ? o->generation : 0;

		if (s->clients[i].generation != before)
			err = emit_chain(m, s, &s->clients[i], before);
	}
	for (size_t i = 0; !err && i < old->nb; i++)
		if (!FIND(s->binds, s->nb, &old->binds[i].id))
			err = emit_binding(m, old, s, &old->binds[i], NMR_EVENT_BINDING_REMOVED);
	for (size_t i = 0; !err && i < old->nc; i++)
		if (!FIND(s->clients, s->nc, &old->clients[i].id))
			err = emit(m, &(struct nmr_event){ .kind = NMR_EVENT_CLIENT_DEREGISTERED,
							   .id = old->clients[i].id,
							   .name = old->clients[i].name,
							   .client = old->clients[i].name });
	for (size_t i = 0; !err && i < old->np; i++)
		if (!FIND(s->provs, s->np, &old->provs[i].id))
			err = emit(m, &(struct nmr_event){ .kind = NMR_EVENT_PROVIDER_DEREGISTERED,
							   .id = old->provs[i].id,
							   .name = old->provs[i].name,
							   .provider = old->provs[i].name });
	for (size_t i = 0; !err && i < old->nn; i++)
		if (!FIND(s->npis, s->nn, &old->npis[i].id))
			err = emit(m, &(struct nmr_event){ .kind = NMR_EVENT_NPI_DEREGISTERED,
							   .id = old->npis[i].id,
							   .name = old->npis[i].name });
	return err;
}

static bool owner_reported(struct monitor *m, const struct nmr_owner *o)
{
	for (size_t i = 0; i < m->ngone; i++)
		if (m->gone[i].pid == o->pid && m->gone[i].start_time == o->start_time)
			return true;
	return false;
}

/* A pidfd for every live owner of a record: readable when the process ends. */
static void watch_owners(struct monitor *m)
{
	const struct nmr_snapshot *s = &m->now;

	for (size_t i = 0; i < s->np + s->nc; i++) {
		const struct nmr_owner *o = i < s->np ? &s->provs[i].owner
						      : &s->clients[i - s->np].owner;
		bool known = false;
		int fd;

		if (!o->pid || owner_reported(m, o))
			continue;
		for (size_t j = 0; j < m->nowners && !known; j++)
			known = m->owners[j].pid == o->pid &&
				m->owners[j].start_time == o->start_time;
		if (known || m->nowners == MAX_OWNERS)
			continue;
		fd = syscall(SYS_pidfd_open, o->pid, 0);
		if (fd < 0 && errno != ESRCH)
			continue;
		m->owners[m->nowners++] = (struct owner_watch){ .pid = o->pid,
								.start_time = o->start_time,
								.fd = fd };
	}
}

/* The owner ended (or was gone already): one event for each module it had. */
static int owner_gone(struct monitor *m, size_t w)
{
	struct owner_watch ow = m->owners[w];
	const struct nmr_snapshot *s = &m->now;
	int err = 0;

	if (ow.fd >= 0)
		close(ow.fd);
	m->owners[w] = m->owners[--m->nowners];
	if (m->ngone == MAX_OWNERS)
		memmove(m->gone, m->gone + 1, --m->ngone * sizeof(m->gone[0]));
	m->gone[m->ngone++] = (struct nmr_owner){ .pid = ow.pid, .start_time = ow.start_time };
	for (size_t i = 0; !err && i < s->np + s->nc; i++) {
		bool prov = i < s->np;
		const struct nmr_owner *o = prov ? &s->provs[i].owner
						 : &s->clients[i - s->np].owner;
		struct nmr_event ev = { .kind = NMR_EVENT_OWNER_GONE, .pid = ow.pid };

		if (o->pid != ow.pid || o->start_time != ow.start_time)
			continue;
		ev.id = prov ? s->provs[i].id : s->clients[i - s->np].id;
		ev.name = prov ? s->provs[i].name : s->clients[i - s->np].name;
		ev.module_kind = prov ? NMR_MODULE_PROVIDER : NMR_MODULE_CLIENT;
		err = emit(m, &ev);
	}
	return err;
}

static int add_watches(struct nmr_registry *reg, int fd)
{
	const char *dirs[] = { "", NMR_PROVIDERS_DIR, NMR_CLIENTS_DIR, NMR_BINDINGS_DIR };
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		__u32 mask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM;

		if (nmr_path(reg, path, sizeof(path), "%s", dirs[i]))
			return -ENAMETOOLONG;
		if (!dirs[i][0])
			mask |= IN_ATTRIB | IN_DELETE_SELF;	/* the generation's doorbell */
		if (inotify_add_watch(fd, path, mask) < 0)
			return nmr_error(-errno, "monitor: watch %s: %s", path, strerror(errno));
	}
	return 0;
}

int nmr_monitor(struct nmr_registry *reg, int stop_fd, nmr_event_fn fn, void *ctx)
{
	struct monitor *m;
	int ifd, err;

	if (reg->empty)
		return nmr_error(-ENOENT, "monitor: no registry under %s", reg->root);
	m = calloc(1, sizeof(*m));
	if (!m)
		return nmr_error(-ENOMEM, "monitor: out of memory");
	m->reg = reg;
	m->fn = fn;
	m->ctx = ctx;
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0) {
		free(m);
		return nmr_error(-errno, "monitor: inotify: %s", strerror(errno));
	}
	/* watches first, then the first reading: no change falls between them */
	err = add_watches(reg, ifd);
	if (!err)
		err = nmr_snapshot_take(reg, &m->now);
	while (!err) {
		struct pollfd fds[2 + MAX_OWNERS];
		bool destroyed = false;
		size_t n = 0;

		watch_owners(m);
		fds[n++] = (struct pollfd){ .fd = ifd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
		for (size_t i = 0; i < m->nowners; i++)
			fds[n++] = (struct pollfd){ .fd = m->owners[i].fd, .events = POLLIN };
		/* an owner whose pidfd could not be opened had ended already */
		for (size_t i = 0; !err && i < m->nowners; i++)
			if (m->owners[i].fd < 0)
				err = owner_gone(m, i--);
		if (err || n != 2 + m->nowners)
			continue;
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = nmr_error(-errno, "monitor: poll: %s", strerror(errno));
			break;
		}
		if (stop_fd >= 0 && fds[1].revents)
			break;
		for (size_t i = m->nowners; !err && i-- > 0;)
			if (fds[2 + i].revents)
				err = owner_gone(m, i);
		if (fds[0].revents & POLLIN) {
			char buf[4096] __attribute__((aligned(8)));
			struct nmr_snapshot old = m->now;
			ssize_t len;

			while ((len = read(ifd, buf, sizeof(buf))) > 0)
				for (char *p = buf; p < buf + len;) {
					struct inotify_event *ie = (struct inotify_event *)p;

					destroyed |= ie->mask & (IN_DELETE_SELF | IN_IGNORED);
					p += sizeof(*ie) + ie->len;
				}
			err = err ?: nmr_snapshot_take(reg, &m->now);
			if (err) {
				m->now = old;
				break;
			}
			err = diff(m, &old);
			nmr_snapshot_free(&old);
		}
		if (!err && destroyed)
			err = nmr_error(-ENOENT, "monitor: the registry %s was destroyed",
					reg->root);
	}
	for (size_t i = 0; i < m->nowners; i++)
		if (m->owners[i].fd >= 0)
			close(m->owners[i].fd);
	nmr_snapshot_free(&m->now);
	close(ifd);
	free(m);
	return err;
}
