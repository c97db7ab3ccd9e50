// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The command line's option parsing and the JSON writer: NUL-separated arguments, parsed as
 * `provider register` parses them; every value that is accepted is checked the way the
 * command checks it, and written as JSON (to /dev/null: ASan watches, not the eye).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* errors and JSON both go to stdout with -j */
	cli.json = true;
	if (!freopen("/dev/null", "w", stdout) || !(jw = jw_new(stdout, false)))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *npi, *name, *prio, *af, *cont, *mode, *tags[4], *pos[2];
	static bool flag;
	static const struct cli_opt opts[] = {
		REQUIRED("npi", &npi, "NPI", "x"), OPT("name", &name, "NAME", "x"),
		OPT("priority", &prio, "N", "x"), OPT("af", &af, "AF", "x"),
		OPT("continue-on", &cont, "V", "x"), CHOICE("mode", &mode, cli_modes, false, "x"),
		OPT_LIST("tag", tags, 4, "TAG", "x"), FLAG("force", &flag, "x"), OPT_END,
	};
	static const struct cli_spec spec = {
		.command = "nmr-bpf fuzz", .positional = "A [B]", .opts = opts,
	};
	char *buf = malloc(size + 1), *argv[64];
	int argc = 0;
	__u32 v, mask;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	for (char *p = buf; p < buf + size && argc < 64; p += strlen(p) + 1)
		argv[argc++] = p;
	cli.root = NULL;
	npi = name = prio = af = cont = mode = NULL;
	memset(tags, 0, sizeof(tags));
	memset(pos, 0, sizeof(pos));
	flag = false;
	if (!cli_parse(argc, argv, &spec, pos, 2, 0)) {
		if (prio)
			cli_parse_range("--priority", prio, 1, 1000, &v);
		if (af)
			cli_parse_af(af, &mask);
		if (cont)
			nmr_verdicts_parse(NMR_HOOK_XDP, cont, &mask);
		jw_open_object(jw, NULL);
		jw_string(jw, "npi", npi);
		jw_string(jw, "name", name);
		jw_string(jw, "root", cli.root);
		jw_open_array(jw, "tags");
		for (int i = 0; i < 4 && tags[i]; i++)
			jw_string(jw, NULL, tags[i]);
		jw_close_array(jw);
		jw_close_object(jw);
		jw_finish(jw);
	}
	cli.json = true;
	cli.pretty = false;
	free(buf);
	return 0;
}
