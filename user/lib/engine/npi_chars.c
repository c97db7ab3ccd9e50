// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * NPI-defined characteristics. In the NMR each NPI defines its own client and
 * provider characteristics structures, opaque to the registrar, which hands
 * them to the other side's attach callback. Here an NPI may be registered
 * with such structs as C types from BTF: struct provider_characteristics
 * and/or struct client_characteristics, found in an object built with -g.
 *
 * Registering the NPI copies each struct, and only the types it is made of,
 * into a new BTF object loaded into the kernel, with a key type (struct
 * nmr_guid), and makes per NPI the hash maps npi/<id>/provider_chars and
 * client_chars (key: the module's GUID, value: the NPI's struct) and
 * client_requires (a declarative client's conditions on the provider's
 * struct, as text). Their BTF is the only copy of the types the registrar
 * keeps: fields are named, checked and printed from the map's own BTF
 * (map info -> btf_id -> btf__load_from_kernel_by_id), and bpftool shows the
 * values with the NPI's field names.
 *
 * A field is named by its path: "proto", "limits.mtu", "ports[1]" (members of
 * anonymous structs and unions by their own names). Integers are host-endian;
 * bitfields are read and written as a little-endian machine lays them out.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "engine/engine.h"

#define PROVIDER_STRUCT	"provider_characteristics"
#define CLIENT_STRUCT	"client_characteristics"
#define TEXT_LEN	(NMR_NPI_CHARS_MAX_SIZE + 64)

static const char *kind_struct(enum nmr_module_kind kind)
{
	return kind == NMR_MODULE_CLIENT ? CLIENT_STRUCT : PROVIDER_STRUCT;
}

static const char *kind_pin(enum nmr_module_kind kind)
{
	return kind == NMR_MODULE_CLIENT ? NMR_PIN_CLIENT_CHARS : NMR_PIN_PROVIDER_CHARS;
}

static const char *kind_name(enum nmr_module_kind kind)
{
	return kind == NMR_MODULE_CLIENT ? "client" : "provider";
}

/* ---- the NPI's structs, copied out of the author's BTF ---- */

struct nmr_npi_btf {
	struct btf *btf;
	int fd;			/* loaded into the kernel */
	__u32 key_id;		/* struct nmr_guid */
	__u32 value_id[2];	/* provider, client: 0 when the NPI defines none */
	__u32 requires_id;	/* struct nmr_npi_requires */
};

struct copier {
	const struct btf *src;
	struct btf *dst;
	__u32 *map;		/* source id -> copy's id */
	const char *source;	/* for errors */
};

static int copy_type(struct copier *c, __u32 id, const char *field);

static int copy_members(struct copier *c, const struct btf_type *t, const char *name,
			const char *field)
{
	const struct btf_member *m = btf_members(t);
	__u16 n = btf_vlen(t);
	char sub[256];
	int *ids = calloc(n + 1, sizeof(*ids)), ret = 0;

	if (!ids)
		return nmr_error(-ENOMEM, "out of memory");
	for (__u16 i = 0; i < n && ret >= 0; i++) {
		const char *mname = btf__name_by_offset(c->src, m[i].name_off) ?: "";

		snprintf(sub, sizeof(sub), "%s%s%s", field, field[0] && mname[0] ? "." : "",
			 mname);
		ret = ids[i] = copy_type(c, m[i].type, sub);
	}
	if (ret >= 0)
		ret = btf_is_struct(t) ? btf__add_struct(c->dst, name, t->size)
				       : btf__add_union(c->dst, name, t->size);
	for (__u16 i = 0; i < n && ret > 0; i++) {
		int e = btf__add_field(c->dst, btf__name_by_offset(c->src, m[i].name_off) ?: "",
				       ids[i], btf_member_bit_offset(t, i),
				       btf_member_bitfield_size(t, i));
		if (e < 0)
			ret = e;
	}
	free(ids);
	return ret;
}

/* Copies type id and what it is made of; returns the copy's id or an error naming field. */
static int copy_type(struct copier *c, __u32 id, const char *field)
{
	const struct btf_type *t = btf__type_by_id(c->src, id);
	const char *name, *what = field[0] ? field : "the struct";
	int ret = -EINVAL;

	if (id && c->map[id])
		return c->map[id];
	if (!id || !t)
		return nmr_error(-EINVAL, "%s: %s has no type (void)", c->source, what);
	name = btf__name_by_offset(c->src, t->name_off) ?: "";
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		if (btf_int_offset(t) || btf_int_bits(t) != t->size * 8)
			return nmr_error(-EINVAL, "%s: %s: an integer of %u bits in %u bytes is "
					 "not supported", c->source, what, btf_int_bits(t), t->size);
		ret = btf__add_int(c->dst, name, t->size, btf_int_encoding(t));
		break;
	case BTF_KIND_FLOAT:
		ret = btf__add_float(c->dst, name, t->size);
		break;
	case BTF_KIND_ENUM: {
		const struct btf_enum *e = btf_enum(t);

		ret = btf__add_enum(c->dst, name, t->size);
		for (__u16 i = 0; i < btf_vlen(t) && ret > 0; i++) {
			__s64 v = btf_kflag(t) ? (__s64)(__s32)e[i].val : (__s64)(__u32)e[i].val;
			int r = btf__add_enum_value(c->dst, btf__name_by_offset(c->src,
								e[i].name_off), v);
			if (r < 0)
				ret = r;
		}
		break;
	}
	case BTF_KIND_ENUM64: {
		const struct btf_enum64 *e = btf_enum64(t);

		ret = btf__add_enum64(c->dst, name, t->size, btf_kflag(t));
		for (__u16 i = 0; i < btf_vlen(t) && ret > 0; i++) {
			int r = btf__add_enum64_value(c->dst, btf__name_by_offset(c->src,
								  e[i].name_off),
						      btf_enum64_value(&e[i]));
			if (r < 0)
				ret = r;
		}
		break;
	}
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		int elem = copy_type(c, a->type, field), index;

		if (elem < 0)
			return elem;
		index = copy_type(c, a->index_type, field);
		if (index < 0)
			return index;
		ret = btf__add_array(c->dst, index, elem, a->nelems);
		break;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		ret = copy_members(c, t, name, field);
		if (ret < 0)
			return ret;
		break;
	case BTF_KIND_TYPEDEF: {
		int inner = copy_type(c, t->type, field);

		if (inner < 0)
			return inner;
		ret = btf__add_typedef(c->dst, name, inner);
		break;
	}
	case BTF_KIND_CONST:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		/* qualifiers say nothing about a value: left out */
		ret = copy_type(c, t->type, field);
		if (ret < 0)
			return ret;
		c->map[id] = ret;
		return ret;
	case BTF_KIND_PTR:
		return nmr_error(-EINVAL, "%s: %s is a pointer: characteristics are values that "
				 "other processes read, so put the data itself in the struct (an "
				 "array, say)", c->source, what);
	case BTF_KIND_FWD:
		return nmr_error(-EINVAL, "%s: %s is an incomplete type (%s is only declared): "
				 "the struct needs a fixed size", c->source, what, name);
	default:
		return nmr_error(-EINVAL, "%s: %s: a BTF type of kind %u cannot be a "
				 "characteristic", c->source, what, btf_kind(t));
	}
	if (ret < 0)
		return nmr_error(ret, "%s: copy the type of %s: %s", c->source, what,
				 strerror(-ret));
	c->map[id] = ret;
	return ret;
}

