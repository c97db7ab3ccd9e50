// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nmr-bpf [OPTIONS] OBJECT COMMAND [ARGS]: the registrar's command line.
 * Grammar and output follow bpftool (README.md, "Command line").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "cli.h"

struct cli_globals cli;
struct json_writer *jw;
const char *const cli_hooks[] = { "xdp", "tc-ingress", "tc-egress", NULL };
const char *const cli_modes[] = { "native", "skb", NULL };

static int do_help(int argc, char **argv);
static int do_version(int argc, char **argv);

static const struct cli_cmd objects[] = {
	{ "npi", do_npi },
	{ "provider", do_provider },
	{ "client", do_client },
	{ "binding", do_binding },
	{ "registry", do_registry },
	{ "apply", cmd_apply },
	{ "dump", cmd_dump },
	{ "monitor", cmd_monitor },
	{ "metrics", cmd_metrics },
	{ "help", do_help },
	{ "version", do_version },
	{ NULL, NULL },
};

static int usage(FILE *f)
{
	fprintf(f,
		"Usage: nmr-bpf [OPTIONS] OBJECT COMMAND [ARGS]\n"
		"       nmr-bpf OBJECT help\n"
		"\n"
		"OBJECT := { npi | provider | client | binding | registry }\n"
		"           (and the commands apply, dump, monitor, metrics)\n"
		"COMMAND := { register | list | show | deregister | help }\n"
		"           (provider: also replace; registry: show | destroy)\n"
		"\n"
		"  nmr-bpf npi register NAME --hook xdp|tc-ingress|tc-egress [--version N]\n"
		"  nmr-bpf provider register OBJECT.bpf.o --npi NPI [--prog PROG] [--name NAME]\n"
		"  nmr-bpf client register --npi NPI --dev IFNAME [--netns NAME] [--mode MODE]\n"
		"  nmr-bpf binding list [--client CLIENT] [--provider PROVIDER]\n"
		"  nmr-bpf apply -f FILE|- [--dry-run] [--prune]   the registry as FILE says\n"
		"  nmr-bpf dump [-o FILE] [--objects DIR]          the registry as such a file\n"
		"  nmr-bpf monitor                                 registry events as they happen\n"
		"  nmr-bpf metrics [--textfile DIR | --listen ADDR:PORT]  Prometheus metrics\n"
		"\n"
		"OPTIONS:\n"
		"  -j, --json     machine output (one JSON document on stdout)\n"
		"  -p, --pretty   pretty JSON (implies -j)\n"
		"  -d, --debug    libbpf debug output; full verifier log on a load failure\n"
		"  --root DIR     registry directory in bpffs (default %s, or $%s)\n"
		"  --expect-gen N change only if the registry's generation (a client's, for a\n"
		"                 command on a client) is N; else fail with a conflict\n"
		"  -h, --help     this help; 'nmr-bpf OBJECT help' for an object's commands\n"
		"  -V, --version  print the version\n"
		"\n"
		"Objects are named by GUID (braces optional) or by unique name; unambiguous\n"
		"prefixes of objects and commands are accepted (nmr-bpf prov l).\n",
		NMR_DEFAULT_ROOT, NMR_ROOT_ENV);
	return 0;
}

static int help(void)
{
	return usage(stdout);
}

static int do_help(int argc, char **argv)
{
	return help();
}

static int do_version(int argc, char **argv)
{
	if (cli.json) {
		jw_open_object(jw, NULL);
		jw_string(jw, "version", NMR_BPF_VERSION);
		jw_uint(jw, "abi_version", NMR_ABI_VERSION);
		jw_string(jw, "libbpf", libbpf_version_string());
		jw_close_object(jw);
		jw_finish(jw);
	} else {
		printf("nmr-bpf %s (registry layout %d, libbpf %s)\n", NMR_BPF_VERSION,
		       NMR_ABI_VERSION, libbpf_version_string());
	}
	return 0;
}

static void verror(const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cli.json) {
		jw_open_object(jw, NULL);
		jw_string(jw, "error", msg);
		jw_close_object(jw);
		jw_finish(jw);
	} else {
		fprintf(stderr, "Error: %s\n", msg);
	}
}

int cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	return 1;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	if (cli.json)	/* -j: stdout is one JSON document, stderr stays quiet */
		return;
	va_start(ap, fmt);
	fputs("Warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int cli_lib_err(void)
{
	return cli_err("%s", nmr_last_error());
}

int cli_usage_err(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	if (usage && !cli.json)
		fprintf(stderr, "Usage: %s\n", usage);
	return EXIT_USAGE;
}

static bool is_prefix(const char *arg, const char *name)
{
	return arg[0] && !strncmp(arg, name, strlen(arg));
}

int cli_dispatch(const char *object, const struct cli_cmd *cmds, int argc, char **argv,
		 int (*help)(void))
{
	const struct cli_cmd *found = NULL;
	int rc;

	if (argc < 1 || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))
		return help();
	for (const struct cli_cmd *c = cmds; c->name; c++) {
		if (!strcmp(argv[0], c->name)) {
			found = c;
			break;
		}
		if (is_prefix(argv[0], c->name)) {
			if (found)
				return cli_usage_err(NULL, "%s%s'%s' is ambiguous: %s or %s",
						     object ? object : "", object ? " " : "",
						     argv[0], found->name, c->name);
			found = c;
		}
	}
	if (!found)
		return cli_usage_err(NULL, "%s%s'%s' is not a command (try: nmr-bpf %s%shelp)",
				     object ? object : "", object ? ": " : "", argv[0],
				     object ? object : "", object ? " " : "");
	rc = found->fn(argc - 1, argv + 1);
	return rc == CLI_HELP_SHOWN ? 0 : rc;
}

/* Global options, accepted before the object and among a command's arguments. */
static int parse_global(int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
		cli.json = true;
	} else if (!strcmp(a, "-p") || !strcmp(a, "--pretty")) {
		cli.json = cli.pretty = true;
		jw_pretty(jw, true);
	} else if (!strcmp(a, "-d") || !strcmp(a, "--debug")) {
		cli.debug = true;
	} else if (!strcmp(a, "--expect-gen") || !strncmp(a, "--expect-gen=", 13)) {
		const char *v = a[12] == '=' ? a + 13 : NULL;
		char *end;

		if (!v) {
			if (*i + 1 >= argc)
				return -1;
			v = argv[++*i];
		}
		errno = 0;
		cli.expect_gen = strtoull(v, &end, 0);
		if (errno || end == v || *end || v[0] == '-')
			return -1;
		cli.expect_gen_set = true;
	} else if (!strcmp(a, "--root") || !strncmp(a, "--root=", 7)) {
		if (a[6] == '=') {
			cli.root = a + 7;
		} else {
			if (*i + 1 >= argc)
				return -1;
			cli.root = argv[++*i];
		}
	} else {
		return 0;
	}
	return 1;
}

/* Appends one item to the usage line being built, wrapping at 80 columns. */
static void usage_add(char *buf, size_t len, size_t *col, const char *item)
{
	size_t used = strlen(buf), n = strlen(item);

	if (*col + 1 + n > 80) {
		snprintf(buf + used, len - used, "\n       ");
		used = strlen(buf);
		*col = 7;
	}
	snprintf(buf + used, len - used, " %s", item);
	*col += 1 + n;
}

/* "--hook xdp|tc-ingress|tc-egress", "--id GUID", "--force", "--tag TAG]..." */
static void opt_usage(const struct cli_opt *o, char *buf, size_t len, bool brackets)
{
	size_t used;

	brackets = brackets && !o->required;
	snprintf(buf, len, "%s--%s", brackets ? "[" : "", o->name);
	used = strlen(buf);
	if (o->choices) {
		for (int i = 0; o->choices[i] && used < len; i++) {
			snprintf(buf + used, len - used, "%c%s", i ? '|' : ' ', o->choices[i]);
			used = strlen(buf);
		}
	} else if (!o->flag) {
		snprintf(buf + used, len - used, " %s", o->arg ? o->arg : "VALUE");
		used = strlen(buf);
	}
	if (used < len)
		snprintf(buf + used, len - used, "%s%s", brackets ? "]" : "",
			 o->list && brackets ? "..." : "");
}

