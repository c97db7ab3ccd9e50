// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A state file: the NPIs, providers and clients a registry should hold, in
 * YAML (so JSON too), parsed with libyaml. This file only reads the file's
 * shape; apply.c compares it with the registry. Every error names the file,
 * line and column of what is wrong.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "api/api.h"
#include "api/state.h"

static int state_error(const struct nmr_state *st, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int state_error(const struct nmr_state *st, const yaml_node_t *node, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nmr_error(-EINVAL, "%s:%zu:%zu: %s", st->source, node->start_mark.line + 1,
			 node->start_mark.column + 1, msg);
}

static yaml_node_t *node_at(struct nmr_state *st, int index)
{
	return yaml_document_get_node(&st->doc, index);
}

static int scalar(struct nmr_state *st, yaml_node_t *n, const char *key, const char **out)
{
	*out = "";
	if (n->type != YAML_SCALAR_NODE)
		return state_error(st, n, "%s: a single value is expected", key);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

static int u32_value(struct nmr_state *st, yaml_node_t *n, const char *key, __u32 *out)
{
	const char *s = "";
	char *end;
	unsigned long v;
	int err = scalar(st, n, key, &s);

	if (err)
		return err;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > 0xffffffffUL)
		return state_error(st, n, "%s: '%s' is not a number", key, s);
	*out = v;
	return 0;
}

static int bool_value(struct nmr_state *st, yaml_node_t *n, const char *key, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	const char *s = "";
	int err = scalar(st, n, key, &s);

	if (err)
		return err;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return state_error(st, n, "%s: '%s' is not true or false", key, s);
}

static int guid_value(struct nmr_state *st, yaml_node_t *n, const char *key,
		      struct nmr_guid *out, bool *set)
{
	const char *s = "";
	int err = scalar(st, n, key, &s);

	if (err)
		return err;
	if (nmr_guid_parse(s, out))
		return state_error(st, n, "%s: '%s' is not a GUID", key, s);
	*set = true;
	return 0;
}

/* A list: a sequence of values, or one value (which may hold commas itself). */
static int list_value(struct nmr_state *st, yaml_node_t *n, const char *key, const char **out,
		      int max, int *count)
{
	int got = 0;

	if (n->type == YAML_SCALAR_NODE) {
		out[0] = (const char *)n->data.scalar.value;
		got = out[0][0] ? 1 : 0;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			yaml_node_t *item = node_at(st, *i);
			int err;

			if (got == max)
				return state_error(st, item, "%s: at most %d values", key, max);
			err = scalar(st, item, key, &out[got]);
			if (err)
				return err;
			got++;
		}
	} else {
		return state_error(st, n, "%s: a list is expected", key);
	}
	if (count)
		*count = got;
	return 0;
}

static int af_value(struct nmr_state *st, yaml_node_t *n, const char *key, __u32 *mask)
{
	const char *items[8] = {};
	int count, err = list_value(st, n, key, items, 8, &count);

	*mask = 0;
	for (int i = 0; !err && i < count; i++) {
		char buf[64], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", items[i]);
		for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
			if (!strcmp(t, "inet") || !strcmp(t, "ipv4"))
				*mask |= NMR_AF_INET;
			else if (!strcmp(t, "inet6") || !strcmp(t, "ipv6"))
				*mask |= NMR_AF_INET6;
			else
				return state_error(st, n, "%s: '%s' is not inet or inet6", key, t);
		}
	}
	return err;
}

static int version_range(struct nmr_state *st, yaml_node_t *n, __u32 *min, __u32 *max)
{
	const char *s = "";
	char *end;
	unsigned long a, b;
	int err = scalar(st, n, "version", &s);

	if (err)
		return err;
	errno = 0;
	a = strtoul(s, &end, 10);
	b = a;
	if (!errno && end != s && *end == '-') {
		const char *t = end + 1;

		b = strtoul(t, &end, 10);
		if (end == t)
			errno = EINVAL;
	}
	if (errno || end == s || *end || s[0] == '-' || !a || a > b || b > 0xffffffffUL)
		return state_error(st, n, "version: '%s' is not N or MIN-MAX", s);
	*min = a;
	*max = b;
	return 0;
}

/* Calls fn for each key of a mapping; fn says whether it knew the key. */
typedef int (*field_fn)(struct nmr_state *st, void *obj, const char *key, yaml_node_t *value);

