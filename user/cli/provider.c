// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nmr-bpf provider { register | list | show | deregister } */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static struct {
	const char *npi, *prog, *name, *id, *version, *priority, *cont, *af;
	const char *tags[NMR_MAX_TAGS];
	const char *slots[NMR_MAX_SLOTS];
	const char *chars[CLI_MAX_CHARS + 1];
} reg_args;
static const struct cli_opt register_opts[] = {
	REQUIRED("npi", &reg_args.npi, "NPI", "the NPI it provides"),
	OPT("prog", &reg_args.prog, "PROGRAM", "its program in the object (default: the only one)"),
	OPT("name", &reg_args.name, "NAME", "its name (default: the program's)"),
	OPT("id", &reg_args.id, "GUID", "its GUID (default: a new one)"),
	OPT("version", &reg_args.version, "N|MIN-MAX", "NPI versions it implements (default 1)"),
	OPT("priority", &reg_args.priority, "N", "lower runs first in a client's chain"),
	OPT("continue-on", &reg_args.cont, "VERDICT[,VERDICT...]",
	    "verdicts after which the next provider runs (xdp: aborted, drop, pass, tx, "
	    "redirect; tc: ok, shot, redirect, pipe, unspec...; default: pass, tc unspec)"),
	OPT("af", &reg_args.af, "inet,inet6", "address families it handles"),
	OPT_LIST("tag", reg_args.tags, NMR_MAX_TAGS, "TAG", "a tag clients may require"),
	OPT_LIST("slot", reg_args.slots, NMR_MAX_SLOTS, "SLOT=PROGRAM",
		 "its program for one of the NPI's other slots"),
	OPT_LIST("char", reg_args.chars, CLI_MAX_CHARS, "FIELD=VALUE",
		 "a field of the NPI's struct provider_characteristics (a number, an enum's "
		 "name, true/false, a string; nested: a.b, a[1])"),
	OPT_END,
};
static const struct cli_spec register_spec = {
	.command = "nmr-bpf provider register", .positional = "OBJECT.bpf.o",
	.opts = register_opts,
};
#define PROVIDER_REGISTER_USAGE cli_usage(&register_spec)

static struct {
	const char *prog;
} replace_args;
static const struct cli_opt replace_opts[] = {
	OPT("prog", &replace_args.prog, "PROGRAM", "its program in the new object"),
	OPT_END,
};
static const struct cli_spec replace_spec = {
	.command = "nmr-bpf provider replace", .positional = "PROVIDER OBJECT.bpf.o",
	.opts = replace_opts,
};

#define VERIFIER_LOG_SIZE (4 << 20)
#define VERIFIER_LOG_TAIL 20

static int help(void)
{
	printf("Usage: %s\n", PROVIDER_REGISTER_USAGE);
	printf("       %s\n"
	       "       nmr-bpf provider list\n"
	       "       nmr-bpf provider show PROVIDER\n"
	       "       nmr-bpf provider deregister PROVIDER\n"
	       "\n"
	       "register loads and verifies PROGRAM (or the object's only program), keeps the\n"
	       "object in the registry, and binds it into the chain of every client of the NPI\n"
	       "whose characteristics it meets, in priority order (--priority: default %d).\n"
	       "replace swaps in a new version of the object: verified first, then each\n"
	       "client's chain changes in one atomic step; bindings keep their position,\n"
	       "counters and context, and the provider's maps carry over where alike.\n"
	       "deregister unbinds it everywhere and returns when no packet can still run it.\n",
	       cli_usage(&replace_spec), NMR_DEFAULT_PRIORITY);
	cli_help_opts(stdout, &register_spec);
	cli_help_opts(stdout, &replace_spec);
	return 0;
}

static enum nmr_hook hook_of(struct nmr_registry *reg, const struct nmr_guid *npi)
{
	struct nmr_npi_record n;
	char guid[NMR_GUID_STR_LEN];

	nmr_guid_format(npi, guid);
	return nmr_npi_find(reg, guid, &n) ? NMR_HOOK_XDP : n.hook;
}

