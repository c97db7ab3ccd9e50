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

static void quoted(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20)
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
