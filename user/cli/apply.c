// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nmr-bpf apply -f FILE|- [--dry-run] [--prune] and nmr-bpf dump: the
 * registry as a file. The model (parse, check, plan, carry out) is the
 * library's (apply.c); this prints it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static struct {
	const char *file;
	bool dry_run, prune;
} apply_args;
static const struct cli_opt apply_opts[] = {
	REQUIRED("file", &apply_args.file, "FILE|-", "the state: YAML or JSON (- for stdin; -f)"),
	FLAG("dry-run", &apply_args.dry_run, "print the plan (with -j as JSON), change nothing"),
	FLAG("prune", &apply_args.prune, "also deregister what the file does not name"),
	OPT_END,
};
static const struct cli_spec apply_spec = {
	.command = "nmr-bpf apply", .opts = apply_opts, .tail = "[--expect-gen N]",
};

static struct {
	const char *out, *objects;
} dump_args;
static const struct cli_opt dump_opts[] = {
	OPT("output", &dump_args.out, "FILE", "write FILE (atomically) instead of stdout (-o)"),
	OPT("objects", &dump_args.objects, "DIR",
	    "copy each provider's object to DIR/<name>.bpf.o and name it there"),
	OPT_END,
};
static const struct cli_spec dump_spec = {
	.command = "nmr-bpf dump", .opts = dump_opts,
};

static const char *action_name(enum nmr_plan_action a)
{
	switch (a) {
	case NMR_PLAN_REGISTER:
		return "register";
	case NMR_PLAN_REPLACE:
		return "replace";
	case NMR_PLAN_REBIND:
		return "rebind";
	case NMR_PLAN_DEREGISTER:
		return "deregister";
	}
	return "?";
}

static const char *object_name(enum nmr_plan_object o)
{
	return o == NMR_PLAN_NPI ? "npi" : o == NMR_PLAN_PROVIDER ? "provider" : "client";
}

static void print_names(char (*names)[NMR_NAME_LEN], size_t n)
{
	if (!n)
		printf("(empty)");
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", names[i]);
}

static void print_plan_json(const struct nmr_plan *plan, bool applied, __u64 gen_after)
{
	jw_open_object(jw, NULL);
	jw_uint(jw, "generation", plan->generation);
	jw_bool(jw, "applied", applied);
	if (applied)
		jw_uint(jw, "generation_after", gen_after);
	jw_open_array(jw, "changes");
	for (size_t i = 0; i < plan->nsteps; i++) {
		const struct nmr_plan_step *s = &plan->steps[i];
		char guid[NMR_GUID_STR_LEN];

		jw_open_object(jw, NULL);
		jw_string(jw, "action", action_name(s->action));
		jw_string(jw, "object", object_name(s->object));
		jw_string(jw, "name", s->name);
		if (s->action != NMR_PLAN_REGISTER) {
			nmr_guid_format(&s->id, guid);
			jw_string(jw, "id", guid);
		}
		if (s->why[0])
			jw_string(jw, "why", s->why);
		jw_close_object(jw);
	}
	jw_close_array(jw);
	jw_open_array(jw, "chains");
	for (size_t i = 0; i < plan->nchains; i++) {
		const struct nmr_plan_chain *c = &plan->chains[i];

		jw_open_object(jw, NULL);
		jw_string(jw, "client", c->client);
		jw_bool(jw, "changed", c->changed);
		jw_bool(jw, "deregistered", c->gone);
		jw_names(jw, "before", c->before, sizeof(c->before[0]), c->nbefore);
		jw_names(jw, "after", c->after, sizeof(c->after[0]), c->nafter);
		jw_close_object(jw);
	}
	jw_close_array(jw);
	jw_close_object(jw);
	jw_finish(jw);
}

static void print_plan(const struct nmr_plan *plan, bool dry_run)
{
	bool any_chain = false;

	if (!plan->nsteps) {
		printf("nothing to change (registry generation %llu)\n",
		       (unsigned long long)plan->generation);
		return;
	}
	printf("%s (registry generation %llu):\n", dry_run ? "plan, not applied" : "plan",
	       (unsigned long long)plan->generation);
	for (size_t i = 0; i < plan->nsteps; i++) {
		const struct nmr_plan_step *s = &plan->steps[i];

		printf("  %-10s  %-8s  %s%s%s%s\n", action_name(s->action), object_name(s->object),
		       s->name, s->why[0] ? " (" : "", s->why, s->why[0] ? ")" : "");
	}
	for (size_t i = 0; i < plan->nchains; i++) {
		const struct nmr_plan_chain *c = &plan->chains[i];

		if (!c->changed)
			continue;
		if (!any_chain)
			printf("chains that change:\n");
		any_chain = true;
		printf("  %s: ", c->client);
		print_names((char (*)[NMR_NAME_LEN])c->before, c->nbefore);
		printf(" -> ");
		if (c->gone)
			printf("(client deregistered)");
		else
			print_names((char (*)[NMR_NAME_LEN])c->after, c->nafter);
		printf("\n");
	}
}

