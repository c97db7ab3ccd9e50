// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Program instances of a provider.
 *
 * Each binding has its own loaded instance of the provider's program, with its
 * binding slot frozen into .rodata.nmr: the provider's dispatch table for that
 * binding (slot 0), and the code that the client's chain links in (linker.c),
 * taken from the instance as libbpf relocated it. The provider's own maps
 * (its module state) are created once, by the template instance loaded at
 * registration, pinned under provider/<id>/maps/, and shared by every
 * instance.
 *
 * The ELF object itself is kept in the registry (store/blob.c), so a client
 * that registers later can be bound without the original file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/param.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpf/nmr_bpf.h"

#define NMR_MAX_SHARED_MAPS 64

void nmr_instance_close(struct nmr_instance *inst)
{
	if (inst->prog_fd >= 0)
		close(inst->prog_fd);
	if (inst->dispatch_fd >= 0)
		close(inst->dispatch_fd);
	inst->prog_fd = inst->dispatch_fd = -1;
	nmr_code_free(&inst->code);
}

/* providers/<id>/maps/<name>: bpffs refuses dots, so ".bss" is pinned as "_bss". */
static int shared_map_path(struct nmr_registry *reg, const struct nmr_provider_record *prov,
			   const struct bpf_map *map, char *buf, size_t len)
{
	char leaf[16 + BPF_OBJ_NAME_LEN + NMR_PROG_NAME_LEN];

	snprintf(leaf, sizeof(leaf), "maps/%s", bpf_map__name(map));
	for (char *c = leaf; *c; c++)
		if (*c == '.')
			*c = '_';
	return nmr_provider_path(reg, &prov->id, leaf, buf, len);
}

/* What a map of the provider's object is for one instance (see the top). */
enum map_role {
	MAP_REGISTRY,		/* nmr_binding_contexts: the registry's pinned map */
	MAP_INSTANCE_CONFIG,	/* .rodata.nmr: binding slot and continue-on set */
	MAP_PER_INSTANCE,	/* other read-only data: frozen per load */
	MAP_SHARED,		/* the provider's own state: one for all instances */
};

static enum map_role map_role(const struct bpf_map *map)
{
	const char *name = bpf_map__name(map);

	if (!strcmp(name, "nmr_binding_contexts"))
		return MAP_REGISTRY;
	if (!strcmp(name, ".rodata.nmr"))
		return MAP_INSTANCE_CONFIG;
	if (bpf_map__is_internal(map) && (strstr(name, ".rodata") || strstr(name, ".kconfig")))
		return MAP_PER_INSTANCE;
	return MAP_SHARED;
}

/*
 * A pinned shared map that this instance is to use, checked for the shape
 * the object wants: returns its fd. The kernel sets BPF_F_RDONLY_PROG on
 * every devmap it creates, so that flag does not count (libbpf's own reuse by
 * pin path compares flags exactly, and fails on every devmap).
 */
static int open_shared(const struct nmr_provider_record *prov, const struct bpf_map *map,
		       const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return nmr_error(-errno, "provider %s: open %s: %s", prov->name, path,
				 strerror(errno));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return nmr_error(-errno, "provider %s: inspect %s: %s", prov->name, path,
				 strerror(errno));
	}
	if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    info.max_entries != bpf_map__max_entries(map) ||
	    (info.map_flags ^ bpf_map__map_flags(map)) & ~BPF_F_RDONLY_PROG) {
		close(fd);
		return nmr_error(-EINVAL, "provider %s: map %s of the object has another "
				 "definition (type, key, value, size or flags) than the "
				 "provider's pinned one; deregister and register the provider to "
				 "start with new maps", prov->name, bpf_map__name(map));
	}
	return fd;
}

/*
 * Prepares the object's maps for one instance. An existing shared map is
 * reused by fd when its definition matches (and refused when it does not); a
 * missing one is created and pinned at load through libbpf's pin path. Only
 * a template may create: it notes in created[] the pins it makes.
 */