/* struct nmr_guid and struct nmr_npi_requires, in the copy. */
static int add_own_types(struct nmr_npi_btf *nb)
{
	struct btf *b = nb->btf;
	int u32 = btf__add_int(b, "__u32", 4, 0), u16 = btf__add_int(b, "__u16", 2, 0);
	int u8 = btf__add_int(b, "__u8", 1, 0), ch = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	int data4 = btf__add_array(b, u32, u8, 8), line, lines, id;

	id = btf__add_struct(b, "nmr_guid", 16);
	if (id < 0 || btf__add_field(b, "data1", u32, 0, 0) ||
	    btf__add_field(b, "data2", u16, 32, 0) || btf__add_field(b, "data3", u16, 48, 0) ||
	    btf__add_field(b, "data4", data4, 64, 0))
		return -EINVAL;
	nb->key_id = id;
	line = btf__add_array(b, u32, ch, NMR_REQUIRE_LEN);
	lines = btf__add_array(b, u32, line, NMR_MAX_REQUIRES);
	id = btf__add_struct(b, "nmr_npi_requires", sizeof(struct nmr_npi_requires));
	if (id < 0 || btf__add_field(b, "require", lines, 0, 0))
		return -EINVAL;
	nb->requires_id = id;
	return 0;
}

void nmr_npi_btf_free(struct nmr_npi_btf *nb)
{
	if (!nb)
		return;
	if (nb->fd >= 0)
		close(nb->fd);
	btf__free(nb->btf);
	free(nb);
}

int nmr_npi_btf_import(const struct nmr_npi_opts *opts, struct nmr_npi_btf **out)
{
	const char *source = opts->characteristics_path ?: "characteristics BTF";
	struct copier c = { .source = source };
	struct nmr_npi_btf *nb;
	struct btf *src;
	int err = 0, found = 0;

	*out = NULL;
	if (!opts->characteristics_path && !opts->characteristics_btf)
		return 0;
	if (opts->characteristics_path && opts->characteristics_btf)
		return nmr_error(-EINVAL, "register npi %s: give its characteristics as a file or "
				 "as BTF, not both", opts->name);
	if (opts->characteristics_path)
		src = btf__parse(opts->characteristics_path, NULL);
	else
		src = btf__new(opts->characteristics_btf, opts->characteristics_btf_size);
	if (!src)
		return nmr_error(-errno ?: -EINVAL, "register npi %s: %s: no BTF could be read "
				 "(%s): give an object built with clang -g -target bpf, or raw "
				 "BTF", opts->name, source, strerror(errno ?: EINVAL));
	nb = calloc(1, sizeof(*nb));
	if (nb)
		nb->fd = -1;
	c.map = calloc(btf__type_cnt(src), sizeof(*c.map));
	if (!nb || !c.map) {
		err = nmr_error(-ENOMEM, "out of memory");
		goto out;
	}
	c.src = src;
	c.dst = nb->btf = btf__new_empty();
	if (!nb->btf || add_own_types(nb)) {
		err = nmr_error(-ENOMEM, "register npi %s: make BTF: out of memory", opts->name);
		goto out;
	}
	for (int k = 0; k < 2 && !err; k++) {
		const char *sname = k ? CLIENT_STRUCT : PROVIDER_STRUCT;
		int id = btf__find_by_name_kind(src, sname, BTF_KIND_STRUCT);
		__s64 size;

		if (id <= 0)
			continue;
		found++;
		id = copy_type(&c, id, "");
		if (id < 0) {
			err = nmr_error_prefix(id, "register npi %s: struct %s", opts->name, sname);
			break;
		}
		size = btf__resolve_size(nb->btf, id);
		if (size <= 0 || size > NMR_NPI_CHARS_MAX_SIZE)
			err = nmr_error(-EINVAL, "register npi %s: %s: struct %s is %lld bytes: "
					"from 1 to %d", opts->name, source, sname, (long long)size,
					NMR_NPI_CHARS_MAX_SIZE);
		nb->value_id[k] = id;
	}
	if (!err && !found)
		err = nmr_error(-ENOENT, "register npi %s: %s: its BTF holds neither struct "
				PROVIDER_STRUCT " nor struct " CLIENT_STRUCT " (define them in a "
				"header, use each in the object, e.g. as a global variable, and "
				"build it with -g)", opts->name, source);
	if (!err && btf__load_into_kernel(nb->btf))
		err = nmr_error(-errno, "register npi %s: load the characteristics' BTF into the "
				"kernel: %s", opts->name, strerror(errno));
	if (!err)
		nb->fd = btf__fd(nb->btf) >= 0 ? dup(btf__fd(nb->btf)) : -1;
out:
	free(c.map);
	btf__free(src);
	if (err)
		nmr_npi_btf_free(nb);
	else
		*out = nb;
	return err;
}

/* ---- the maps ---- */