static int each_field(struct nmr_state *st, yaml_node_t *map, const char *what, void *obj,
		      field_fn fn)
{
	if (map->type != YAML_MAPPING_NODE)
		return state_error(st, map, "%s: a mapping of keys is expected", what);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node_at(st, p->key), *v = node_at(st, p->value);
		const char *key = "";
		int err = scalar(st, k, what, &key);

		if (err)
			return err;
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *qk = node_at(st, q->key);

			if (qk->type == YAML_SCALAR_NODE &&
			    !strcmp((const char *)qk->data.scalar.value, key))
				return state_error(st, k, "%s: key '%s' given twice", what, key);
		}
		err = fn(st, obj, key, v);
		if (err > 0)
			return state_error(st, k, "%s: unknown key '%s'", what, key);
		if (err)
			return err;
	}
	return 0;
}

static int npi_field(struct nmr_state *st, void *obj, const char *key, yaml_node_t *v)
{
	struct state_npi *n = obj;
	const char *s = "";
	int err;

	if (!strcmp(key, "name"))
		return scalar(st, v, key, &n->name);
	if (!strcmp(key, "id"))
		return guid_value(st, v, key, &n->id, &n->has_id);
	if (!strcmp(key, "version"))
		return u32_value(st, v, key, &n->version);
	if (!strcmp(key, "slots"))
		return list_value(st, v, key, n->slots, NMR_MAX_SLOTS, NULL);
	if (!strcmp(key, "hook")) {
		err = scalar(st, v, key, &s);
		if (!err && nmr_hook_parse(s, &n->hook))
			err = state_error(st, v, "hook: '%s' is not xdp, tc-ingress or "
					  "tc-egress", s);
		return err;
	}
	return 1;
}

static int provider_field(struct nmr_state *st, void *obj, const char *key, yaml_node_t *v)
{
	struct state_provider *p = obj;

	if (!strcmp(key, "name"))
		return scalar(st, v, key, &p->name);
	if (!strcmp(key, "id"))
		return guid_value(st, v, key, &p->id, &p->has_id);
	if (!strcmp(key, "npi"))
		return scalar(st, v, key, &p->npi);
	if (!strcmp(key, "object"))
		return scalar(st, v, key, &p->object);
	if (!strcmp(key, "program"))
		return scalar(st, v, key, &p->program);
	if (!strcmp(key, "sha256"))
		return scalar(st, v, key, &p->sha256);
	if (!strcmp(key, "priority")) {
		p->priority_set = true;
		return u32_value(st, v, key, &p->priority);
	}
	if (!strcmp(key, "continue-on")) {
		p->continue_on_set = true;
		p->continue_on_node = v;
		return list_value(st, v, key, p->continue_on, NMR_VERDICT_SLOTS, NULL);
	}
	if (!strcmp(key, "version")) {
		p->version_set = true;
		return version_range(st, v, &p->version_min, &p->version_max);
	}
	if (!strcmp(key, "af"))
		return af_value(st, v, key, &p->af_mask);
	if (!strcmp(key, "tags"))
		return list_value(st, v, key, p->tags, NMR_MAX_TAGS, NULL);
	if (!strcmp(key, "slot-programs"))
		return list_value(st, v, key, p->slot_progs + 1, NMR_MAX_SLOTS - 1, NULL);
	return 1;
}

static int client_field(struct nmr_state *st, void *obj, const char *key, yaml_node_t *v)
{
	struct state_client *c = obj;
	const char *s = "";
	int err;

	if (!strcmp(key, "name"))
		return scalar(st, v, key, &c->name);
	if (!strcmp(key, "id"))
		return guid_value(st, v, key, &c->id, &c->has_id);
	if (!strcmp(key, "npi"))
		return scalar(st, v, key, &c->npi);
	if (!strcmp(key, "device"))
		return scalar(st, v, key, &c->dev);
	if (!strcmp(key, "netns"))
		return scalar(st, v, key, &c->netns);
	if (!strcmp(key, "require-version"))
		return u32_value(st, v, key, &c->require_version);
	if (!strcmp(key, "af"))
		return af_value(st, v, key, &c->af_mask);
	if (!strcmp(key, "max-providers"))
		return u32_value(st, v, key, &c->max_providers);
	if (!strcmp(key, "exclusive"))
		return bool_value(st, v, key, &c->exclusive);
	if (!strcmp(key, "xdp-frags"))
		return bool_value(st, v, key, &c->xdp_frags);
	if (!strcmp(key, "tc-netlink"))
		return bool_value(st, v, key, &c->tc_netlink);
	if (!strcmp(key, "require-tags"))
		return list_value(st, v, key, c->require_tags, NMR_MAX_TAGS, NULL);
	if (!strcmp(key, "mode")) {
		err = scalar(st, v, key, &s);
		if (!err && strcmp(s, "native") && strcmp(s, "skb"))
			err = state_error(st, v, "mode: '%s' is not native or skb", s);
		c->mode = !err && !strcmp(s, "skb") ? NMR_MODE_SKB : NMR_MODE_NATIVE;
		return err;
	}
	return 1;
}