static int prepare_maps(struct nmr_registry *reg, const struct nmr_provider_record *prov,
			struct bpf_object *obj, const struct nmr_instance_config *cfg,
			bool template, char (*created)[PATH_MAX],
			size_t *ncreated)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int err = 0;

	*ncreated = 0;
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);

		switch (map_role(map)) {
		case MAP_REGISTRY:
			err = bpf_map__reuse_fd(map, reg->binding_contexts_fd);
			break;
		case MAP_INSTANCE_CONFIG:
			err = bpf_map__set_initial_value(map, cfg, sizeof(*cfg));
			break;
		case MAP_PER_INSTANCE:
			break;
		case MAP_SHARED:
			err = shared_map_path(reg, prov, map, path, sizeof(path));
			if (err)
				return err;
			if (!access(path, F_OK)) {
				int fd = open_shared(prov, map, path);

				if (fd < 0)
					return fd;
				err = bpf_map__reuse_fd(map, fd);
				close(fd);
			} else {
				if (!template)
					return nmr_error(-ENOENT, "provider %s: shared map %s is "
							 "missing", prov->name, path);
				if (*ncreated == NMR_MAX_SHARED_MAPS)
					return nmr_error(-E2BIG, "provider %s: more than %d maps",
							 prov->name, NMR_MAX_SHARED_MAPS);
				snprintf(created[(*ncreated)++], PATH_MAX, "%s", path);
				err = bpf_map__set_pin_path(map, path);
			}
			break;
		}
		if (err)
			return nmr_error(err, "provider %s: map %s: %s", prov->name, name,
					 strerror(-err));
	}
	return 0;
}

/* The provider's dispatch table for this instance: slot i holds slot i's program. */
static int fill_dispatch(const struct nmr_provider_record *prov, struct bpf_object *obj,
			 struct bpf_program *main_prog, struct nmr_instance *inst)
{
	__u32 n = 1;

	while (n < NMR_MAX_SLOTS && prov->slot_progs[n][0])
		n++;
	inst->dispatch_fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "nmr_dispatch", 4, 4, n,
					   NULL);
	if (inst->dispatch_fd < 0)
		return nmr_error(-errno, "provider %s: create dispatch table: %s", prov->name,
				 strerror(errno));
	for (__u32 i = 0; i < n; i++) {
		struct bpf_program *p = i ? bpf_object__find_program_by_name(obj,
									     prov->slot_progs[i])
					  : main_prog;
		int fd = p ? bpf_program__fd(p) : -1;

		if (fd < 0 || bpf_map_update_elem(inst->dispatch_fd, &i, &fd, BPF_ANY))
			return nmr_error(-errno ?: -ENOENT, "provider %s: dispatch slot %u: %s",
					 prov->name, i, strerror(errno ?: ENOENT));
	}
	return 0;
}

/*
 * Loads one instance of the provider's program from the ELF object in obj.
 * template: the instance made at registration, which verifies the program and
 * creates (and pins) the provider's shared maps. stats: the verifier's
 * statistics asked for, which give the exact stack depth the chain needs.
 */
