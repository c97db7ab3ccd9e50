// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A small JSON writer: every machine-readable output goes through it. */
#include <stdio.h>
#include "cli.h"

#define MAX_DEPTH 16

static int depth;
static bool first[MAX_DEPTH] = { true };

static void indent(void)
{
	if (!cli.pretty)
		return;
	putchar('\n');
	for (int i = 0; i < depth; i++)
		fputs("    ", stdout);
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

static void quoted(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;
		size_t len = jw_utf8_len((const unsigned char *)s);

		if (!len) {
			fputs("\\ufffd", stdout);	/* an invalid byte: U+FFFD replaces it */
			continue;
		}
		if (len > 1) {
			fwrite(s, 1, len, stdout);
			s += len - 1;
			continue;
		}
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void member(const char *key)
{
	if (!first[depth])
		putchar(',');
	first[depth] = false;
	if (depth)
		indent();
	if (key) {
		quoted(key);
		fputs(cli.pretty ? ": " : ":", stdout);
	}
}

static void open_(const char *key, char c)
{
	member(key);
	putchar(c);
	if (depth < MAX_DEPTH - 1)
		depth++;
	first[depth] = true;
}

static void close_(char c)
{
	bool empty = first[depth];

	if (depth)
		depth--;
	if (!empty)
		indent();
	putchar(c);
}

void jw_open_object(const char *key) { open_(key, '{'); }
void jw_close_object(void) { close_('}'); }
void jw_open_array(const char *key) { open_(key, '['); }
void jw_close_array(void) { close_(']'); }

void jw_string(const char *key, const char *value)
{
	member(key);
	quoted(value ? value : "");
}

void jw_uint(const char *key, unsigned long long value)
{
	member(key);
	printf("%llu", value);
}

void jw_int(const char *key, long long value)
{
	member(key);
	printf("%lld", value);
}

void jw_bool(const char *key, bool value)
{
	member(key);
	fputs(value ? "true" : "false", stdout);
}

void jw_finish(void)
{
	putchar('\n');
	depth = 0;
	first[0] = true;
}
