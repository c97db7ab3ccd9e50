// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The registry root: bpffs, the lock that serializes registrars, the pinned
 * registry maps and their meta. The lock runs the engine's recovery (the hook
 * given to nmr_store_open) when it finds that its last holder died.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "store/store.h"
#include "registry.skel.h"

#define BPFFS_MOUNT "/sys/fs/bpf"

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* The rights every command needs, said once: what a user without them must get. */
#define NMR_RIGHTS "run it as root, or with CAP_BPF and CAP_NET_ADMIN and access to"

static int denied(int err, const char *root, const char *what)
{
	return nmr_error(err, "%s: permission denied: %s %s", what, NMR_RIGHTS, root);
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

/*
 * Without the rights, bpffs and the bpf() calls answer as if nothing were registered (an
 * unreadable directory looks empty): the caller must hear that it lacks them instead.
 */
static int check_rights(const char *root)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, d))
		return 0;	/* cannot tell: the calls below will say */
	if ((has_cap(d, CAP_BPF) || has_cap(d, CAP_SYS_ADMIN)) && has_cap(d, CAP_NET_ADMIN))
		return 0;
	return denied(-EPERM, root, "registry");
}

/* Our machines do not mount bpffs at boot: mount it where it belongs. */
static int ensure_bpffs(const char *root)
{
	char path[PATH_MAX];
	int err;

	if (!strncmp(root, BPFFS_MOUNT, strlen(BPFFS_MOUNT)) && !is_bpffs(BPFFS_MOUNT)) {
		if (mount("bpf", BPFFS_MOUNT, "bpf", 0, "mode=0700"))
			return nmr_error(-errno, "mount bpffs on %s: %s", BPFFS_MOUNT,
					 strerror(errno));
	}
	/* mkdir -p, each component */
	snprintf(path, sizeof(path), "%s", root);
	for (char *p = path + 1; *p; p++) {
		int err;

		if (*p != '/')
			continue;
		*p = 0;
		err = nmr_mkdir(path);
		if (err)
			return err;
		*p = '/';
	}
	err = nmr_mkdir(path);
	if (err)
		return err;
	if (!is_bpffs(root))
		return nmr_error(-EINVAL, "registry root %s: not on a bpf filesystem "
				 "(mount one with: mount -t bpf bpf DIR)", root);
	return 0;
}

int nmr_path(const struct nmr_registry *reg, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, len, "%s/", reg->root);

	va_start(ap, fmt);
	n += vsnprintf(buf + n, len > (size_t)n ? len - n : 0, fmt, ap);
	va_end(ap);
	if ((size_t)n >= len)
		return nmr_error(-ENAMETOOLONG, "path under %s too long", reg->root);
	return 0;
}

static int lock_taken(struct nmr_registry *reg, bool exclusive);

/*
 * Whether the root this process locked is still the live registry: a registry destroy
 * that held the lock before us removes the root (or, in a root shared with other tools, at
 * least its meta pin). A registrar that went on would write records nobody can see.
 */
