// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A JSON writer on a FILE* (bpftool's json_writer is the model): an object
 * that keeps its own nesting, so a document is written by one writer to one
 * stream. Every machine-readable output of the CLI goes through one.
 */
#include <stdio.h>
#include <stdlib.h>
#include "json_writer.h"

#define MAX_DEPTH 16

struct json_writer {
	FILE *out;
	bool pretty;
	int depth;
	bool first[MAX_DEPTH];
};

struct json_writer *jw_new(FILE *out, bool pretty)
{
	struct json_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->out = out;
	w->pretty = pretty;
	w->first[0] = true;
	return w;
}

void jw_pretty(struct json_writer *w, bool pretty)
{
	w->pretty = pretty;
}

void jw_destroy(struct json_writer **w)
{
	free(*w);
	*w = NULL;
}

static void indent(struct json_writer *w)
{
	if (!w->pretty)
		return;
	fputc('\n', w->out);
	for (int i = 0; i < w->depth; i++)
		fputs("    ", w->out);
}

/*
 * The length of the valid UTF-8 sequence at s (1 to 4), or 0: names and messages may hold
 * any bytes (an interface name, a path), and JSON must be valid UTF-8.
 */
size_t jw_utf8_len(const unsigned char *s)
{
	unsigned int cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void quoted(struct json_writer *w, const char *s)
{
	FILE *f = w->out;

	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;
		size_t len = jw_utf8_len((const unsigned char *)s);

		if (!len) {
			fputs("\\ufffd", f);	/* an invalid byte: U+FFFD replaces it */
			continue;
		}
		if (len > 1) {
			fwrite(s, 1, len, f);
			s += len - 1;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void member(struct json_writer *w, const char *key)
{
	if (!w->first[w->depth])
		fputc(',', w->out);
	w->first[w->depth] = false;
	if (w->depth)
		indent(w);
	if (key) {
		quoted(w, key);
		fputs(w->pretty ? ": " : ":", w->out);
	}
}

static void open_(struct json_writer *w, const char *key, char c)
{
	member(w, key);
	fputc(c, w->out);
	if (w->depth < MAX_DEPTH - 1)
		w->depth++;
	w->first[w->depth] = true;
}

static void close_(struct json_writer *w, char c)
{
	bool empty = w->first[w->depth];

	if (w->depth)
		w->depth--;
	if (!empty)
		indent(w);
	fputc(c, w->out);
}

void jw_open_object(struct json_writer *w, const char *key) { open_(w, key, '{'); }
void jw_close_object(struct json_writer *w) { close_(w, '}'); }
void jw_open_array(struct json_writer *w, const char *key) { open_(w, key, '['); }
void jw_close_array(struct json_writer *w) { close_(w, ']'); }

void jw_string(struct json_writer *w, const char *key, const char *value)
{
	member(w, key);
	quoted(w, value ? value : "");
}

void jw_uint(struct json_writer *w, const char *key, unsigned long long value)
{
	member(w, key);
	fprintf(w->out, "%llu", value);
}

void jw_int(struct json_writer *w, const char *key, long long value)
{
	member(w, key);
	fprintf(w->out, "%lld", value);
}

void jw_bool(struct json_writer *w, const char *key, bool value)
{
	member(w, key);
	fputs(value ? "true" : "false", w->out);
}

void jw_strings(struct json_writer *w, const char *key, const char *const *v, size_t n)
{
	jw_open_array(w, key);
	for (size_t i = 0; i < n; i++)
		jw_string(w, NULL, v[i]);
	jw_close_array(w);
}

void jw_names(struct json_writer *w, const char *key, const void *names, size_t width, size_t n)
{
	jw_open_array(w, key);
	for (size_t i = 0; i < n; i++)
		jw_string(w, NULL, (const char *)names + i * width);
	jw_close_array(w);
}

void jw_finish(struct json_writer *w)
{
	fputc('\n', w->out);
	fflush(w->out);
	w->depth = 0;
	w->first[0] = true;
}