bool cli_help_asked(int argc, char **argv)
{
	return argc && (!strcmp(argv[0], "help") || !strcmp(argv[0], "-h") ||
			!strcmp(argv[0], "--help"));
}

const char *cli_usage(const struct cli_spec *spec)
{
	static char buf[1024];
	char item[256];
	size_t col;

	snprintf(buf, sizeof(buf), "%s", spec->command);
	col = strlen(buf) + 7;	/* after "Usage: " */
	if (spec->positional)
		usage_add(buf, sizeof(buf), &col, spec->positional);
	/* required options first, as a reader needs them */
	for (int pass = 0; pass < 2; pass++) {
		for (const struct cli_opt *o = spec->opts; o && o->name; o++) {
			if (o->required != !pass)
				continue;
			opt_usage(o, item, sizeof(item), true);
			usage_add(buf, sizeof(buf), &col, item);
		}
	}
	if (spec->tail)
		usage_add(buf, sizeof(buf), &col, spec->tail);
	return buf;
}

void cli_help(FILE *f, const struct cli_spec *spec)
{
	fprintf(f, "Usage: %s\n", cli_usage(spec));
	cli_help_opts(f, spec);
}

void cli_help_opts(FILE *f, const struct cli_spec *spec)
{
	char item[256];

	if (!spec->opts || !spec->opts->name)
		return;
	fprintf(f, "\nOptions of %s:\n", spec->command + strlen("nmr-bpf "));
	for (const struct cli_opt *o = spec->opts; o->name; o++) {
		char text[512];
		const char *p = text;
		int col = 0;

		opt_usage(o, item, sizeof(item), false);
		snprintf(text, sizeof(text), "%s%s%s", o->help ? o->help : "",
			 o->required ? " (required)" : "", o->list ? " (repeatable)" : "");
		fprintf(f, "  %-34s", item);
		if (strlen(item) > 34) {	/* a long option: its help on the next line */
			fprintf(f, "\n  %-34s", "");
		}
		/* the help wrapped at 80 columns, under itself */
		while (*p) {
			size_t n = strcspn(p, " ");

			if (col && col + 1 + n > 80 - 37) {
				fprintf(f, "\n  %-34s", "");
				col = 0;
			}
			fprintf(f, "%s%.*s", col ? " " : " ", (int)n, p);
			col += 1 + n;
			p += n;
			while (*p == ' ')
				p++;
		}
		fputc('\n', f);
	}
}

static bool is_choice(const struct cli_opt *o, const char *v)
{
	for (int i = 0; o->choices[i]; i++)
		if (!strcmp(o->choices[i], v))
			return true;
	return false;
}

int cli_parse(int argc, char **argv, const struct cli_spec *spec, const char **pos, int npos,
	      int min_pos)
{
	const struct cli_opt *opts = spec->opts;
	int got = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct cli_opt *o;
		const char *eq, *v;
		size_t len;
		int g = parse_global(argc, argv, &i);

		if (g < 0)
			return cli_usage_err(cli_usage(spec), "%s needs a value (a number for "
					     "--expect-gen)", a);
		if (g)
			continue;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_help(stdout, spec);
			return CLI_HELP_SHOWN;
		}
		if (strncmp(a, "--", 2) || !a[2]) {
			if (a[0] == '-' && a[1])
				return cli_usage_err(cli_usage(spec), "unknown option %s", a);
			if (got == npos)
				return cli_usage_err(cli_usage(spec), "unexpected argument '%s'", a);
			pos[got++] = a;
			continue;
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		for (o = opts; o && o->name; o++)
			if (strlen(o->name) == len && !strncmp(a + 2, o->name, len))
				break;
		if (!o || !o->name)
			return cli_usage_err(cli_usage(spec), "unknown option %s", a);
		if (o->flag) {
			if (eq)
				return cli_usage_err(cli_usage(spec), "--%s takes no value", o->name);
			*o->flag = true;
			continue;
		}
		if (!eq && i + 1 >= argc)
			return cli_usage_err(cli_usage(spec), "--%s needs a value", o->name);
		/* "--name -j": a forgotten value, not a name (--name=-x says it is meant) */
		if (!eq && argv[i + 1][0] == '-' && argv[i + 1][1])
			return cli_usage_err(cli_usage(spec), "--%s needs a value, not the option %s",
					     o->name, argv[i + 1]);
		v = eq ? eq + 1 : argv[++i];
		if (o->choices && !is_choice(o, v)) {
			char all[256] = "";

			for (int k = 0; o->choices[k]; k++)
				snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s",
					 k ? ", " : "", o->choices[k]);
			return cli_usage_err(cli_usage(spec), "--%s '%s': give one of %s", o->name,
					     v, all);
		}
		if (o->list) {
			int n = 0;

			while (n < o->list_max && o->list[n])
				n++;
			if (n == o->list_max)
				return cli_usage_err(cli_usage(spec), "--%s given more than %d times",
						     o->name, o->list_max);
			o->list[n] = v;
		} else {
			*o->value = v;
		}
	}
	if (got < min_pos)
		return cli_usage_err(cli_usage(spec), "missing argument");
	for (const struct cli_opt *o = opts; o && o->name; o++)
		if (o->required && o->value && !*o->value)
			return cli_usage_err(cli_usage(spec), "%s: --%s is required",
					     spec->command + strlen("nmr-bpf "), o->name);
	return 0;
}