static void print_provider(struct nmr_registry *reg, const struct nmr_provider_record *p,
			   bool header, bool detail)
{
	char guid[NMR_GUID_STR_LEN], npi[NMR_GUID_STR_LEN], cont[128], af[32], ver[32];
	struct nmr_binding_record *b = NULL;
	size_t nb = 0, bound = 0;

	nmr_guid_format(&p->id, guid);
	cli_name_of(reg, CLI_NPI, &p->npi, npi, sizeof(npi));
	nmr_verdicts_format(hook_of(reg, &p->npi), p->continue_on, cont, sizeof(cont));
	nmr_binding_list(reg, NULL, guid, &b, &nb);
	for (size_t i = 0; i < nb; i++)
		bound += b[i].state == NMR_BINDING_BOUND;
	snprintf(ver, sizeof(ver), "%u-%u", p->chars.version_min, p->chars.version_max);

	if (cli.json) {
		jw_open_object(jw, NULL);
		jw_string(jw, "id", guid);
		jw_string(jw, "name", p->name);
		jw_string(jw, "npi", npi);
		jw_string(jw, "prog", p->prog_name);
		jw_uint(jw, "priority", p->priority);
		jw_uint(jw, "version_min", p->chars.version_min);
		jw_uint(jw, "version_max", p->chars.version_max);
		jw_uint(jw, "prog_id", p->prog_id);
		jw_open_array(jw, "continue_on");
		for (char *s = cont, *save = NULL, *t; (t = strtok_r(s, ",", &save)); s = NULL)
			jw_string(jw, NULL, t);
		jw_close_array(jw);
		jw_bool(jw, "sdk", p->flags & NMR_PROVIDER_F_SDK);
		jw_bool(jw, "xdp_frags", p->flags & NMR_PROVIDER_F_FRAGS);
		jw_string(jw, "af", cli_af_format(p->chars.af_mask, af, sizeof(af)));
		jw_open_array(jw, "tags");
		for (int i = 0; i < NMR_MAX_TAGS; i++)
			if (p->chars.tags[i][0])
				jw_string(jw, NULL, p->chars.tags[i]);
		jw_close_array(jw);
		jw_open_array(jw, "slot_programs");
		for (int i = 0; i < NMR_MAX_SLOTS && p->slot_progs[i][0]; i++)
			jw_string(jw, NULL, p->slot_progs[i]);
		jw_close_array(jw);
		jw_uint(jw, "registration", p->number);
		jw_uint(jw, "bindings", bound);
		print_npi_chars(reg, NMR_MODULE_PROVIDER, &p->npi, &p->id);
		if (detail) {
			print_bindings_json(reg, "binding_list", b, nb);
		}
		jw_close_object(jw);
		free(b);
		return;
	}
	if (!detail) {
		if (header)
			printf("%-36s  %-20s  %-12s  %4s  %-7s  %-14s  %7s  %8s\n", "ID", "NAME",
			       "NPI", "PRIO", "VERSION", "CONTINUE-ON", "PROG_ID", "BINDINGS");
		printf("%-36s  %-20s  %-12s  %4u  %-7s  %-14s  %7u  %8zu\n", guid, p->name, npi,
		       p->priority, ver, cont[0] ? cont : "-", p->prog_id, bound);
		free(b);
		return;
	}
	printf("id:           %s\n"
	       "name:         %s\n"
	       "npi:          %s\n"
	       "program:      %s (prog_id %u%s%s)\n"
	       "priority:     %u\n"
	       "versions:     %s\n"
	       "continue-on:  %s\n"
	       "af:           %s\n"
	       "registration: %llu\n"
	       "registry:     %s/provider/%s\n",
	       guid, p->name, npi, p->prog_name, p->prog_id,
	       p->flags & NMR_PROVIDER_F_SDK ? ", binding contexts" : "",
	       p->flags & NMR_PROVIDER_F_FRAGS ? ", xdp.frags" : "", p->priority, ver,
	       cont[0] ? cont : "- (its verdict is final)",
	       cli_af_format(p->chars.af_mask, af, sizeof(af)), (unsigned long long)p->number,
	       nmr_registry_root(reg), guid);
	print_npi_chars(reg, NMR_MODULE_PROVIDER, &p->npi, &p->id);
	printf("bindings:\n");
	if (!nb)
		printf("  (none: no client of the NPI)\n");
	for (size_t i = 0; i < nb; i++) {
		char cname[64];

		cli_name_of(reg, CLI_CLIENT, &b[i].client, cname, sizeof(cname));
		if (b[i].state == NMR_BINDING_BOUND)
			printf("  %-24s position %u\n", cname, b[i].position);
		else
			printf("  %-24s declined: %s\n", cname, b[i].reason);
	}
	free(b);
}