static int make_map(struct nmr_registry *reg, const struct nmr_npi_record *npi,
		    const struct nmr_npi_btf *nb, const char *leaf, __u32 value_id, __u32 max)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .btf_fd = nb->fd, .btf_key_type_id = nb->key_id,
		    .btf_value_type_id = value_id, .map_flags = BPF_F_NO_PREALLOC);
	char path[PATH_MAX];
	__s64 size = btf__resolve_size(nb->btf, value_id);
	int fd, err;

	err = nmr_npi_path(reg, &npi->id, leaf, path, sizeof(path));
	if (err)
		return err;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, leaf, sizeof(struct nmr_guid), size, max, &o);
	if (fd < 0)
		return nmr_error(-errno, "register npi %s: create %s: %s", npi->name, leaf,
				 strerror(errno));
	err = bpf_obj_pin(fd, path) ? nmr_error(-errno, "register npi %s: pin %s: %s",
						npi->name, path, strerror(errno)) : 0;
	close(fd);
	return err;
}

int nmr_npi_chars_create(struct nmr_registry *reg, const struct nmr_npi_record *npi,
			 const struct nmr_npi_btf *nb)
{
	char dir[PATH_MAX];
	int err;

	err = nmr_path(reg, dir, sizeof(dir), "%s", NMR_NPIS_DIR);
	if (!err)
		err = nmr_mkdir(dir);
	if (!err)
		err = nmr_npi_path(reg, &npi->id, NULL, dir, sizeof(dir));
	if (!err)
		err = nmr_mkdir(dir);
	if (!err && nb->value_id[0])
		err = make_map(reg, npi, nb, NMR_PIN_PROVIDER_CHARS, nb->value_id[0],
			       NMR_MAX_PROVIDERS);
	if (!err && nb->value_id[0])
		err = make_map(reg, npi, nb, NMR_PIN_CLIENT_REQUIRES, nb->requires_id,
			       NMR_MAX_CLIENTS);
	if (!err && nb->value_id[1])
		err = make_map(reg, npi, nb, NMR_PIN_CLIENT_CHARS, nb->value_id[1],
			       NMR_MAX_CLIENTS);
	if (err)
		nmr_npi_chars_destroy(reg, &npi->id);
	return err;
}

void nmr_npi_chars_destroy(struct nmr_registry *reg, const struct nmr_guid *npi)
{
	char dir[PATH_MAX];

	if (!nmr_npi_path(reg, npi, NULL, dir, sizeof(dir)))
		nmr_unpin_tree(dir);
}

struct chars_map {
	int fd;			/* -1: the NPI defines no such struct */
	struct btf *btf;	/* the map's, when asked for */
	__u32 type_id;
	__u32 size;
};

static void chars_close(struct chars_map *m)
{
	if (m->fd >= 0)
		close(m->fd);
	btf__free(m->btf);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

static int chars_open(struct nmr_registry *reg, const struct nmr_guid *npi, const char *leaf,
		      bool with_btf, struct chars_map *m)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int err;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	err = nmr_npi_path(reg, npi, leaf, path, sizeof(path));
	if (err)
		return err;
	m->fd = bpf_obj_get(path);
	if (m->fd < 0)
		return errno == ENOENT ? 0 : nmr_error(-errno, "open %s: %s", path,
							 strerror(errno));
	if (bpf_obj_get_info_by_fd(m->fd, &info, &len)) {
		err = nmr_error(-errno, "%s: map info: %s", path, strerror(errno));
		chars_close(m);
		return err;
	}
	m->type_id = info.btf_value_type_id;
	m->size = info.value_size;
	if (!with_btf)
		return 0;
	m->btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!m->btf) {
		err = nmr_error(-errno ?: -EIO, "%s: its BTF (id %u): %s", path, info.btf_id,
				strerror(errno ?: EIO));
		chars_close(m);
	}
	return err;
}

/* ---- fields ---- */

struct field {
	__u32 type;	/* qualifiers and typedefs skipped */
	__u32 named;	/* as declared, for messages */
	__u32 bit_off;	/* from the struct's start */
	__u32 bits;	/* a bitfield's width; 0: the whole type */
};

