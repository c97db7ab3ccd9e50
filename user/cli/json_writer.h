/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A JSON writer on a FILE* (json.c). */
#ifndef NMR_JSON_WRITER_H
#define NMR_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct json_writer;

/* A writer of documents to out; pretty: indented, one member a line. */
struct json_writer *jw_new(FILE *out, bool pretty);
void jw_pretty(struct json_writer *w, bool pretty);
void jw_destroy(struct json_writer **w);

/* Members: key NULL inside an array or for the document itself. */
void jw_open_object(struct json_writer *w, const char *key);
void jw_close_object(struct json_writer *w);
void jw_open_array(struct json_writer *w, const char *key);
void jw_close_array(struct json_writer *w);
void jw_string(struct json_writer *w, const char *key, const char *value);
void jw_uint(struct json_writer *w, const char *key, unsigned long long value);
void jw_int(struct json_writer *w, const char *key, long long value);
void jw_bool(struct json_writer *w, const char *key, bool value);
/* An array of n strings. */
void jw_strings(struct json_writer *w, const char *key, const char *const *v, size_t n);
/* An array of n names kept as char[n][width] (records' fixed-size strings). */
void jw_names(struct json_writer *w, const char *key, const void *names, size_t width, size_t n);
/* Ends the document with a newline; the writer is ready for the next one. */
void jw_finish(struct json_writer *w);
/* The length of the valid UTF-8 sequence at s, 0 for an invalid byte. */
size_t jw_utf8_len(const unsigned char *s);

#endif /* NMR_JSON_WRITER_H */
