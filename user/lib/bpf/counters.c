// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A client's counters (client/<id>/stats): per CPU, per binding column, per
 * verdict, written by its chain and dispatcher, read and cleared in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "bpf/nmr_bpf.h"

_Static_assert(sizeof(struct nmr_chain_stats) == 1 << NMR_CHAIN_STATS_SHIFT, "stride");
_Static_assert(sizeof(struct nmr_chain_events) == 1 << NMR_CHAIN_EVENTS_SHIFT, "stride");

/*
 * client/<id>/stats: one array value, nmr_client_stats (nmr_abi.h), made
 * mmapable so that user space reads and clears a column in place (reading
 * and writing back the whole value would lose the counts that other columns
 * took in between). Its BTF: the part types from src (the registry's), with the
 * struct nmr_client_stats of this machine's CPU count made around them.
 */
int nmr_chain_stats_create(const struct btf *src)
{
	int ncpus = libbpf_num_possible_cpus(), fd, first, key, stats, events, a1, a2, st = -1;
	struct btf *btf = btf__new_empty();

	if (ncpus < 0 || !btf || !src) {
		btf__free(btf);
		return nmr_error(ncpus < 0 ? ncpus : -ENOMEM, "create chain counters: no BTF");
	}
	first = btf__add_btf(btf, src);
	key = btf__find_by_name_kind(btf, "__u32", BTF_KIND_TYPEDEF);
	stats = btf__find_by_name_kind(btf, "nmr_chain_stats", BTF_KIND_STRUCT);
	events = btf__find_by_name_kind(btf, "nmr_chain_events", BTF_KIND_STRUCT);
	if (first > 0 && key > 0 && stats > 0 && events > 0) {
		a1 = btf__add_array(btf, key, stats, ncpus);
		a2 = btf__add_array(btf, key, events, ncpus);
		st = btf__add_struct(btf, "nmr_client_stats", ncpus * sizeof(struct nmr_chain_parts));
		if (a1 < 0 || a2 < 0 || st < 0 || btf__add_field(btf, "cpu", a1, 0, 0) ||
		    btf__add_field(btf, "chain", a2,
				   ncpus * sizeof(struct nmr_chain_stats) * 8, 0))
			st = -1;
	}
	if (st < 0 || btf__load_into_kernel(btf)) {
		btf__free(btf);
		return nmr_error(-EINVAL, "create chain counters: make their BTF");
	}
	{
		LIBBPF_OPTS(bpf_map_create_opts, o, .btf_fd = btf__fd(btf), .btf_key_type_id = key,
			    .btf_value_type_id = st, .map_flags = BPF_F_MMAPABLE);

		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nmr_chain_stats", sizeof(__u32),
				    ncpus * sizeof(struct nmr_chain_parts), 1, &o);
	}
	btf__free(btf);
	if (fd < 0)
		return nmr_error(-errno, "create chain counters: %s", strerror(errno));
	return fd;
}

int nmr_chain_stats_cpus(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return nmr_error(-errno, "read counters: %s", strerror(errno));
	return info.value_size / sizeof(struct nmr_chain_parts);
}

/* The counters in this process's memory. munmap(*v, *size) when done. */
static int stats_map(int fd, bool write, void **v, int *ncpus, size_t *size)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	*ncpus = nmr_chain_stats_cpus(fd);
	if (*ncpus < 0)
		return *ncpus;
	*size = (*ncpus * sizeof(struct nmr_chain_parts) + page - 1) / page * page;
	p = mmap(NULL, *size, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return nmr_error(-errno, "map counters: %s", strerror(errno));
	*v = p;
	return 0;
}

int nmr_chain_stats_read(int fd, struct nmr_chain_stats *sum, struct nmr_chain_events *ev)
{
	struct nmr_chain_stats *cpu;
	struct nmr_chain_events *chain;
	size_t size;
	void *v;
	int ncpus, err;

	memset(sum, 0, sizeof(*sum));
	memset(ev, 0, sizeof(*ev));
	err = stats_map(fd, false, &v, &ncpus, &size);
	if (err)
		return err;
	cpu = v;
	chain = (struct nmr_chain_events *)(cpu + ncpus);
	for (int c = 0; c < ncpus; c++) {
		for (int b = 0; b < NMR_MAX_CHAIN; b++)
			for (int i = 0; i < NMR_VERDICT_SLOTS; i++)
				sum->binding[b].verdicts[i] += cpu[c].binding[b].verdicts[i];
		ev->no_provider += chain[c].no_provider;
		ev->default_missed += chain[c].default_missed;
	}
	munmap(v, size);
	return 0;
}

/* Zeroes one binding's column on every CPU: a new binding starts from nothing. */
int nmr_chain_stats_reset(int fd, __u32 column)
{
	struct nmr_chain_stats *cpu;
	size_t size;
	void *v;
	int ncpus, err = stats_map(fd, true, &v, &ncpus, &size);

	if (err)
		return err;
	cpu = v;
	for (int c = 0; c < ncpus; c++)
		memset(&cpu[c].binding[column], 0, sizeof(cpu[c].binding[column]));
	munmap(v, size);
	return 0;
}

int nmr_client_stats(struct nmr_registry *reg, const struct nmr_client_record *c,
		     struct nmr_chain_stats *sum, struct nmr_chain_events *ev)
{
	int fd = nmr_client_pin_open(reg, c, NMR_PIN_STATS), err;

	if (fd < 0)
		return nmr_error_prefix(fd, "client %s: read counters", c->name);
	err = nmr_chain_stats_read(fd, sum, ev);
	close(fd);
	return err;
}