static __u32 skip_mods(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_typedef(t) || btf_is_mod(t) || btf_is_type_tag(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	return id;
}

static bool char_array(const struct btf *btf, const struct btf_type *t)
{
	const struct btf_type *e;

	if (!btf_is_array(t))
		return false;
	e = btf__type_by_id(btf, skip_mods(btf, btf_array(t)->type));
	return e && btf_is_int(e) && e->size == 1 &&
	       ((btf_int_encoding(e) & BTF_INT_CHAR) ||
		!strcmp(btf__name_by_offset(btf, e->name_off) ?: "", "char"));
}

static bool member_find(const struct btf *btf, __u32 struct_id, const char *name, __u32 base,
			struct field *f)
{
	const struct btf_type *t = btf__type_by_id(btf, struct_id);
	const struct btf_member *m = btf_members(t);

	for (__u16 i = 0; i < btf_vlen(t); i++) {
		const char *mname = btf__name_by_offset(btf, m[i].name_off) ?: "";
		__u32 off = base + btf_member_bit_offset(t, i), inner = skip_mods(btf, m[i].type);
		const struct btf_type *it = btf__type_by_id(btf, inner);

		if (!mname[0] && it && btf_is_composite(it)) {
			if (member_find(btf, inner, name, off, f))
				return true;
		} else if (!strcmp(mname, name)) {
			f->type = inner;
			f->named = m[i].type;
			f->bit_off = off;
			f->bits = btf_member_bitfield_size(t, i);
			return true;
		}
	}
	return false;
}

/* path into f; why says what is wrong, by name. */
static int field_resolve(const struct btf *btf, __u32 struct_id, const char *path,
			 struct field *f, char *why, size_t len)
{
	char buf[256], *save = NULL, *tok;
	size_t done = 0;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf) || !path[0]) {
		snprintf(why, len, "'%s' is not a field name", path);
		return -EINVAL;
	}
	*f = (struct field){ .type = struct_id, .named = struct_id };
	for (char *s = buf; (tok = strtok_r(s, ".", &save)); s = NULL) {
		const struct btf_type *t = btf__type_by_id(btf, f->type);
		char *idx = strchr(tok, '[');

		if (idx)
			*idx++ = 0;
		if (!t || !btf_is_composite(t)) {
			snprintf(why, len, "%.*s is not a struct: it has no field %s", (int)done,
				 path, tok);
			return -EINVAL;
		}
		if (!member_find(btf, f->type, tok, f->bit_off, f)) {
			if (done)
				snprintf(why, len, "%.*s has no field %s", (int)done - 1, path, tok);
			else
				snprintf(why, len, "no field %s", tok);
			return -ENOENT;
		}
		done += strlen(tok) + 1;
		while (idx) {
			char *end;
			unsigned long i = strtoul(idx, &end, 10);
			const struct btf_array *a;
			__s64 esize;

			t = btf__type_by_id(btf, f->type);
			if (end == idx || *end != ']' || !btf_is_array(t)) {
				snprintf(why, len, "%s: %s", tok, btf_is_array(t) ?
					 "an index is a number in [ ]" : "is not an array");
				return -EINVAL;
			}
			a = btf_array(t);
			if (i >= a->nelems) {
				snprintf(why, len, "%s has %u elements: [%lu] is beyond them", tok,
					 a->nelems, i);
				return -ERANGE;
			}
			f->named = a->type;
			f->type = skip_mods(btf, a->type);
			esize = btf__resolve_size(btf, f->type);
			f->bit_off += i * esize * 8;
			f->bits = 0;
			done += end - idx + 2;
			idx = end[1] == '[' ? end + 2 : NULL;
			if (!idx && end[1]) {
				snprintf(why, len, "%s: unexpected '%s' after [%lu]", tok, end + 1, i);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static __u64 bits_read(const void *buf, __u32 off, __u32 n)
{
	const __u8 *b = buf;
	__u64 v = 0;

	if (!(off % 8) && !(n % 8) && n <= 64) {
		memcpy(&v, b + off / 8, n / 8);	/* little-endian hosts (x86, arm64) */
		return v;
	}
	for (__u32 i = 0; i < n; i++)
		v |= (__u64)((b[(off + i) / 8] >> ((off + i) % 8)) & 1) << i;
	return v;
}

static void bits_write(void *buf, __u32 off, __u32 n, __u64 v)
{
	__u8 *b = buf;

	if (!(off % 8) && !(n % 8) && n <= 64) {
		memcpy(b + off / 8, &v, n / 8);
		return;
	}
	for (__u32 i = 0; i < n; i++) {
		__u8 bit = 1U << ((off + i) % 8);

		if ((v >> i) & 1)
			b[(off + i) / 8] |= bit;
		else
			b[(off + i) / 8] &= ~bit;
	}
}

static const char *type_text(const struct btf *btf, __u32 id, char *buf, size_t len)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const char *name = t ? btf__name_by_offset(btf, t->name_off) ?: "" : "";

	if (t && btf_is_enum(t))
		snprintf(buf, len, "enum %s", name[0] ? name : "(anonymous)");
	else if (t && btf_is_enum64(t))
		snprintf(buf, len, "enum %s", name[0] ? name : "(anonymous)");
	else
		snprintf(buf, len, "%s", name[0] ? name : "a value");
	return buf;
}

static bool int_signed(const struct btf *btf, const struct btf_type *t)
{
	if (btf_is_int(t))
		return btf_int_encoding(t) & BTF_INT_SIGNED;
	return (btf_is_enum(t) || btf_is_enum64(t)) && btf_kflag(t);
}

static bool parse_number(const char *s, bool sign, __s64 *sv, __u64 *uv)
{
	char *end;

	errno = 0;
	if (!s[0] || s[0] == ' ')
		return false;
	if (sign)
		*sv = strtoll(s, &end, 0);
	else if (s[0] == '-')
		return false;
	else
		*uv = strtoull(s, &end, 0);
	return !errno && !*end;
}

/* Writes text into the field, or says in why what is wrong with it. */
static int value_set(const struct btf *btf, const struct field *f, const char *path,
		     const char *text, void *buf, char *why, size_t len)
{
	const struct btf_type *t = btf__type_by_id(btf, f->type);
	__u32 nbits = f->bits ?: (t ? t->size * 8 : 0);
	char tn[128];
	__s64 sv = 0;
	__u64 uv = 0;

	type_text(btf, f->named, tn, sizeof(tn));
	if (f->bits) {
		char base[96];

		snprintf(base, sizeof(base), "%s", tn);
		snprintf(tn, sizeof(tn), "a %u-bit field of %s", f->bits, base);
	}
	if (!t)
		goto bad_type;
	if (btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_BOOL)) {
		if (!strcmp(text, "true") || !strcmp(text, "1"))
			uv = 1;
		else if (strcmp(text, "false") && strcmp(text, "0")) {
			snprintf(why, len, "%s is a bool (true or false): '%s' is not one", path,
				 text);
			return -EINVAL;
		}
		bits_write(buf, f->bit_off, nbits, uv);
		return 0;
	}
	if (btf_is_int(t) || btf_is_any_enum(t)) {
		bool sign = int_signed(btf, t), named = false;

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t);

			for (__u16 i = 0; i < btf_vlen(t) && !named; i++)
				if (!strcmp(btf__name_by_offset(btf, e[i].name_off) ?: "", text)) {
					named = true;
					sv = sign ? (__s32)e[i].val : (__s64)e[i].val;
					uv = (__u32)e[i].val;
				}
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t);

			for (__u16 i = 0; i < btf_vlen(t) && !named; i++)
				if (!strcmp(btf__name_by_offset(btf, e[i].name_off) ?: "", text)) {
					named = true;
					uv = btf_enum64_value(&e[i]);
					sv = (__s64)uv;
				}
		}
		if (!named && !parse_number(text, sign, &sv, &uv)) {
			snprintf(why, len, "%s is %s, a%s integer of %u bits: '%s' is not %s", path,
				 tn, sign ? " signed" : "n unsigned", nbits, text,
				 btf_is_any_enum(t) ? "one of its names or a number" :
				 sign ? "a number" : "a number of 0 or more");
			return -EINVAL;
		}
		if (sign && nbits < 64) {
			__s64 lo = -((__s64)1 << (nbits - 1)), hi = ((__s64)1 << (nbits - 1)) - 1;

			if (sv < lo || sv > hi) {
				snprintf(why, len, "%s is %s (%" PRId64 " to %" PRId64 "): %s is out "
					 "of range", path, tn, (int64_t)lo, (int64_t)hi, text);
				return -ERANGE;
			}
		} else if (!sign && nbits < 64 && uv >> nbits) {
			snprintf(why, len, "%s is %s (0 to %" PRIu64 "): %s is out of range", path,
				 tn, (uint64_t)((1ULL << nbits) - 1), text);
			return -ERANGE;
		}
		bits_write(buf, f->bit_off, nbits, sign ? (__u64)sv : uv);
		return 0;
	}
	if (btf_is_float(t) && (t->size == 4 || t->size == 8)) {
		char *end;
		double d;

		errno = 0;
		d = strtod(text, &end);
		if (!text[0] || *end || errno) {
			snprintf(why, len, "%s is %s: '%s' is not a number", path, tn, text);
			return -EINVAL;
		}
		if (t->size == 4) {
			float fl = d;

			memcpy((char *)buf + f->bit_off / 8, &fl, 4);
		} else {
			memcpy((char *)buf + f->bit_off / 8, &d, 8);
		}
		return 0;
	}
	if (char_array(btf, t)) {
		__u32 n = btf_array(t)->nelems;

		if (strlen(text) >= n) {
			snprintf(why, len, "%s is a string of at most %u characters: '%s' is "
				 "longer", path, n ? n - 1 : 0, text);
			return -ERANGE;
		}
		memset((char *)buf + f->bit_off / 8, 0, n);
		memcpy((char *)buf + f->bit_off / 8, text, strlen(text));
		return 0;
	}
	if (btf_is_array(t)) {
		snprintf(why, len, "%s is an array of %u: give %s[I]=VALUE", path,
			 btf_array(t)->nelems, path);
		return -EINVAL;
	}
	if (btf_is_composite(t)) {
		snprintf(why, len, "%s is a %s: give %s.FIELD=VALUE", path,
			 btf_is_struct(t) ? "struct" : "union", path);
		return -EINVAL;
	}
