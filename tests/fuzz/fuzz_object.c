// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * BPF objects as users give them, through the inspector: libbpf parses them in a child
 * process, so whatever the bytes, this process gets an answer (a program, or an error).
 */
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "nmr_internal.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	libbpf_set_print(quiet);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct nmr_npi_record npi = { .name = "fuzz", .hook = NMR_HOOK_XDP, .nslots = 1 };
	struct nmr_provider_record rec = {};
	int err;

	if (size < 4 || memcmp(data, "\177ELF", 4))
		return 0;	/* nmr_object_read refuses these before any parsing */
	err = nmr_object_inspect(data, size, "fuzz.bpf.o", NULL, &npi, NULL, &rec);
	if (!err && !memchr(rec.prog_name, 0, sizeof(rec.prog_name)))
		abort();
	if (err && !nmr_last_error()[0])
		abort();
	return 0;
}
