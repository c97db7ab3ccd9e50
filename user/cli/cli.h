/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The nmr-bpf command line: shared pieces of every object's commands. */
#ifndef NMR_CLI_H
#define NMR_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include "libnmrbpf.h"
#include "json_writer.h"

#define EXIT_USAGE 2
/* --char FIELD=VALUE options a register command takes */
#define CLI_MAX_CHARS 64

struct cli_globals {
	bool json;
	bool pretty;
	bool debug;
	const char *root;
	/* --expect-gen N: the registry's generation, or expect_client's */
	bool expect_gen_set;
	unsigned long long expect_gen;
	const char *expect_client;
};
extern struct cli_globals cli;

/* One entry of an object's command table (bpftool's struct cmd). */
struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};
/* Runs the command argv[0] names, by unambiguous prefix. */
int cli_dispatch(const char *object, const struct cli_cmd *cmds, int argc, char **argv,
		 int (*help)(void));

/*
 * A command's arguments as a typed table (xdp-tools' params are the model): the
 * same table parses the command line and writes the command's usage line and
 * its --help, so the two cannot drift. An option is "--name VALUE",
 * "--name=VALUE" or a flag; a repeatable one fills a list; choices, when
 * given, are the only values it takes (checked, and shown in the usage);
 * required options are refused when missing. Global options (-j, -p, -d,
 * --root, --expect-gen) are accepted anywhere. Values are kept in the
 * command's own (static) argument struct, so that help reads the table
 * without running the command.
 */
struct cli_opt {
	const char *name;
	const char **value;		/* an option with a value */
	bool *flag;			/* a flag */
	const char **list;		/* repeatable: up to list_max values */
	int list_max;
	const char *arg;		/* what its value is, in the usage: "GUID", "N" */
	const char *const *choices;	/* NULL-terminated: the only values it takes */
	bool required;
	const char *help;		/* one line for --help */
};
#define OPT(n, v, a, h)		{ .name = (n), .value = (v), .arg = (a), .help = (h) }
#define REQUIRED(n, v, a, h)	{ .name = (n), .value = (v), .arg = (a), .help = (h), .required = true }
#define CHOICE(n, v, c, req, h)	{ .name = (n), .value = (v), .choices = (c), .required = (req), \
				  .help = (h) }
#define FLAG(n, f, h)		{ .name = (n), .flag = (f), .help = (h) }
#define OPT_LIST(n, l, max, a, h) { .name = (n), .list = (l), .list_max = (max), .arg = (a), \
				    .help = (h) }
#define OPT_END			{ .name = NULL }

/* The names of hooks (--hook) and of XDP modes (--mode). */
extern const char *const cli_hooks[];
extern const char *const cli_modes[];

/* One command: "nmr-bpf npi register", its positional arguments ("NAME"), its options. */
struct cli_spec {
	const char *command;
	const char *positional;		/* as the usage shows them; NULL: none */
	const struct cli_opt *opts;	/* NULL: none */
	const char *tail;		/* a note for the usage line: "| --listen ..." */
};
/* The command's usage line, wrapped; valid until the next call. */
const char *cli_usage(const struct cli_spec *spec);
/* Whether a command of no positional argument was asked for its help ("help", -h, --help). */
bool cli_help_asked(int argc, char **argv);
/* "Usage: ..." and one line per option. */
void cli_help(FILE *f, const struct cli_spec *spec);
/* Only the options, under "Options of OBJECT COMMAND:" (for an object's help). */
void cli_help_opts(FILE *f, const struct cli_spec *spec);
/*
 * Parses argv by spec: positional arguments into pos (npos at most, min_pos at least).
 * Returns 0, a usage error (EXIT_USAGE), or CLI_HELP_SHOWN after --help.
 */
#define CLI_HELP_SHOWN (-1)
int cli_parse(int argc, char **argv, const struct cli_spec *spec, const char **pos, int npos,
	      int min_pos);