bad_type:
	snprintf(why, len, "%s is %s, which cannot be given a value", path, tn);
	return -EINVAL;
}

/* The field's value in buf, typed, with its text. */
static void value_get(const struct btf *btf, const struct field *f, const void *buf,
		      struct nmr_npi_field *out, char *text, size_t len)
{
	const struct btf_type *t = btf__type_by_id(btf, f->type);
	__u32 nbits = f->bits ?: t->size * 8;

	out->text = text;
	text[0] = 0;
	out->s = 0;
	out->u = 0;
	if (btf_is_int(t) || btf_is_any_enum(t)) {
		bool sign = int_signed(btf, t);
		__u64 v = bits_read(buf, f->bit_off, nbits);

		if (sign && nbits < 64 && (v >> (nbits - 1)) & 1)
			v |= ~0ULL << nbits;	/* sign-extended */
		out->u = v;
		out->s = (__s64)v;
		if (btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_BOOL)) {
			out->type = NMR_NPI_FIELD_BOOL;
			snprintf(text, len, "%s", v ? "true" : "false");
			return;
		}
		out->type = btf_is_any_enum(t) ? NMR_NPI_FIELD_ENUM :
			    sign ? NMR_NPI_FIELD_SIGNED : NMR_NPI_FIELD_UNSIGNED;
		if (sign)
			snprintf(text, len, "%" PRId64, (int64_t)out->s);
		else
			snprintf(text, len, "%" PRIu64, (uint64_t)out->u);
		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t);

			for (__u16 i = 0; i < btf_vlen(t); i++)
				if ((__u32)e[i].val == (__u32)v)
					snprintf(text, len, "%s",
						 btf__name_by_offset(btf, e[i].name_off));
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t);

			for (__u16 i = 0; i < btf_vlen(t); i++)
				if (btf_enum64_value(&e[i]) == v)
					snprintf(text, len, "%s",
						 btf__name_by_offset(btf, e[i].name_off));
		}
		return;
	}
	if (btf_is_float(t)) {
		double d = 0;

		out->type = NMR_NPI_FIELD_FLOAT;
		if (t->size == 4) {
			float fl;

			memcpy(&fl, (const char *)buf + f->bit_off / 8, 4);
			d = fl;
		} else if (t->size == 8) {
			memcpy(&d, (const char *)buf + f->bit_off / 8, 8);
		}
		snprintf(text, len, "%.17g", d);
		return;
	}
	/* a char array */
	out->type = NMR_NPI_FIELD_STRING;
	snprintf(text, len, "%.*s", (int)btf_array(t)->nelems, (const char *)buf + f->bit_off / 8);
}

/* "FIELD=VALUE" into buf. */
static int assign(const struct btf *btf, __u32 struct_id, const char *assignment, void *buf,
		  char *why, size_t len)
{
	char name[256];
	const char *eq = strchr(assignment, '=');
	struct field f;
	int err;

	if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof(name)) {
		snprintf(why, len, "'%s' is not FIELD=VALUE", assignment);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(eq - assignment), assignment);
	err = field_resolve(btf, struct_id, name, &f, why, len);
	return err ?: value_set(btf, &f, name, eq + 1, buf, why, len);
}

struct walk {
	const struct btf *btf;
	const void *buf;
	nmr_npi_field_fn fn;
	void *ctx;
	char text[TEXT_LEN];
};

static int walk(struct walk *w, __u32 named, __u32 bit_off, __u32 bits, char *path, size_t plen)
{
	__u32 id = skip_mods(w->btf, named);
	const struct btf_type *t = btf__type_by_id(w->btf, id);
	size_t used = strlen(path);
	int err = 0;

	if (!t)
		return 0;
	if (btf_is_composite(t)) {
		const struct btf_member *m = btf_members(t);

		for (__u16 i = 0; i < btf_vlen(t) && !err; i++) {
			const char *mname = btf__name_by_offset(w->btf, m[i].name_off) ?: "";

			if (mname[0])
				snprintf(path + used, plen - used, "%s%s", used ? "." : "", mname);
			err = walk(w, m[i].type, bit_off + btf_member_bit_offset(t, i),
				   btf_member_bitfield_size(t, i), path, plen);
			path[used] = 0;
		}
		return err;
	}
	if (btf_is_array(t) && !char_array(w->btf, t)) {
		const struct btf_array *a = btf_array(t);
		__s64 esize = btf__resolve_size(w->btf, a->type);

		for (__u32 i = 0; i < a->nelems && !err && esize > 0; i++) {
			snprintf(path + used, plen - used, "[%u]", i);
			err = walk(w, a->type, bit_off + i * esize * 8, 0, path, plen);
			path[used] = 0;
		}
		return err;
	}
	if (btf_is_int(t) || btf_is_any_enum(t) || btf_is_float(t) || char_array(w->btf, t)) {
		struct field f = { .type = id, .named = named, .bit_off = bit_off, .bits = bits };
		struct nmr_npi_field out = { .name = path };

		value_get(w->btf, &f, w->buf, &out, w->text, sizeof(w->text));
		return w->fn(&out, w->ctx);
	}
	return 0;
}