static int check_live(struct nmr_registry *reg)
{
	char path[PATH_MAX];
	struct stat a, b;
	int fd;
	__u32 id;

	if (fstat(reg->root_fd, &a) || stat(reg->root, &b) || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return -ESTALE;
	if (!reg->meta_id)
		return 0;	/* opening: the maps are not ours yet */
	snprintf(path, sizeof(path), "%s/meta", reg->root);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -ESTALE;
	id = nmr_map_id(fd);
	close(fd);
	return id == reg->meta_id ? 0 : -ESTALE;
}

static int open_maps(struct nmr_registry *reg)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = reg->root);
	struct nmr_registry_meta meta = {};
	__u32 zero = 0;
	int err;

	reg->maps = registry_bpf__open_opts(&opts);
	if (!reg->maps)
		return nmr_error(-errno, "open registry maps: %s", strerror(errno));
	err = registry_bpf__load(reg->maps);
	if (err == -EACCES || err == -EPERM)
		return denied(err, reg->root, "open registry maps");
	if (err)
		return nmr_error(err, "create registry maps under %s: %s (a registry of "
				 "another nmr-bpf version? remove it with "
				 "'nmr-bpf registry destroy')",
				 reg->root, strerror(-err));
	reg->meta_fd = bpf_map__fd(reg->maps->maps.meta);
	reg->npis_fd = bpf_map__fd(reg->maps->maps.npis);
	reg->providers_fd = bpf_map__fd(reg->maps->maps.providers);
	reg->clients_fd = bpf_map__fd(reg->maps->maps.clients);
	reg->bindings_fd = bpf_map__fd(reg->maps->maps.bindings);
	reg->binding_contexts_fd = bpf_map__fd(reg->maps->maps.binding_contexts);

	if (bpf_map_lookup_elem(reg->meta_fd, &zero, &meta))
		return nmr_error(-errno, "read registry meta: %s", strerror(errno));
	reg->meta_id = nmr_map_id(reg->meta_fd);
	/*
	 * Version 0: the maps were made by a command killed before it wrote the meta
	 * (no nmr-bpf ever wrote 0): the registry is new and empty, and whoever opens
	 * it next finishes making it, a reader too.
	 */
	if (meta.abi_version == 0) {
		meta.abi_version = NMR_ABI_VERSION;
		meta.next_number = 1;
		if (bpf_map_update_elem(reg->meta_fd, &zero, &meta, BPF_ANY))
			return nmr_error(-errno, "write registry meta: %s", strerror(errno));
	} else if (meta.abi_version != NMR_ABI_VERSION) {
		return nmr_error(-EPROTO, "registry %s has layout version %u, this nmr-bpf "
				 "uses %u: deregister its objects with the nmr-bpf that made it, "
				 "or remove it with 'nmr-bpf registry destroy'", reg->root,
				 meta.abi_version, NMR_ABI_VERSION);
	}
	return 0;
}

int nmr_store_open(const char *root, unsigned int flags, nmr_recover_fn recover,
		   struct nmr_registry **out)
{
	pthread_mutexattr_t attr;
	struct nmr_registry *reg;
	char meta_path[PATH_MAX];
	int err, tries = 0;

	if (!root || !root[0])
		root = getenv(NMR_ROOT_ENV);
	if (!root || !root[0])
		root = NMR_DEFAULT_ROOT;
	if (root[0] != '/')
		return nmr_error(-EINVAL, "registry root %s: must be an absolute path", root);

	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return nmr_error(-ENOMEM, "open registry: out of memory");
	reg->root_fd = -1;
	reg->inotify_fd = reg->stop_fd = -1;
	pthread_mutex_init(&reg->wait_mutex, NULL);
	pthread_cond_init(&reg->wait_cond, NULL);
	reg->flags = flags;
	reg->recover = recover;
	snprintf(reg->root, sizeof(reg->root), "%s", root);
	for (size_t n = strlen(reg->root); n > 1 && reg->root[n - 1] == '/'; n--)
		reg->root[n - 1] = 0;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&reg->mutex, &attr);
	pthread_mutexattr_destroy(&attr);

	err = check_rights(reg->root);
	if (err)
		goto fail;
