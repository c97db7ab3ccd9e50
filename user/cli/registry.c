// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nmr-bpf registry { show | check | destroy }: the registry root as a whole. */
#include <errno.h>
#include <stdlib.h>
#include "cli.h"

static int help(void)
{
	printf("Usage: nmr-bpf registry show\n"
	       "       nmr-bpf registry check [--repair]\n"
	       "       nmr-bpf registry destroy\n"
	       "\n"
	       "show: where the registry is and how much it holds.\n"
	       "check: where records, pins and what the kernel runs disagree (hooks, chain\n"
	       "tables, bindings, directories no record names); exits 1 if anything does.\n"
	       "A command killed half-way is finished or undone by the next command anyway.\n"
	       "--repair: make them agree (relink a chain from its records, deregister a\n"
	       "client whose device is gone, remove what no record names).\n"

	       "destroy: deregister every client (detaching its hook), provider and NPI,\n"
	       "then remove the registry's maps and directories from bpffs. Only names\n"
	       "nmr-bpf makes are removed: other tools' pins in a shared root stay. A root\n"
	       "that is not on bpffs is refused. Problems are reported after the rest is done.\n");
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct nmr_npi_record *npis = NULL;
	struct nmr_provider_record *provs = NULL;
	struct nmr_client_record *clients = NULL;
	struct nmr_binding_record *binds = NULL;
	size_t nn = 0, np = 0, nc = 0, nb = 0;
	__u64 gen = 0;
	struct nmr_registry *reg;
	static const struct cli_spec spec = { .command = "nmr-bpf registry show" };
	int err = cli_parse(argc, argv, &spec, NULL, 0, 0);

	if (err || (err = cli_open(false, &reg)))
		return err;
	if (nmr_npi_list(reg, &npis, &nn) || nmr_provider_list(reg, &provs, &np) ||
	    nmr_client_list(reg, &clients, &nc) ||
	    nmr_binding_list(reg, NULL, NULL, &binds, &nb) || nmr_registry_generation(reg, &gen)) {
		err = cli_lib_err();
	} else if (cli.json) {
		jw_open_object(jw, NULL);
		jw_string(jw, "root", nmr_registry_root(reg));
		jw_uint(jw, "abi_version", NMR_ABI_VERSION);
		jw_uint(jw, "npis", nn);
		jw_uint(jw, "providers", np);
		jw_uint(jw, "clients", nc);
		jw_uint(jw, "bindings", nb);
		jw_uint(jw, "generation", gen);
		jw_close_object(jw);
		jw_finish(jw);
	} else {
		printf("root:       %s\nnpis:       %zu\nproviders:  %zu\nclients:    %zu\n"
		       "bindings:   %zu\ngeneration: %llu\n", nmr_registry_root(reg), nn, np, nc, nb,
		       (unsigned long long)gen);
	}
	free(npis);
	free(provs);
	free(clients);
	free(binds);
	nmr_registry_close(reg);
	return err;
}

static int do_destroy(int argc, char **argv)
{
	struct nmr_registry *reg;
	static const struct cli_spec spec = { .command = "nmr-bpf registry destroy" };
	int err = cli_parse(argc, argv, &spec, NULL, 0, 0);

	if (err)
		return err;
	err = nmr_registry_open(cli.root, NMR_REGISTRY_NO_CREATE, &reg);
	if (err == -EPERM || err == -EACCES)
		return cli_lib_err();
	if (err) {
		/* a registry this build cannot read: take it apart by its pins */
		char why[512];

		snprintf(why, sizeof(why), "%s", nmr_last_error());
		if (nmr_registry_purge(cli.root))
			return cli_lib_err();
		cli_warn("%s; removed its pins instead", why);
		return 0;
	}
	if (cli.expect_gen_set && (nmr_registry_lock(reg) ||
				   nmr_expect_generation(reg, NULL, cli.expect_gen))) {
		err = cli_lib_err();
		nmr_registry_close(reg);
		return err;
	}
	if (nmr_registry_destroy(reg))
		err = cli_lib_err();
	else if (cli.json) {
		jw_open_object(jw, NULL);
		jw_string(jw, "destroyed", nmr_registry_root(reg));
		jw_close_object(jw);
		jw_finish(jw);
	}
	nmr_registry_close(reg);
	return err;
}

static void report_problem(const char *problem, bool repaired, void *ctx)
{
	if (cli.json) {
		jw_open_object(jw, NULL);
		jw_string(jw, "problem", problem);
		jw_bool(jw, "repaired", repaired);
		jw_close_object(jw);
	} else {
		printf("%s%s\n", problem, repaired ? " (repaired)" : "");
	}
}

static int do_check(int argc, char **argv)
{
	static bool repair;
	static const struct cli_opt opts[] = {
		FLAG("repair", &repair, "fix what it finds (what can be fixed)"), OPT_END,
	};
	static const struct cli_spec spec = { .command = "nmr-bpf registry check", .opts = opts };
	struct nmr_registry *reg;
	int err = cli_parse(argc, argv, &spec, NULL, 0, 0), found;

	char *problems = NULL;
	size_t size = 0;
	FILE *mem = NULL;
	struct json_writer *out = jw;

	if (err || (err = cli_open(false, &reg)))
		return err;
	/*
	 * -j: the problems are one array, written once the check is known to have
	 * run: a check that fails prints only its error, a document of its own.
	 */
	if (cli.json && (!(mem = open_memstream(&problems, &size)) ||
			 !(jw = jw_new(mem, cli.pretty)))) {
		jw = out;
		if (mem)
			fclose(mem);
		nmr_registry_close(reg);
		return cli_err("registry check: out of memory");
	}
	if (cli.json)
		jw_open_array(jw, NULL);
	found = nmr_registry_check(reg, repair, report_problem, NULL);
	if (cli.json) {
		jw_close_array(jw);
		jw_finish(jw);
		jw_destroy(&jw);
		jw = out;
		fclose(mem);
		if (found >= 0)
			fwrite(problems, 1, size, stdout);
		free(problems);
	}
	if (found < 0)
		err = cli_lib_err();
	else if (found && !repair)
		err = 1;
	else if (!found && !cli.json)
		printf("registry %s: records, pins and hooks agree\n", nmr_registry_root(reg));
	nmr_registry_close(reg);
	return err;
}

static int do_help_cmd(int argc, char **argv)
{
	return help();
}

int do_registry(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "show", do_show }, { "check", do_check }, { "destroy", do_destroy },
		{ "help", do_help_cmd }, { NULL },
	};

	return cli_dispatch("registry", cmds, argc, argv, help);
}