/* Errors: "Error: ..." on stderr, or {"error": "..."} on stdout with -j. Returns 1. */
int cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning: on stderr, never on stdout; nothing with -j. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The library's last error, as cli_err. */
int cli_lib_err(void);
/* A usage error: the message and the object's usage line. Returns EXIT_USAGE. */
int cli_usage_err(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cli_parse_u32(const char *what, const char *s, __u32 *out);
/* A decimal number from min to max, or a usage error that says which. */
int cli_parse_range(const char *what, const char *s, __u32 min, __u32 max, __u32 *out);
int cli_parse_af(const char *s, __u32 *mask);
const char *cli_af_format(__u32 mask, char *buf, size_t len);

/*
 * Opens the registry at --root; creates it only when create (register commands).
 * With --expect-gen, it returns holding the registry's lock, the generation
 * checked: the command's change happens under the same lock, or not at all.
 */
int cli_open(bool create, struct nmr_registry **reg);

/* The JSON writer of -j: documents on stdout; NULL without -j. */
extern struct json_writer *jw;

/*
 * A registered object's list, show and deregister commands (object.c); an
 * object file declares it with CLI_OBJECT(npi, "NPI", print_npi).
 */
struct cli_object {
	const char *name;		/* "provider" */
	const char *ident;		/* "PROVIDER", in usage lines */
	size_t size;			/* of one record */
	int (*list)(struct nmr_registry *reg, void **out, size_t *count);
	int (*find)(struct nmr_registry *reg, const char *ident, void *out);
	int (*deregister)(struct nmr_registry *reg, const char *ident);
	void (*print)(struct nmr_registry *reg, const void *rec, bool header, bool detail);
};
int cli_list(const struct cli_object *o, int argc, char **argv);
/*
 * A register or replace command's answer: its error, or the record (-j) or its GUID;
 * then the registry is closed. Returns the command's exit status.
 */
int cli_registered(struct nmr_registry *reg, int err, const struct cli_object *o,
		   const void *rec, const struct nmr_guid *id);
int cli_show(const struct cli_object *o, int argc, char **argv);
int cli_deregister(const struct cli_object *o, int argc, char **argv);

#define CLI_OBJECT(obj, IDENT, printer)						\
	static int obj##_list_any(struct nmr_registry *reg, void **out, size_t *n)	\
	{									\
		return nmr_##obj##_list(reg, (struct nmr_##obj##_record **)out, n);	\
	}									\
	static int obj##_find_any(struct nmr_registry *reg, const char *id, void *out)	\
	{									\
		return nmr_##obj##_find(reg, id, out);				\
	}									\
	static void obj##_print_any(struct nmr_registry *reg, const void *rec, bool header, \
				    bool detail)				\
	{									\
		printer(reg, rec, header, detail);				\
	}									\
	static const struct cli_object obj##_object = {				\
		.name = #obj, .ident = IDENT, .size = sizeof(struct nmr_##obj##_record),	\
		.list = obj##_list_any, .find = obj##_find_any,			\
		.deregister = nmr_##obj##_deregister, .print = obj##_print_any,	\
	};									\
	static int do_list(int argc, char **argv)				\
	{									\
		return cli_list(&obj##_object, argc, argv);			\
	}									\
	static int do_show(int argc, char **argv)				\
	{									\
		return cli_show(&obj##_object, argc, argv);			\
	}									\
	static int do_deregister(int argc, char **argv)			\
	{									\
		return cli_deregister(&obj##_object, argc, argv);		\
	}

/* Objects. */
int do_npi(int argc, char **argv);
int do_provider(int argc, char **argv);
int do_client(int argc, char **argv);
int do_binding(int argc, char **argv);
int do_registry(int argc, char **argv);
/* Commands that are not objects: apply, dump, monitor, metrics. */
int cmd_apply(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_metrics(int argc, char **argv);

/* Shared printers, so each object is described the same way everywhere. */
void print_binding_json(struct nmr_registry *reg, const struct nmr_binding_record *b);
/* An array of them, as the member key (NULL: a document of its own). */
void print_bindings_json(struct nmr_registry *reg, const char *key,
			 const struct nmr_binding_record *b, size_t n);
enum cli_kind { CLI_NPI, CLI_PROVIDER, CLI_CLIENT };
/* A registered object's name from its GUID, or the GUID when it is not registered. */
const char *cli_name_of(struct nmr_registry *reg, enum cli_kind kind, const struct nmr_guid *id,
			char *buf, size_t len);
/* A module's values of its NPI's own characteristics struct, and a client's conditions. */
void print_npi_chars(struct nmr_registry *reg, enum nmr_module_kind kind,
		     const struct nmr_guid *npi, const struct nmr_guid *module);
void print_npi_requires(struct nmr_registry *reg, const struct nmr_guid *client);

#endif /* NMR_CLI_H */