again:
	if (flags & NMR_REGISTRY_NO_CREATE) {
		snprintf(meta_path, sizeof(meta_path), "%s/meta", reg->root);
		if (access(meta_path, F_OK)) {
			if (errno == EACCES || errno == EPERM) {
				err = denied(-errno, reg->root, reg->root);
				goto fail;
			}
			reg->empty = true;
			*out = reg;
			return 0;
		}
		if (!is_bpffs(reg->root)) {
			err = nmr_error(-EINVAL, "registry root %s: not on a bpf filesystem, so "
					"not a registry: nothing was changed (give the registry's "
					"directory in bpffs with --root)", reg->root);
			goto fail;
		}
	} else {
		err = ensure_bpffs(reg->root);
		if (err)
			goto fail;
	}
	reg->root_fd = open(reg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (reg->root_fd < 0) {
		err = errno == EACCES || errno == EPERM ? denied(-errno, reg->root, reg->root) :
		      nmr_error(-errno, "open registry root %s: %s", reg->root, strerror(errno));
		goto fail;
	}
	err = nmr_lock(reg, !(flags & NMR_REGISTRY_NO_CREATE));
	if (err == -ESTALE && ++tries < 5) {
		/* destroyed while we waited for it: the next one is a new registry */
		close(reg->root_fd);
		reg->root_fd = -1;
		goto again;
	}
	if (err)
		goto fail;
	err = open_maps(reg);
	if (!err)
		err = lock_taken(reg, !(flags & NMR_REGISTRY_NO_CREATE));
	if (!err && !(flags & NMR_REGISTRY_NO_CREATE)) {
		char dir[PATH_MAX];
		const char *dirs[] = { NMR_PROVIDERS_DIR, NMR_CLIENTS_DIR, NMR_BINDINGS_DIR };

		for (size_t i = 0; !err && i < ARRAY_SIZE(dirs); i++) {
			err = nmr_path(reg, dir, sizeof(dir), "%s", dirs[i]);
			if (!err)
				err = nmr_mkdir(dir);
		}
	}
	nmr_unlock(reg);
	if (err)
		goto fail;
	*out = reg;
	return 0;
fail:
	nmr_store_close(reg);
	return err;
}

void nmr_store_close(struct nmr_registry *reg)
{
	if (!reg)
		return;
	while (reg->lock_depth > 0)	/* a caller's nmr_registry_lock() still held */
		nmr_unlock(reg);
	registry_bpf__destroy(reg->maps);
	if (reg->root_fd >= 0)
		close(reg->root_fd);
	pthread_mutex_destroy(&reg->mutex);
	pthread_mutex_destroy(&reg->wait_mutex);
	pthread_cond_destroy(&reg->wait_cond);
	free(reg);
}

const char *nmr_registry_root(const struct nmr_registry *reg)
{
	return reg->root;
}

__u64 nmr_registry_last_swap_ns(const struct nmr_registry *reg)
{
	return reg->last_swap_ns;
}

/*
 * The registry lock, in two parts: a flock of the root directory between
 * processes, a recursive mutex between the threads of one. Taking it first
 * finishes or undoes what a killed holder left (recover.c); an exclusive
 * holder marks the registry busy until it lets go, and waits, once, before
 * it does, until no packet can still run code that its changes removed.
 */
static int lock_taken(struct nmr_registry *reg, bool exclusive)
{
	struct nmr_registry_meta meta;
	__u32 zero = 0;
	int err = 0;

	if (!reg->maps || bpf_map_lookup_elem(reg->meta_fd, &zero, &meta))
		return 0;
	if (meta.intent.op != NMR_INTENT_NONE) {
		/* the lock was free: whoever marked it died */
		if (!exclusive && flock(reg->root_fd, LOCK_EX))
			return nmr_error(-errno, "lock registry %s: %s", reg->root,
					 strerror(errno));
		err = reg->recover ? reg->recover(reg) : 0;
		if (!err && !exclusive)
			nmr_intent_end(reg);
		if (!exclusive)
			flock(reg->root_fd, LOCK_SH);
	}
	if (!err && exclusive)
		err = nmr_intent_begin(reg, NMR_INTENT_CHANGE, NULL);
	if (!err)
		nmr_registry_generation(reg, &reg->generation_at_lock);
	return err;
}