/* ---- a module's values ---- */

int nmr_npi_chars_make(struct nmr_registry *reg, const struct nmr_npi_record *npi,
		       enum nmr_module_kind kind, const char *module, const void *chars,
		       size_t chars_size, const char *const *fields, void **out, __u32 *size)
{
	struct chars_map m;
	char why[512];
	void *buf;
	int err;

	*out = NULL;
	*size = 0;
	err = chars_open(reg, &npi->id, kind_pin(kind), true, &m);
	if (err)
		return err;
	if (m.fd < 0) {
		if (chars || (fields && fields[0]))
			return nmr_error(-EINVAL, "register %s %s: npi %s defines no struct %s: "
					 "it has the generic characteristics only (register the "
					 "NPI with --characteristics)", kind_name(kind), module,
					 npi->name, kind_struct(kind));
		return 0;
	}
	if (chars && chars_size != m.size) {
		err = nmr_error(-EINVAL, "register %s %s: npi_chars_size is %zu, but npi %s's "
				"struct %s is %u bytes", kind_name(kind), module, chars_size,
				npi->name, kind_struct(kind), m.size);
		chars_close(&m);
		return err;
	}
	buf = calloc(1, m.size);
	if (!buf) {
		chars_close(&m);
		return nmr_error(-ENOMEM, "out of memory");
	}
	if (chars)
		memcpy(buf, chars, m.size);
	for (size_t i = 0; fields && fields[i] && !err; i++)
		if (assign(m.btf, m.type_id, fields[i], buf, why, sizeof(why)))
			err = nmr_error(-EINVAL, "register %s %s: characteristic %s: %s (struct %s "
					"of npi %s)", kind_name(kind), module, fields[i], why,
					kind_struct(kind), npi->name);
	if (err) {
		free(buf);
	} else {
		*out = buf;
		*size = m.size;
	}
	chars_close(&m);
	return err;
}

/* A condition "FIELD=VALUE" or "FIELD=LO..HI": its field, and lo, hi as the field holds them. */
struct cond {
	char name[NMR_REQUIRE_LEN];
	struct field f;
	bool range;
	struct nmr_npi_field lo, hi;
	char lo_text[TEXT_LEN], hi_text[TEXT_LEN];
};

static int cond_parse(const struct btf *btf, __u32 struct_id, __u32 size, const char *text,
		      struct cond *c, char *why, size_t len)
{
	const char *eq = strchr(text, '='), *dots;
	char lo[NMR_REQUIRE_LEN], hi[NMR_REQUIRE_LEN];
	void *scratch;
	int err;

	if (!eq || eq == text || (size_t)(eq - text) >= sizeof(c->name)) {
		snprintf(why, len, "'%s' is not FIELD=VALUE or FIELD=LO..HI", text);
		return -EINVAL;
	}
	snprintf(c->name, sizeof(c->name), "%.*s", (int)(eq - text), text);
	err = field_resolve(btf, struct_id, c->name, &c->f, why, len);
	if (err)
		return err;
	dots = strstr(eq + 1, "..");
	c->range = dots != NULL;
	snprintf(lo, sizeof(lo), "%.*s", dots ? (int)(dots - eq - 1) : (int)strlen(eq + 1),
		 eq + 1);
	snprintf(hi, sizeof(hi), "%s", dots ? dots + 2 : lo);
	scratch = calloc(1, size);
	if (!scratch)
		return -ENOMEM;
	err = value_set(btf, &c->f, c->name, lo, scratch, why, len);
	if (!err)
		value_get(btf, &c->f, scratch, &c->lo, c->lo_text, sizeof(c->lo_text));
	if (!err)
		err = value_set(btf, &c->f, c->name, hi, scratch, why, len);
	if (!err)
		value_get(btf, &c->f, scratch, &c->hi, c->hi_text, sizeof(c->hi_text));
	free(scratch);
	if (err)
		return err;
	if (c->range && (c->lo.type == NMR_NPI_FIELD_STRING || c->lo.type == NMR_NPI_FIELD_BOOL)) {
		snprintf(why, len, "%s: a range LO..HI is for numbers; give %s=VALUE", c->name,
			 c->name);
		return -EINVAL;
	}
	return 0;
}

static int cmp_values(const struct nmr_npi_field *a, const struct nmr_npi_field *b, bool sign)
{
	if (a->type == NMR_NPI_FIELD_STRING)
		return strcmp(a->text, b->text);
	if (a->type == NMR_NPI_FIELD_FLOAT) {
		double x = strtod(a->text, NULL), y = strtod(b->text, NULL);

		return x < y ? -1 : x > y;
	}
	if (sign)
		return a->s < b->s ? -1 : a->s > b->s;
	return a->u < b->u ? -1 : a->u > b->u;
}

int nmr_npi_requires_make(struct nmr_registry *reg, const struct nmr_npi_record *npi,
			  const char *client, const char *const *conds,
			  struct nmr_npi_requires *out)
{
	struct chars_map m;
	struct cond *c;
	char why[512];
	size_t n = 0;
	int err;

