// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A provider's BPF object file, as given by a user: untrusted input.
 *
 * It is read whole before the registry lock is taken, so a FIFO, a device or a
 * slow file can never keep other registrars waiting; and libbpf 1.1 parses it
 * in a child process first, because a damaged ELF file can crash libbpf's
 * parser: a crash or a hang of the child becomes an error, not the caller's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "bpf/nmr_bpf.h"

int nmr_object_read(const char *path, void **out, size_t *size)
{
	struct stat st;
	size_t len, got = 0;
	char *buf;
	int fd;

	*out = NULL;
	*size = 0;
	/* O_NONBLOCK: opening a FIFO with no writer must not wait for one */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return nmr_error(-errno, "read %s: %s%s", path, strerror(errno),
				 errno == EACCES ? " (give a BPF object file you can read)" : "");
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return nmr_error(err, "read %s: %s", path, strerror(-err));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return nmr_error(S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
				 "read %s: %s, not a regular file: give the BPF object file "
				 "(clang -target bpf -c ... -o FILE.bpf.o)", path,
				 S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ?
				 "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : "a device");
	}
	if (st.st_size > NMR_OBJECT_MAX_SIZE) {
		close(fd);
		return nmr_error(-EFBIG, "read %s: %lld bytes, more than the %d MiB a BPF object "
				 "may have here (strip its debug info: llvm-strip -g)", path,
				 (long long)st.st_size, NMR_OBJECT_MAX_SIZE >> 20);
	}
	len = st.st_size;
	buf = malloc(len ? len : 1);
	if (!buf) {
		close(fd);
		return nmr_error(-ENOMEM, "read %s: out of memory", path);
	}
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			free(buf);
			close(fd);
			return nmr_error(err, "read %s: %s", path,
					 n < 0 ? strerror(errno) : "the file shrank while read");
		}
		got += n;
	}
	close(fd);
	if (len < 4 || memcmp(buf, "\177ELF", 4)) {
		free(buf);
		return nmr_error(-ENOEXEC, "register provider: %s is not a BPF object file (not "
				 "even ELF): give one built with clang -target bpf -c ... -o "
				 "FILE.bpf.o", path);
	}
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

int nmr_object_inspect_here(const void *buf, size_t size, const char *path, const char *want,
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

/* What the inspecting child hands back through its pipe. */
struct inspection {
	int err;
	char msg[1024];
	struct nmr_provider_record rec;
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Reads the child's answer until it is whole, the pipe closes or the deadline passes. */
static size_t read_answer(int fd, struct inspection *in, __u64 deadline)
{
	size_t got = 0;

	while (got < sizeof(*in)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		__u64 now = now_ms();
		ssize_t n;
		int r;

		if (now >= deadline)
			break;
		r = poll(&pfd, 1, deadline - now);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = read(fd, (char *)in + got, sizeof(*in) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

int nmr_object_inspect(const void *buf, size_t size, const char *path, const char *want,
		       const struct nmr_npi_record *npi, const char *const *slot_progs,
		       struct nmr_provider_record *rec)
{
	struct inspection *in;
	int pipefd[2], status = 0, err;
	size_t got;
	pid_t pid;

	in = calloc(1, sizeof(*in));
	if (!in)
		return nmr_error(-ENOMEM, "inspect %s: out of memory", path);
	if (pipe2(pipefd, O_CLOEXEC)) {
		free(in);
		return nmr_error(-errno, "inspect %s: %s", path, strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		err = nmr_error(-errno, "inspect %s: %s", path, strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		free(in);
		return err;
	}
	if (pid == 0) {
		/* a crash here is an answer: the process's own handlers (ASan's) must not run */
		static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

		for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
			signal(fatal[i], SIG_DFL);
		close(pipefd[0]);
		in->rec = *rec;
		in->err = nmr_object_inspect_here(buf, size, path, want, npi, slot_progs,
						  &in->rec);
		snprintf(in->msg, sizeof(in->msg), "%s", in->err ? nmr_last_error() : "");
		_exit(write_all(pipefd[1], in, sizeof(*in)) ? 1 : 0);
	}
	close(pipefd[1]);
	got = read_answer(pipefd[0], in, now_ms() + NMR_INSPECT_TIMEOUT_MS);
	close(pipefd[0]);
	if (got < sizeof(*in))
		kill(pid, SIGKILL);	/* hung, or crashed half-way: it is done either way */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got < sizeof(*in) || !WIFEXITED(status) || WEXITSTATUS(status)) {
		free(in);
		return nmr_error(-EBADMSG, "%s: malformed BPF object (libbpf %s; rebuild it with "
				 "clang -target bpf)", path,
				 WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL ?
				 "crashed parsing it" : got < sizeof(*in) ?
				 "did not finish parsing it in time" : "could not parse it");
	}
	err = in->err;
	if (err) {
		in->msg[sizeof(in->msg) - 1] = 0;
		nmr_error(err, "%s", in->msg);
	} else {
		*rec = in->rec;
	}
	free(in);
	return err;
}