int nmr_lock(struct nmr_registry *reg, bool exclusive)
{
	int err;

	pthread_mutex_lock(&reg->mutex);
	if (reg->lock_depth++ == 0 && reg->root_fd >= 0) {
		while (flock(reg->root_fd, exclusive ? LOCK_EX : LOCK_SH)) {
			if (errno == EINTR)
				continue;
			err = nmr_error(-errno, "lock registry %s: %s", reg->root,
					strerror(errno));
			goto fail;
		}
		reg->lock_exclusive = exclusive;
		reg->wait_owed = false;
		err = check_live(reg);
		if (err)
			err = nmr_error(err, "registry %s was destroyed while this command waited "
					"for it; nothing was changed: run the command again",
					reg->root);
		else
			err = lock_taken(reg, exclusive);
		if (err) {
			flock(reg->root_fd, LOCK_UN);
			goto fail;
		}
	}
	return 0;
fail:
	reg->lock_depth--;
	pthread_mutex_unlock(&reg->mutex);
	return err;
}

void nmr_unlock(struct nmr_registry *reg)
{
	if (--reg->lock_depth == 0 && reg->root_fd >= 0) {
		/*
		 * If the wait fails (no memory), or the command could not finish
		 * what it started, the registry stays marked: the next command
		 * recovers, and recovery waits first.
		 */
		if (reg->wait_owed && nmr_wait_for_readers() && nmr_wait_for_readers())
			reg->unfinished = true;
		reg->wait_owed = false;
		if (reg->lock_exclusive && reg->maps) {
			if (!reg->unfinished)
				nmr_intent_end(reg);
			reg->unfinished = false;
			/*
			 * What this process changed, its watcher need not meet
			 * again; unless another process changed the registry
			 * before this one took the lock, unseen yet.
			 */
			if (reg->generation_at_lock == reg->seen_generation)
				nmr_registry_generation(reg, &reg->seen_generation);
		}
		flock(reg->root_fd, LOCK_UN);
	}
	pthread_mutex_unlock(&reg->mutex);
}

/*
 * Lets go of the lock however deep this thread holds it, for a wait on another
 * process that needs it; nmr_lock_retake() takes it back as deep. What was read
 * under it may have changed meanwhile: the caller reads again.
 */
void nmr_lock_let_go(struct nmr_registry *reg, struct nmr_lock_held *held)
{
	held->depth = reg->lock_depth;
	held->exclusive = reg->lock_exclusive;
	for (int i = 0; i < held->depth; i++)
		nmr_unlock(reg);
}

void nmr_lock_retake(struct nmr_registry *reg, const struct nmr_lock_held *held)
{
	for (int i = 0; i < held->depth; i++) {
		if (!nmr_lock(reg, held->exclusive))
			continue;
		/* the registry went meanwhile: held as deep all the same, by this process only */
		pthread_mutex_lock(&reg->mutex);
		reg->lock_depth++;
	}
}

const struct btf *nmr_registry_btf(const struct nmr_registry *reg)
{
	return reg->maps ? bpf_object__btf(reg->maps->obj) : NULL;
}

void nmr_changed(struct nmr_registry *reg)
{
	if (reg->observer && reg->observer->changed)
		reg->observer->changed(reg);
}

/*
 * The names nmr-bpf makes at the top of a root: the registry maps (registry.bpf.c) and one
 * directory per kind of object, whose entries are named by GUID. A root may be shared with
 * other tools: destroy removes these names and nothing else.
 */
static const char *const registry_pins[] = {
	"meta", "npis", "providers", "clients", "bindings", "binding_contexts",
};
static const char *const registry_dirs[] = {
	NMR_CLIENTS_DIR, NMR_BINDINGS_DIR, NMR_PROVIDERS_DIR, NMR_NPIS_DIR,
};

void nmr_problem(struct nmr_problems *r, int err, const char *fmt, ...)
{
	size_t used = strlen(r->msg);
	va_list ap;

	if (!r->err)
		r->err = err;
	if (r->count++)
		used += snprintf(r->msg + used, used < sizeof(r->msg) ? sizeof(r->msg) - used : 0,
				 "; ");
	va_start(ap, fmt);
	if (used < sizeof(r->msg))
		vsnprintf(r->msg + used, sizeof(r->msg) - used, fmt, ap);
	va_end(ap);
}