	memset(out, 0, sizeof(*out));
	while (conds && conds[n])
		n++;
	if (!n)
		return 0;
	if (n > NMR_MAX_REQUIRES)
		return nmr_error(-EINVAL, "register client %s: %zu conditions on the provider's "
				 "characteristics: at most %d", client, n, NMR_MAX_REQUIRES);
	err = chars_open(reg, &npi->id, NMR_PIN_PROVIDER_CHARS, true, &m);
	if (err)
		return err;
	if (m.fd < 0)
		return nmr_error(-EINVAL, "register client %s: npi %s defines no struct "
				 PROVIDER_STRUCT " for conditions to be on (register the NPI with "
				 "--characteristics)", client, npi->name);
	c = calloc(1, sizeof(*c));
	if (!c) {
		chars_close(&m);
		return nmr_error(-ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n && !err; i++) {
		if (strlen(conds[i]) >= NMR_REQUIRE_LEN)
			err = nmr_error(-EINVAL, "register client %s: condition %s is longer than "
					"%d characters", client, conds[i], NMR_REQUIRE_LEN - 1);
		else if (cond_parse(m.btf, m.type_id, m.size, conds[i], c, why, sizeof(why)))
			err = nmr_error(-EINVAL, "register client %s: condition %s: %s (struct "
					PROVIDER_STRUCT " of npi %s)", client, conds[i], why,
					npi->name);
		else
			snprintf(out->require[i], NMR_REQUIRE_LEN, "%s", conds[i]);
	}
	free(c);
	chars_close(&m);
	return err;
}

int nmr_npi_chars_store(struct nmr_registry *reg, const struct nmr_guid *npi,
			enum nmr_module_kind kind, const struct nmr_guid *module, const void *value,
			const struct nmr_npi_requires *requires)
{
	struct chars_map m;
	int err = 0;

	if (value) {
		err = chars_open(reg, npi, kind_pin(kind), false, &m);
		if (!err && m.fd >= 0 && bpf_map_update_elem(m.fd, module, value, BPF_ANY))
			err = nmr_error(-errno, "write the %s's characteristics into %s: %s",
					kind_name(kind), kind_pin(kind), strerror(errno));
		chars_close(&m);
	}
	if (!err && requires && requires->require[0][0]) {
		err = chars_open(reg, npi, NMR_PIN_CLIENT_REQUIRES, false, &m);
		if (!err && m.fd >= 0 && bpf_map_update_elem(m.fd, module, requires, BPF_ANY))
			err = nmr_error(-errno, "write the client's conditions into %s: %s",
					NMR_PIN_CLIENT_REQUIRES, strerror(errno));
		chars_close(&m);
	}
	if (err)
		nmr_npi_chars_remove(reg, npi, kind, module);
	return err;
}

void nmr_npi_chars_remove(struct nmr_registry *reg, const struct nmr_guid *npi,
			  enum nmr_module_kind kind, const struct nmr_guid *module)
{
	struct chars_map m;

	if (!chars_open(reg, npi, kind_pin(kind), false, &m) && m.fd >= 0)
		bpf_map_delete_elem(m.fd, module);
	chars_close(&m);
	if (kind == NMR_MODULE_CLIENT &&
	    !chars_open(reg, npi, NMR_PIN_CLIENT_REQUIRES, false, &m) && m.fd >= 0)
		bpf_map_delete_elem(m.fd, module);
	chars_close(&m);
}

/* ---- decisions and callbacks ---- */

int nmr_npi_decision(struct nmr_registry *reg, const struct nmr_client_record *client,
		     const struct nmr_provider_record *prov, char *reason, size_t len)
{
	struct nmr_npi_requires req;
	struct chars_map m;
	struct cond *c = NULL;
	char why[256], text[TEXT_LEN];
	void *value = NULL;
	int ok = 1;

	if (chars_open(reg, &client->npi, NMR_PIN_CLIENT_REQUIRES, false, &m) || m.fd < 0)
		return 1;
	if (bpf_map_lookup_elem(m.fd, &client->id, &req) || !req.require[0][0]) {
		chars_close(&m);
		return 1;
	}
	chars_close(&m);
	if (chars_open(reg, &client->npi, NMR_PIN_PROVIDER_CHARS, true, &m) || m.fd < 0) {
		snprintf(reason, len, "npi characteristics: the NPI's struct " PROVIDER_STRUCT
			 " cannot be read");
		return 0;
	}
	value = calloc(1, m.size);
	c = calloc(1, sizeof(*c));
	if (!value || !c) {
		snprintf(reason, len, "npi characteristics: out of memory");
		ok = 0;
		goto out;
	}
	/* a provider without an entry has the struct's zeros */
	bpf_map_lookup_elem(m.fd, &prov->id, value);
	for (int i = 0; i < NMR_MAX_REQUIRES && req.require[i][0] && ok; i++) {
		struct nmr_npi_field have = {};
		bool sign;

		req.require[i][NMR_REQUIRE_LEN - 1] = 0;
		if (cond_parse(m.btf, m.type_id, m.size, req.require[i], c, why, sizeof(why))) {
			snprintf(reason, len, "npi characteristics: condition %s: %s",
				 req.require[i], why);
			ok = 0;
			break;
		}
		value_get(m.btf, &c->f, value, &have, text, sizeof(text));
		sign = have.type == NMR_NPI_FIELD_SIGNED ||
		       int_signed(m.btf, btf__type_by_id(m.btf, c->f.type));
		if (cmp_values(&have, &c->lo, sign) < 0 || cmp_values(&have, &c->hi, sign) > 0) {
			if (c->range)
				snprintf(reason, len, "npi characteristics: provider's %s is %s, "
					 "client requires %s..%s", c->name, text, c->lo_text,
					 c->hi_text);
			else
				snprintf(reason, len, "npi characteristics: provider's %s is %s, "
					 "client requires %s", c->name, text, c->lo_text);
			ok = 0;
		}
	}
out:
	free(value);
	free(c);
	chars_close(&m);
	return ok;
}

void *nmr_npi_chars_instance(struct nmr_registry *reg, struct nmr_registration_instance *ri)
{
	struct nmr_npi_record npi;
	struct chars_map m;
	void *buf = NULL;

	if (bpf_map_lookup_elem(reg->npis_fd, &ri->npi_id, &npi) ||
	    chars_open(reg, &ri->npi_id, kind_pin(ri->kind), false, &m) || m.fd < 0)
		return NULL;
	buf = calloc(1, m.size);
	if (buf) {
		bpf_map_lookup_elem(m.fd, &ri->module_id, buf);	/* none: zeros */
		ri->npi_characteristics = buf;
		ri->npi_characteristics_size = m.size;
		ri->npi_characteristics_version = npi.version;
	}
	chars_close(&m);
	return buf;
}

/* ---- what no record names ---- */

static void orphan_entries(struct nmr_registry *reg, const char *dir, const char *leaf,
			   int records_fd, size_t record_size, nmr_orphan_fn found, void *ctx)
{
	char path[PATH_MAX + 64], guid[NMR_GUID_STR_LEN], what[PATH_MAX + 128];
	struct nmr_guid key, cur, *prev = NULL, *gone = NULL;
	void *rec = malloc(record_size);
	size_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, leaf);
	fd = bpf_obj_get(path);
	if (fd < 0 || !rec) {
		if (fd >= 0)
			close(fd);
		free(rec);
		return;
	}
	gone = calloc(NMR_MAX_PROVIDERS, sizeof(*gone));
	while (gone && n < NMR_MAX_PROVIDERS && !bpf_map_get_next_key(fd, prev, &key)) {
		cur = key;
		prev = &cur;
		if (bpf_map_lookup_elem(records_fd, &cur, rec))
			gone[n++] = cur;
	}
	for (size_t i = 0; i < n; i++) {
		nmr_guid_format(&gone[i], guid);
		snprintf(what, sizeof(what), "%s: the entry of %s", path, guid);
		if (found)
			found(what, ctx);
		else
			bpf_map_delete_elem(fd, &gone[i]);
	}
	free(gone);
	free(rec);
	close(fd);
}