static int instance_load(struct nmr_registry *reg, const struct nmr_provider_record *prov,
			 const void *obj_buf, size_t obj_size, __u32 slot, bool template,
			 struct nmr_instance *inst, char *log, size_t log_size, bool stats)
{
	char stats_log[4096];
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = prov->name);
	struct nmr_instance_config cfg = { .context_index = slot };
	char (*created)[PATH_MAX] = calloc(NMR_MAX_SHARED_MAPS, PATH_MAX);
	struct bpf_program *prog, *p;
	struct bpf_object *obj = NULL;
	char maps_dir[PATH_MAX];
	size_t ncreated = 0;
	int err;

	*inst = (struct nmr_instance)NMR_INSTANCE_INIT;
	if (!created)
		return nmr_error(-ENOMEM, "provider %s: out of memory", prov->name);
	obj = bpf_object__open_mem(obj_buf, obj_size, &oo);
	if (!obj) {
		err = nmr_error(-errno, "provider %s: open object: %s", prov->name,
				strerror(errno));
		goto fail;
	}
	prog = bpf_object__find_program_by_name(obj, prov->prog_name);
	if (!prog) {
		err = nmr_error(-ENOENT, "provider %s: no program %s in object", prov->name,
				prov->prog_name);
		goto fail;
	}
	/* Slot 0's program, and those of the NPI's other slots. */
	bpf_object__for_each_program(p, obj) {
		bool slot = false;

		for (int i = 0; i < NMR_MAX_SLOTS; i++)
			slot |= prov->slot_progs[i][0] &&
				!strcmp(bpf_program__name(p), prov->slot_progs[i]);
		bpf_program__set_autoload(p, p == prog || slot);
		/* One owner type per prog array: match the dispatcher's attach type. */
		bpf_program__set_expected_attach_type(p, bpf_program__type(p) ==
						      BPF_PROG_TYPE_XDP ? BPF_XDP : 0);
	}
	stats_log[0] = 0;
	if (stats) {
		bpf_program__set_log_buf(prog, stats_log, sizeof(stats_log));
		bpf_program__set_log_level(prog, 4);	/* BPF_LOG_STATS */
	} else if (log && log_size) {
		log[0] = 0;
		bpf_program__set_log_buf(prog, log, log_size);
	}
	if (template) {
		err = nmr_provider_path(reg, &prov->id, NMR_PIN_MAPS, maps_dir, sizeof(maps_dir));
		if (err || (err = nmr_mkdir(maps_dir)))
			goto fail;
	}
	err = prepare_maps(reg, prov, obj, &cfg, template, created, &ncreated);
	if (err)
		goto fail;
	err = bpf_object__load(obj);
	if (err) {
		err = nmr_error(err, "provider %s: load program %s: %s%s", prov->name,
				prov->prog_name, strerror(-err),
				!stats && log && log_size && log[0] ? " (rejected by the verifier)" :
				"");
		goto fail;
	}
	/* what a provider needs alone must be enough in a chain, or be refused now */
	if (template && nmr_code_call_depth(bpf_program__insns(prog),
					    bpf_program__insn_cnt(prog)) >= 8) {
		err = nmr_error(-E2BIG, "provider %s: program %s calls functions 8 frames deep, "
				"the kernel's limit; in a chain it is called from the chain's "
				"own function, one frame more: at most 7 deep", prov->name,
				prov->prog_name);
		goto fail;
	}
	inst->prog_fd = dup(bpf_program__fd(prog));
	inst->prog_id = nmr_prog_id(inst->prog_fd);
	err = fill_dispatch(prov, obj, prog, inst);
	if (!err && !template)	/* what the client's chain links in */
		err = nmr_code_from_prog(obj, prog, obj_buf, obj_size,
					 stats ? stats_log : NULL, &inst->code);
	if (err) {
		nmr_error_prefix(err, "provider %s", prov->name);
		goto fail;
	}
	bpf_object__close(obj);
	free(created);
	return 0;
fail:
	/* a failed template leaves no map pin it made */
	for (size_t i = 0; i < ncreated; i++)
		unlink(created[i]);
	free(created);
	bpf_object__close(obj);
	nmr_instance_close(inst);
	return err;
}

int nmr_instance_load(struct nmr_registry *reg, const struct nmr_provider_record *prov,
		      const void *obj, size_t obj_size, __u32 slot, bool template,
		      struct nmr_instance *inst, char *log, size_t log_size)
{
	int err = instance_load(reg, prov, obj, obj_size, slot, template, inst, log, log_size,
				!template);

	/* statistics give no reasons: for them, load it again as libbpf does */
	if (err && !template)
		err = instance_load(reg, prov, obj, obj_size, slot, template, inst, log,
				    log_size, false);
	return err;
}