/* Removes the names nmr-bpf made under root; foreign names stay, and so then does root. */
static void remove_known(const char *root, struct nmr_problems *r)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct dirent *de;
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(registry_dirs); i++) {
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s", root, registry_dirs[i]);
		d = opendir(path);
		if (!d) {
			if (errno != ENOENT)
				nmr_problem(r, -errno, "%s: %s", path, strerror(errno));
			continue;
		}
		while ((de = readdir(d))) {
			struct nmr_guid id;
			char sub[sizeof(path) + NAME_MAX + 1];

			if (nmr_guid_parse(de->d_name, &id))
				continue;	/* not an object of ours */
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			err = nmr_unpin_tree(sub);
			if (err)
				nmr_problem(r, err, "%s: %s", sub, strerror(-err));
		}
		closedir(d);
		if (rmdir(path) && errno != ENOENT && errno != ENOTEMPTY)
			nmr_problem(r, -errno, "%s: %s", path, strerror(errno));
	}
	for (size_t i = 0; i < ARRAY_SIZE(registry_pins); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, registry_pins[i]);
		if (unlink(path) && errno != ENOENT)
			nmr_problem(r, -errno, "%s: %s", path, strerror(errno));
	}
	/* Another tool's pins keep the root (and are theirs to remove). */
	if (rmdir(root) && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
		nmr_problem(r, -errno, "%s: %s", root, strerror(errno));
}

/* destroy removes pins: never an ordinary directory that only looks like a registry. */
int nmr_store_destroyable(const char *root)
{
	struct stat st;

	if (lstat(root, &st))
		return errno == ENOENT ? 0 : nmr_error(-errno, "destroy registry %s: %s", root,
							strerror(errno));
	if (!S_ISDIR(st.st_mode) || !is_bpffs(root))
		return nmr_error(-EINVAL, "destroy registry %s: not a directory on a bpf "
				 "filesystem, so not a registry: nothing removed (give the "
				 "registry's root in bpffs with --root)", root);
	return 0;
}

/*
 * The registry's own maps and every name it made under its root. The meta pin goes with
 * the rest: a registrar waiting for the lock sees that the root it locked is no longer the
 * live registry (check_live) and fails cleanly.
 */
void nmr_store_remove(struct nmr_registry *reg, struct nmr_problems *r)
{
	registry_bpf__destroy(reg->maps);
	reg->maps = NULL;
	remove_known(reg->root, r);
	reg->empty = true;
}

/*
 * Removes a registry without reading its maps (one this build cannot open): detaches every
 * client's pinned link, then removes the names nmr-bpf makes, under the registry's lock.
 */
int nmr_registry_purge(const char *root)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct nmr_problems r = {};
	struct dirent *de;
	int err, fd;
	DIR *d;

	if (!root || !root[0])
		root = getenv(NMR_ROOT_ENV);
	if (!root || !root[0])
		root = NMR_DEFAULT_ROOT;
	err = check_rights(root) ?: nmr_store_destroyable(root);
	if (err)
		return err;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : nmr_error(-errno, "purge registry %s: %s", root,
							strerror(errno));
	while (flock(fd, LOCK_EX) && errno == EINTR)
		;
	snprintf(dir, sizeof(dir), "%s/%s", root, NMR_CLIENTS_DIR);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		struct nmr_guid id;
		int link;

		if (nmr_guid_parse(de->d_name, &id))
			continue;
		snprintf(path, sizeof(path), "%s/%s/" NMR_PIN_LINK, dir, de->d_name);
		link = bpf_obj_get(path);
		if (link >= 0) {
			if (bpf_link_detach(link))
				nmr_problem(&r, -errno, "detach %s: %s", path, strerror(errno));
			close(link);
		}
	}
	if (d)
		closedir(d);
	remove_known(root, &r);
	close(fd);
	if (r.err)
		return nmr_error(r.err, "purge registry %s: %d problem%s (the rest was removed): "
				 "%s", root, r.count, r.count > 1 ? "s" : "", r.msg);
	return 0;
}