/* Decimal digits only: no sign, no space, no 0x or octal surprise, no trailing junk. */
int cli_parse_range(const char *what, const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > max)
			break;
	}
	if (p == s || (*p && (*p < '0' || *p > '9')))
		return cli_usage_err(NULL, "%s: '%s' is not a number (give a decimal number from "
				     "%u to %u)", what, s, min, max);
	if (v > max || v < min)
		return cli_usage_err(NULL, "%s: %s is out of range (give a number from %u to %u)",
				     what, s, min, max);
	*out = v;
	return 0;
}

int cli_parse_u32(const char *what, const char *s, __u32 *out)
{
	return cli_parse_range(what, s, 0, UINT32_MAX, out);
}

int cli_parse_af(const char *s, __u32 *mask)
{
	char buf[64], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	*mask = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "inet") || !strcmp(t, "ipv4"))
			*mask |= NMR_AF_INET;
		else if (!strcmp(t, "inet6") || !strcmp(t, "ipv6"))
			*mask |= NMR_AF_INET6;
		else
			return cli_usage_err(NULL, "address family '%s': use inet, inet6", t);
	}
	return 0;
}

const char *cli_af_format(__u32 mask, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", mask & NMR_AF_INET ? "inet" : "",
		 (mask & NMR_AF_INET) && (mask & NMR_AF_INET6) ? "," : "",
		 mask & NMR_AF_INET6 ? "inet6" : "");
	if (!mask)
		snprintf(buf, len, "any");
	return buf;
}

int cli_open(bool create, struct nmr_registry **reg)
{
	if (nmr_registry_open(cli.root, create ? 0 : NMR_REGISTRY_NO_CREATE, reg))
		return cli_lib_err();
	if (!cli.expect_gen_set)
		return 0;
	/* released by nmr_registry_close(), after the command's change */
	if (nmr_registry_lock(*reg) ||
	    nmr_expect_generation(*reg, cli.expect_client, cli.expect_gen)) {
		int err = cli_lib_err();

		nmr_registry_close(*reg);
		*reg = NULL;
		return err;
	}
	return 0;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf speaks only with -d: nmr-bpf says what failed itself. */
	if (!cli.debug || cli.json)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	int i = 1;

	libbpf_set_print(print_libbpf);
	jw = jw_new(stdout, false);
	if (!jw) {
		fputs("Error: out of memory\n", stderr);
		return 1;
	}
	for (; i < argc; i++) {
		int g = parse_global(argc, argv, &i);

		if (g < 0)
			return cli_usage_err(NULL, "%s needs a value (a number for --expect-gen)",
					     argv[i]);
		if (g)
			continue;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout);
		if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version"))
			return do_version(0, NULL);
		if (argv[i][0] == '-')
			return cli_usage_err("nmr-bpf [OPTIONS] OBJECT COMMAND [ARGS]",
					     "unknown option %s", argv[i]);
		break;
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return cli_dispatch(NULL, objects, argc - i, argv + i, help);
}