/* A list of objects: each a mapping with at least a name, no name twice. */
static int each_object(struct nmr_state *st, yaml_node_t *seq, const char *what, void *array,
		       size_t size, size_t *count, field_fn fn)
{
	size_t n = 0;

	if (seq->type == YAML_SCALAR_NODE && !seq->data.scalar.length)
		return 0;	/* "npis:" with nothing after it */
	if (seq->type != YAML_SEQUENCE_NODE)
		return state_error(st, seq, "%ss: a list is expected", what);
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++, n++) {
		yaml_node_t *item = node_at(st, *i);
		char *obj = (char *)array + n * size;
		const char **name = (const char **)(obj + sizeof(int) * 2);
		int err;

		if (n == STATE_MAX)
			return state_error(st, item, "more than %d %ss", STATE_MAX, what);
		((int *)obj)[0] = item->start_mark.line + 1;
		((int *)obj)[1] = item->start_mark.column + 1;
		err = each_field(st, item, what, obj, fn);
		if (err)
			return err;
		if (!*name)
			return state_error(st, item, "%s: a name is required (apply matches "
					   "objects by name)", what);
		for (size_t j = 0; j < n; j++)
			if (!strcmp(*(const char **)((char *)array + j * size + sizeof(int) * 2),
				    *name))
				return state_error(st, item, "%s %s: named twice", what, *name);
	}
	*count = n;
	return 0;
}

static int top_field(struct nmr_state *st, void *obj, const char *key, yaml_node_t *v)
{
	if (!strcmp(key, "npis"))
		return each_object(st, v, "npi", st->npis, sizeof(*st->npis), &st->nnpis,
				   npi_field);
	if (!strcmp(key, "providers"))
		return each_object(st, v, "provider", st->providers, sizeof(*st->providers),
				   &st->nproviders, provider_field);
	if (!strcmp(key, "clients"))
		return each_object(st, v, "client", st->clients, sizeof(*st->clients),
				   &st->nclients, client_field);
	return 1;
}

/* Checks that the field names of the object structs start as each_object() expects. */
_Static_assert(offsetof(struct state_npi, name) == 2 * sizeof(int), "npi name");
_Static_assert(offsetof(struct state_provider, name) == 2 * sizeof(int), "provider name");
_Static_assert(offsetof(struct state_client, name) == 2 * sizeof(int), "client name");

int nmr_state_parse(const char *text, size_t len, const char *source, struct nmr_state **out)
{
	struct nmr_state *st;
	yaml_parser_t parser;
	yaml_node_t *root;
	int err = 0;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return nmr_error(-ENOMEM, "read state: out of memory");
	snprintf(st->source, sizeof(st->source), "%s", source ? source : "<state>");
	if (!yaml_parser_initialize(&parser)) {
		free(st);
		return nmr_error(-ENOMEM, "read state: out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &st->doc)) {
		const yaml_mark_t *m = parser.context ? &parser.context_mark : &parser.problem_mark;

		if (parser.problem)
			m = &parser.problem_mark;
		err = nmr_error(-EINVAL, "%s:%zu:%zu: syntax: %s%s%s", st->source, m->line + 1,
				m->column + 1, parser.problem ? parser.problem : "not YAML",
				parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		free(st);
		return err;
	}
	yaml_parser_delete(&parser);
	st->loaded = true;
	root = yaml_document_get_root_node(&st->doc);
	if (root && !(root->type == YAML_SCALAR_NODE && !root->data.scalar.length))
		err = each_field(st, root, "state", NULL, top_field);
	if (err) {
		nmr_state_free(st);
		return err;
	}
	*out = st;
	return 0;
}

int nmr_state_read(const char *path, struct nmr_state **out)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int err;

	if (!f)
		return nmr_error(-errno, "read %s: %s", path, strerror(errno));
	do {
		if (len == cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				if (f != stdin)
					fclose(f);
				return nmr_error(-ENOMEM, "read %s: out of memory", path);
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	err = ferror(f) ? nmr_error(-EIO, "read %s: I/O error", path) : 0;
	if (f != stdin)
		fclose(f);
	if (!err)
		err = nmr_state_parse(buf, len, strcmp(path, "-") ? path : "<stdin>", out);
	free(buf);
	return err;
}

void nmr_state_free(struct nmr_state *st)
{
	if (!st)
		return;
	if (st->loaded)
		yaml_document_delete(&st->doc);
	free(st);
}