static int do_apply(int argc, char **argv)
{
	const char *file;
	bool dry_run, prune;
	struct nmr_state *st = NULL;
	struct nmr_plan *plan = NULL;
	struct nmr_registry *reg;
	__u64 gen = 0;
	int err;

	/* -f is the usual spelling (kubectl apply -f) */
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-f"))
			argv[i] = "--file";
	err = cli_parse(argc, argv, &apply_spec, NULL, 0, 0);
	if (err)
		return err;
	file = apply_args.file, dry_run = apply_args.dry_run, prune = apply_args.prune;
	/* A file that cannot be read or parsed is refused before the registry is opened. */
	if (nmr_state_read(file, &st))
		return cli_lib_err();
	err = cli_open(!dry_run, &reg);
	if (err) {
		nmr_state_free(st);
		return err;
	}
	/* plan and changes under one lock: what was planned is what happens */
	if (nmr_registry_lock(reg) ||
	    nmr_plan_make(reg, st, prune ? NMR_APPLY_PRUNE : 0, &plan)) {
		err = cli_lib_err();
		goto out;
	}
	if (!dry_run && plan->nsteps && nmr_plan_apply(reg, st, plan)) {
		err = cli_lib_err();
		goto out;
	}
	nmr_registry_generation(reg, &gen);
	if (cli.json) {
		print_plan_json(plan, !dry_run && plan->nsteps, gen);
	} else {
		print_plan(plan, dry_run);
		if (!dry_run && plan->nsteps)
			printf("applied %zu change(s): registry generation %llu\n", plan->nsteps,
			       (unsigned long long)gen);
	}
out:
	nmr_plan_free(plan);
	nmr_state_free(st);
	nmr_registry_close(reg);
	return err;
}

static int do_dump(int argc, char **argv)
{
	const char *out, *objects;
	struct nmr_registry *reg;
	char tmp[4096];
	FILE *f = stdout;
	int err;

	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-o"))
			argv[i] = "--output";
	err = cli_parse(argc, argv, &dump_spec, NULL, 0, 0);
	if (err || (err = cli_open(false, &reg)))
		return err;
	out = dump_args.out, objects = dump_args.objects;
	if (out) {
		/* a complete file or none: written beside it, then renamed over it */
		snprintf(tmp, sizeof(tmp), "%s.tmp", out);
		f = fopen(tmp, "w");
		if (!f) {
			nmr_registry_close(reg);
			return cli_err("dump: %s: %m", tmp);
		}
	}
	err = nmr_state_dump(reg, f, objects) ? cli_lib_err() : 0;
	if (out) {
		if (fclose(f) && !err)
			err = cli_err("dump: %s: %m", tmp);
		if (!err && rename(tmp, out))
			err = cli_err("dump: rename to %s: %m", out);
		if (err)
			unlink(tmp);
	}
	nmr_registry_close(reg);
	return err;
}

int cmd_apply(int argc, char **argv)
{
	if (cli_help_asked(argc, argv)) {
		printf("Usage: %s\n"
		       "Makes the registry hold what FILE (YAML or JSON; - for stdin) describes.\n"
		       "Objects are matched by name: new ones are registered, a provider whose\n"
		       "object changed is replaced in place (every client's chain swaps once),\n"
		       "one whose other properties changed is rebound (deregistered, registered\n"
		       "again), as is a changed client. Applying the same file twice changes\n"
		       "nothing. A file with any error is refused before anything changes.\n",
		       cli_usage(&apply_spec));
		cli_help_opts(stdout, &apply_spec);
		return 0;
	}
	return do_apply(argc, argv);
}

int cmd_dump(int argc, char **argv)
{
	if (cli_help_asked(argc, argv)) {
		printf("Usage: %s\n"
		       "Writes the registry's NPIs, providers and clients as a file that\n"
		       "'nmr-bpf apply -f' reproduces (live modules' are left out).\n",
		       cli_usage(&dump_spec));
		cli_help_opts(stdout, &dump_spec);
		return 0;
	}
	return do_dump(argc, argv);
}
