// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nmr-bpf npi { register | list | show | deregister } */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static struct {
	const char *name, *hook, *id, *version, *slots, *chars;
} reg_args;
static const struct cli_opt register_opts[] = {
	CHOICE("hook", &reg_args.hook, cli_hooks, true, "the kind of hook its clients are"),
	OPT("id", &reg_args.id, "GUID", "its GUID (default: a new one)"),
	OPT("version", &reg_args.version, "N", "its version, 1 or more (default 1)"),
	OPT("slots", &reg_args.slots, "SLOT[,SLOT...]",
	    "the provider functions it defines (default: main)"),
	OPT("characteristics", &reg_args.chars, "FILE.o",
	    "its own characteristics structs, from the BTF of FILE.o"),
	OPT_END,
};
static const struct cli_spec register_spec = {
	.command = "nmr-bpf npi register", .positional = "NAME", .opts = register_opts,
};
#define NPI_REGISTER_USAGE cli_usage(&register_spec)

static int help(void)
{
	printf("Usage: %s\n"
	       "       nmr-bpf npi list\n"
	       "       nmr-bpf npi show NPI\n"
	       "       nmr-bpf npi deregister NPI\n"
	       "\n"
	       "An NPI (Network Programming Interface) is what providers and clients register\n"
	       "for: only a provider and a client of the same NPI are ever bound. Its hook says\n"
	       "which kind of client it has and so which program type its providers must be;\n"
	       "its version (default 1) is what a provider implements unless it says otherwise.\n"
	       "--slots names the provider functions it defines (default: one, \"main\"): a\n"
	       "provider gives one program per slot; a client's chain runs the first.\n"
	       "--characteristics gives the NPI its own characteristics: FILE.o, an object built\n"
	       "with clang -g -target bpf (or raw BTF), whose BTF holds struct\n"
	       "provider_characteristics and/or struct client_characteristics. Providers and\n"
	       "clients then give their values with --char FIELD=VALUE, kept in\n"
	       "npi/<id>/provider_chars and client_chars with the NPI's field names.\n"
	       "Deregistering is refused while providers or clients use it.\n",
	       NPI_REGISTER_USAGE);
	cli_help_opts(stdout, &register_spec);
	return 0;
}

/* The registry's providers and clients, read once per command for every NPI printed. */
static struct {
	bool read;
	struct nmr_provider_record *p;
	struct nmr_client_record *c;
	size_t np, nc;
} users;

static void count_users(struct nmr_registry *reg, const struct nmr_npi_record *npi,
			size_t *nprov, size_t *ncli)
{
	if (!users.read) {
		users.read = true;
		if (nmr_provider_list(reg, &users.p, &users.np))
			users.np = 0;
		if (nmr_client_list(reg, &users.c, &users.nc))
			users.nc = 0;
	}
	*nprov = *ncli = 0;
	for (size_t i = 0; i < users.np; i++)
		*nprov += nmr_guid_equal(&users.p[i].npi, &npi->id);
	for (size_t i = 0; i < users.nc; i++)
		*ncli += nmr_guid_equal(&users.c[i].npi, &npi->id);
}

static void print_npi(struct nmr_registry *reg, const struct nmr_npi_record *npi, bool header,
		      bool detail)
{
	char guid[NMR_GUID_STR_LEN];
	__u32 pc = 0, cc = 0;
	size_t np, nc;

	nmr_guid_format(&npi->id, guid);
	count_users(reg, npi, &np, &nc);
	nmr_npi_chars_size(reg, guid, NMR_MODULE_PROVIDER, &pc);
	nmr_npi_chars_size(reg, guid, NMR_MODULE_CLIENT, &cc);
	if (cli.json) {
		jw_open_object(jw, NULL);
		jw_string(jw, "id", guid);
		jw_string(jw, "name", npi->name);
		jw_string(jw, "hook", nmr_hook_name(npi->hook));
		jw_uint(jw, "version", npi->version);
		jw_names(jw, "slots", npi->slots, sizeof(npi->slots[0]),
			 npi->nslots < NMR_MAX_SLOTS ? npi->nslots : NMR_MAX_SLOTS);
		jw_uint(jw, "providers", np);
		jw_uint(jw, "clients", nc);
		jw_uint(jw, "provider_characteristics_size", pc);
		jw_uint(jw, "client_characteristics_size", cc);
		jw_close_object(jw);
		return;
	}
	if (header)
		printf("%-36s  %-20s  %-10s  %7s  %9s  %7s\n", "ID", "NAME", "HOOK", "VERSION",
		       "PROVIDERS", "CLIENTS");
	printf("%-36s  %-20s  %-10s  %7u  %9zu  %7zu\n", guid, npi->name,
	       nmr_hook_name(npi->hook), npi->version, np, nc);
	if (detail && pc)
		printf("characteristics: struct provider_characteristics, %u bytes, version %u "
		       "(%s/npi/%s/provider_chars)\n", pc, npi->version, nmr_registry_root(reg),
		       guid);
	if (detail && cc)
		printf("characteristics: struct client_characteristics, %u bytes, version %u "
		       "(%s/npi/%s/client_chars)\n", cc, npi->version, nmr_registry_root(reg),
		       guid);
}

CLI_OBJECT(npi, "NPI", print_npi)

static int do_register(int argc, char **argv)
{
	const char *name = NULL, *hook, *id, *version, *slots, *chars;
	char slot_buf[NMR_MAX_SLOTS * NMR_SLOT_LEN + 8], *save = NULL;
	NMR_OPTS(nmr_npi_opts, o);
	struct nmr_npi_record rec;
	struct nmr_registry *reg;
	struct nmr_guid guid;
	int err;

	err = cli_parse(argc, argv, &register_spec, &name, 1, 1);
	if (err)
		return err;
	hook = reg_args.hook, id = reg_args.id, version = reg_args.version;
	slots = reg_args.slots, chars = reg_args.chars;
	if (nmr_hook_parse(hook, &o.hook))
		return cli_usage_err(NPI_REGISTER_USAGE, "unknown hook '%s' (xdp, tc-ingress, "
				     "tc-egress)", hook);
	if (id && nmr_guid_parse(id, &guid))
		return cli_usage_err(NPI_REGISTER_USAGE, "'%s' is not a GUID", id);
	if (version && (err = cli_parse_range("--version", version, 1, UINT32_MAX, &o.version)))
		return err;
	if (slots) {
		int n = 0;

		snprintf(slot_buf, sizeof(slot_buf), "%s", slots);
		for (char *s = slot_buf, *t; (t = strtok_r(s, ",", &save)); s = NULL) {
			if (n == NMR_MAX_SLOTS)
				return cli_usage_err(NPI_REGISTER_USAGE, "at most %d slots",
						     NMR_MAX_SLOTS);
			o.slots[n++] = t;
		}
	}
	o.name = name;
	o.id = id ? &guid : NULL;
	o.characteristics_path = chars;
	if ((err = cli_open(true, &reg)))
		return err;
	err = nmr_npi_register(reg, &o, &rec);
	return cli_registered(reg, err, &npi_object, &rec, &rec.id);
}

static int do_help_cmd(int argc, char **argv)
{
	return help();
}

int do_npi(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "register", do_register }, { "list", do_list }, { "show", do_show },
		{ "deregister", do_deregister }, { "help", do_help_cmd }, { NULL },
	};

	return cli_dispatch("npi", cmds, argc, argv, help);
}