static int parse_version(const char *s, __u32 *min, __u32 *max)
{
	char buf[32], *dash;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return cli_usage_err(NULL, "--version: '%s' is not N or MIN-MAX", s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (cli_parse_range("--version", buf, 1, UINT32_MAX, min))
		return EXIT_USAGE;
	if (!dash) {
		*max = *min;
		return 0;
	}
	if (cli_parse_range("--version", dash + 1, 1, UINT32_MAX, max))
		return EXIT_USAGE;
	if (*max < *min)
		return cli_usage_err(NULL, "--version %s: the range is empty (give MIN-MAX with "
				     "MIN <= MAX)", s);
	return 0;
}

static void print_verifier_log(const char *log)
{
	const char *start = log + strlen(log);
	int lines = 0;

	if (!log[0] || cli.json)
		return;
	if (cli.debug) {
		fprintf(stderr, "verifier log:\n%s\n", log);
		return;
	}
	while (start > log && lines <= VERIFIER_LOG_TAIL)
		if (*--start == '\n')
			lines++;
	if (*start == '\n')
		start++;
	fprintf(stderr, "verifier log (last lines; -d for all of it):\n%s\n", start);
}

CLI_OBJECT(provider, "PROVIDER", print_provider)

static int do_register(int argc, char **argv)
{
	const char *object = NULL, *npi, *prog, *name, *id, *version, *priority, *cont, *af;
	const char **slot_args = reg_args.slots, **chars = reg_args.chars;
	char slot_buf[NMR_MAX_SLOTS][NMR_SLOT_LEN + NMR_PROG_NAME_LEN];
	NMR_OPTS(nmr_provider_opts, o);
	struct nmr_provider_record rec;
	struct nmr_npi_record npi_rec;
	struct nmr_registry *reg;
	struct nmr_guid guid;
	int err;

	err = cli_parse(argc, argv, &register_spec, &object, 1, 1);
	if (err)
		return err;
	npi = reg_args.npi, prog = reg_args.prog, name = reg_args.name, id = reg_args.id;
	version = reg_args.version, priority = reg_args.priority, cont = reg_args.cont;
	af = reg_args.af;
	memcpy(o.tags, reg_args.tags, sizeof(reg_args.tags));
	if (id && nmr_guid_parse(id, &guid))
		return cli_usage_err(PROVIDER_REGISTER_USAGE, "'%s' is not a GUID", id);
	if (version && (err = parse_version(version, &o.version_min, &o.version_max)))
		return err;
	if (priority) {
		if ((err = cli_parse_u32("--priority", priority, &o.priority)))
			return err;
		o.priority_set = true;
	}
	if (af && (err = cli_parse_af(af, &o.af_mask)))
		return err;
	o.object_path = object;
	o.npi = npi;
	o.prog = prog;
	o.name = name;
	o.id = id ? &guid : NULL;
	o.npi_char_fields = chars;
	o.log_size = VERIFIER_LOG_SIZE;
	o.log_buf = calloc(1, o.log_size);
	if (!o.log_buf)
		return cli_err("out of memory");

	if ((err = cli_open(false, &reg))) {
		free(o.log_buf);
		return err;
	}
	/* --slot NAME=PROG: into the NPI's slot order */
	for (int i = 0; i < NMR_MAX_SLOTS && slot_args[i]; i++) {
		char *eq;
		__u32 k;

		snprintf(slot_buf[i], sizeof(slot_buf[i]), "%s", slot_args[i]);
		eq = strchr(slot_buf[i], '=');
		if (!eq || nmr_npi_find(reg, npi, &npi_rec)) {
			err = cli_usage_err(PROVIDER_REGISTER_USAGE, "%s", eq ? nmr_last_error() :
					    "--slot takes SLOT=PROGRAM");
			goto out;
		}
		*eq = 0;
		for (k = 1; k < npi_rec.nslots && strcmp(npi_rec.slots[k], slot_buf[i]); k++)
			;
		if (k >= npi_rec.nslots) {
			err = cli_usage_err(PROVIDER_REGISTER_USAGE, "npi %s has no slot %s after "
					    "its first (%s, given by --prog)", npi_rec.name,
					    slot_buf[i], npi_rec.slots[0]);
			goto out;
		}
		o.slot_progs[k] = eq + 1;
	}
	if (cont) {
		/* verdict names depend on the NPI's hook */
		if (nmr_npi_find(reg, npi, &npi_rec) ||
		    nmr_verdicts_parse(npi_rec.hook, cont, &o.continue_on)) {
			err = cli_usage_err(PROVIDER_REGISTER_USAGE, "%s", nmr_last_error());
			goto out;
		}
		o.continue_on_set = true;
	}
	err = nmr_provider_register(reg, &o, &rec);
	err = cli_registered(reg, err, &provider_object, &rec, &rec.id);
	if (err)
		print_verifier_log(o.log_buf);	/* after the error */
	free(o.log_buf);
	return err;
out:
	nmr_registry_close(reg);
	free(o.log_buf);
	return err;
}

static int do_replace(int argc, char **argv)
{
	const char *pos[2] = {}, *prog;
	struct nmr_provider_replacement r = {};
	struct nmr_provider_record rec;
	struct nmr_registry *reg;
	int err;

	err = cli_parse(argc, argv, &replace_spec, pos, 2, 2);
	if (err)
		return err;
	prog = replace_args.prog;
	r.provider = pos[0];
	r.object_path = pos[1];
	r.prog = prog;
	r.log_size = VERIFIER_LOG_SIZE;
	r.log_buf = calloc(1, r.log_size);
	if (!r.log_buf)
		return cli_err("out of memory");
	if ((err = cli_open(false, &reg))) {
		free(r.log_buf);
		return err;
	}
	err = nmr_provider_replace(reg, &r, 1) ?: nmr_provider_find(reg, r.provider, &rec);
	err = cli_registered(reg, err, &provider_object, &rec, NULL);	/* replace: no GUID */
	if (err)
		print_verifier_log(r.log_buf);
	free(r.log_buf);
	return err;
}

static int do_help_cmd(int argc, char **argv)
{
	return help();
}

int do_provider(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "register", do_register }, { "replace", do_replace }, { "list", do_list },
		{ "show", do_show }, { "deregister", do_deregister }, { "help", do_help_cmd },
		{ NULL },
	};

	return cli_dispatch("provider", cmds, argc, argv, help);
}