/* In an NPI's directory (npi/<id>), the entries of modules no record names. */
void nmr_npi_chars_orphan_entries(struct nmr_registry *reg, const char *dir, nmr_orphan_fn found,
				  void *ctx)
{
	orphan_entries(reg, dir, NMR_PIN_PROVIDER_CHARS, reg->providers_fd,
		       sizeof(struct nmr_provider_record), found, ctx);
	orphan_entries(reg, dir, NMR_PIN_CLIENT_CHARS, reg->clients_fd,
		       sizeof(struct nmr_client_record), found, ctx);
	orphan_entries(reg, dir, NMR_PIN_CLIENT_REQUIRES, reg->clients_fd,
		       sizeof(struct nmr_client_record), found, ctx);
}

/* ---- the public calls ---- */

static int module_npi(struct nmr_registry *reg, enum nmr_module_kind kind, const char *module,
		      struct nmr_guid *npi, struct nmr_guid *id)
{
	struct nmr_provider_record p;
	struct nmr_client_record c;
	int err;

	if (kind == NMR_MODULE_CLIENT) {
		err = nmr_client_find(reg, module, &c);
		*npi = c.npi;
		*id = c.id;
	} else {
		err = nmr_provider_find(reg, module, &p);
		*npi = p.npi;
		*id = p.id;
	}
	return err;
}

int nmr_npi_chars_size(struct nmr_registry *reg, const char *npi, enum nmr_module_kind kind,
		       __u32 *size)
{
	struct nmr_npi_record rec;
	struct chars_map m;
	int err;

	*size = 0;
	err = nmr_npi_find(reg, npi, &rec);
	if (!err)
		err = chars_open(reg, &rec.id, kind_pin(kind), false, &m);
	if (!err && m.fd >= 0)
		*size = m.size;
	if (!err)
		chars_close(&m);
	return err;
}

int nmr_npi_chars_read(struct nmr_registry *reg, enum nmr_module_kind kind, const char *module,
		       void *buf, size_t size, __u32 *out_size)
{
	struct nmr_guid npi, id;
	struct chars_map m;
	void *value;
	int err;

	if (out_size)
		*out_size = 0;
	err = module_npi(reg, kind, module, &npi, &id);
	if (!err)
		err = chars_open(reg, &npi, kind_pin(kind), false, &m);
	if (err)
		return err;
	if (m.fd < 0)
		return 0;
	value = calloc(1, m.size);
	if (!value) {
		chars_close(&m);
		return nmr_error(-ENOMEM, "out of memory");
	}
	bpf_map_lookup_elem(m.fd, &id, value);
	memcpy(buf, value, size < m.size ? size : m.size);
	if (out_size)
		*out_size = m.size;
	free(value);
	chars_close(&m);
	return 0;
}

int nmr_npi_chars_foreach(struct nmr_registry *reg, enum nmr_module_kind kind,
			  const char *module, nmr_npi_field_fn fn, void *ctx)
{
	struct nmr_guid npi, id;
	struct chars_map m;
	struct walk *w;
	char path[256] = "";
	void *value;
	int err;

	err = module_npi(reg, kind, module, &npi, &id);
	if (!err)
		err = chars_open(reg, &npi, kind_pin(kind), true, &m);
	if (err)
		return err;
	if (m.fd < 0)
		return 0;
	value = calloc(1, m.size);
	w = calloc(1, sizeof(*w));
	if (!value || !w) {
		err = nmr_error(-ENOMEM, "out of memory");
	} else {
		bpf_map_lookup_elem(m.fd, &id, value);
		*w = (struct walk){ .btf = m.btf, .buf = value, .fn = fn, .ctx = ctx };
		err = walk(w, m.type_id, 0, 0, path, sizeof(path));
	}
	free(w);
	free(value);
	chars_close(&m);
	return err;
}

int nmr_npi_chars_parse(struct nmr_registry *reg, const char *npi, enum nmr_module_kind kind,
			const char *assignment, void *buf, size_t size)
{
	struct nmr_npi_record rec;
	struct chars_map m;
	char why[512];
	int err;

	err = nmr_npi_find(reg, npi, &rec);
	if (!err)
		err = chars_open(reg, &rec.id, kind_pin(kind), true, &m);
	if (err)
		return err;
	if (m.fd < 0)
		return nmr_error(-ENOENT, "npi %s defines no struct %s", rec.name,
				 kind_struct(kind));
	if (size != m.size)
		err = nmr_error(-EINVAL, "npi %s: struct %s is %u bytes, not %zu", rec.name,
				kind_struct(kind), m.size, size);
	else if (assign(m.btf, m.type_id, assignment, buf, why, sizeof(why)))
		err = nmr_error(-EINVAL, "npi %s: %s: %s (struct %s)", rec.name, assignment, why,
				kind_struct(kind));
	chars_close(&m);
	return err;
}

int nmr_client_npi_requires(struct nmr_registry *reg, const char *client,
			    struct nmr_npi_requires *out)
{
	struct nmr_client_record c;
	struct chars_map m;
	int err;

	memset(out, 0, sizeof(*out));
	err = nmr_client_find(reg, client, &c);
	if (!err)
		err = chars_open(reg, &c.npi, NMR_PIN_CLIENT_REQUIRES, false, &m);
	if (err)
		return err;
	if (m.fd >= 0 && bpf_map_lookup_elem(m.fd, &c.id, out))
		memset(out, 0, sizeof(*out));
	for (int i = 0; i < NMR_MAX_REQUIRES; i++)
		out->require[i][NMR_REQUIRE_LEN - 1] = 0;
	chars_close(&m);
	return 0;
}
