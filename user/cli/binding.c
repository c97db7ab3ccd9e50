// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nmr-bpf binding { list | show }: bindings are made by the registrar, not by hand. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static struct {
	const char *client, *provider;
} list_args;
static const struct cli_opt list_opts[] = {
	OPT("client", &list_args.client, "CLIENT", "only this client's bindings"),
	OPT("provider", &list_args.provider, "PROVIDER", "only this provider's bindings"),
	OPT_END,
};
static const struct cli_spec list_spec = {
	.command = "nmr-bpf binding list", .opts = list_opts,
};
static const struct cli_spec show_spec = {
	.command = "nmr-bpf binding show", .positional = "BINDING",
};

static int help(void)
{
	printf("Usage: %s\n", cli_usage(&list_spec));
	printf("       %s\n"
	       "\n"
	       "A binding is one provider attached to one client: a program instance whose\n"
	       "code is linked into the client's chain at a position, with its own binding\n"
	       "context and per-CPU counters (packets, verdicts). A provider that a client\n"
	       "declined is listed too, with the reason. BINDING is a GUID or CLIENT:PROVIDER.\n",
	       cli_usage(&show_spec));
	cli_help_opts(stdout, &list_spec);
	return 0;
}

static const char *hook_name_of_client(struct nmr_registry *reg, const struct nmr_guid *id,
				       enum nmr_hook *hook)
{
	struct nmr_client_record c;
	char guid[NMR_GUID_STR_LEN];

	nmr_guid_format(id, guid);
	*hook = nmr_client_find(reg, guid, &c) ? NMR_HOOK_XDP : c.hook;
	return nmr_hook_name(*hook);
}

void print_binding_json(struct nmr_registry *reg, const struct nmr_binding_record *b)
{
	char guid[NMR_GUID_STR_LEN], cguid[NMR_GUID_STR_LEN], pguid[NMR_GUID_STR_LEN];
	char cname[64], pname[64], name[160];
	struct nmr_binding_counts counts;
	enum nmr_hook hook;

	nmr_guid_format(&b->id, guid);
	nmr_guid_format(&b->client, cguid);
	nmr_guid_format(&b->provider, pguid);
	cli_name_of(reg, CLI_CLIENT, &b->client, cname, sizeof(cname));
	cli_name_of(reg, CLI_PROVIDER, &b->provider, pname, sizeof(pname));
	snprintf(name, sizeof(name), "%s:%s", cname, pname);
	nmr_binding_counts(reg, b, &counts);
	hook_name_of_client(reg, &b->client, &hook);

	jw_open_object(jw, NULL);
	jw_string(jw, "id", guid);
	jw_string(jw, "name", name);
	jw_string(jw, "client", cname);
	jw_string(jw, "provider", pname);
	jw_string(jw, "client_id", cguid);
	jw_string(jw, "provider_id", pguid);
	jw_string(jw, "state", b->state == NMR_BINDING_BOUND ? "bound" : "declined");
	if (b->state == NMR_BINDING_BOUND) {
		jw_uint(jw, "position", b->position);
		jw_uint(jw, "prog_id", b->prog_id);
		jw_uint(jw, "context_index", b->context_index);
	} else {
		jw_string(jw, "reason", b->reason);
	}
	jw_uint(jw, "packets", counts.packets);
	jw_open_object(jw, "verdicts");
	for (int v = -1; v < NMR_VERDICT_SLOTS - 1; v++) {
		const char *vn = nmr_verdict_name(hook, v);

		if (vn && strcmp(vn, "pass") | (hook == NMR_HOOK_XDP))
			jw_uint(jw, vn, counts.verdicts[NMR_VERDICT_INDEX(v)]);
	}
	jw_close_object(jw);
	jw_close_object(jw);
}

static void print_binding_row(struct nmr_registry *reg, const struct nmr_binding_record *b,
			      bool header)
{
	char guid[NMR_GUID_STR_LEN], cname[64], pname[64], pos[16], pkts[24];
	struct nmr_binding_counts counts;

	nmr_guid_format(&b->id, guid);
	nmr_binding_counts(reg, b, &counts);
	cli_name_of(reg, CLI_CLIENT, &b->client, cname, sizeof(cname));
	cli_name_of(reg, CLI_PROVIDER, &b->provider, pname, sizeof(pname));
	if (header)
		printf("%-36s  %-20s  %-20s  %-8s  %3s  %10s  %s\n", "ID", "CLIENT", "PROVIDER",
		       "STATE", "POS", "PACKETS", "REASON");
	snprintf(pos, sizeof(pos), "%u", b->position);
	snprintf(pkts, sizeof(pkts), "%llu", (unsigned long long)counts.packets);
	printf("%-36s  %-20s  %-20s  %-8s  %3s  %10s  %s\n", guid, cname, pname,
	       b->state == NMR_BINDING_BOUND ? "bound" : "declined",
	       b->state == NMR_BINDING_BOUND ? pos : "-",
	       b->state == NMR_BINDING_BOUND ? pkts : "-",
	       b->state == NMR_BINDING_BOUND ? "" : b->reason);
}

void print_bindings_json(struct nmr_registry *reg, const char *key,
			 const struct nmr_binding_record *b, size_t n)
{
	jw_open_array(jw, key);
	for (size_t i = 0; i < n; i++)
		print_binding_json(reg, &b[i]);
	jw_close_array(jw);
}

static int do_list(int argc, char **argv)
{
	const char *client, *provider;
	struct nmr_binding_record *b;
	struct nmr_registry *reg;
	size_t n;
	int err = cli_parse(argc, argv, &list_spec, NULL, 0, 0);

	if (err || (err = cli_open(false, &reg)))
		return err;
	client = list_args.client, provider = list_args.provider;
	if (nmr_binding_list(reg, client, provider, &b, &n)) {
		err = cli_lib_err();
	} else {
		if (cli.json) {
			print_bindings_json(reg, NULL, b, n);
			jw_finish(jw);
		}
		for (size_t i = 0; !cli.json && i < n; i++)
			print_binding_row(reg, &b[i], i == 0);
		free(b);
	}
	nmr_registry_close(reg);
	return err;
}

static int do_show(int argc, char **argv)
{
	const char *ident = NULL;
	struct nmr_binding_record b;
	struct nmr_binding_counts counts;
	struct nmr_registry *reg;
	int err = cli_parse(argc, argv, &show_spec, &ident, 1, 1);

	if (err || (err = cli_open(false, &reg)))
		return err;
	if (nmr_binding_find(reg, ident, &b)) {
		err = cli_lib_err();
	} else if (cli.json) {
		print_binding_json(reg, &b);
		jw_finish(jw);
	} else {
		char guid[NMR_GUID_STR_LEN], cname[64], pname[64];
		enum nmr_hook hook;

		nmr_guid_format(&b.id, guid);
		nmr_binding_counts(reg, &b, &counts);
		hook_name_of_client(reg, &b.client, &hook);
		printf("id:        %s\nclient:    %s\nprovider:  %s\n", guid,
		       cli_name_of(reg, CLI_CLIENT, &b.client, cname, sizeof(cname)),
		       cli_name_of(reg, CLI_PROVIDER, &b.provider, pname, sizeof(pname)));
		if (b.state == NMR_BINDING_BOUND) {
			printf("state:     bound\nposition:  %u\nprog_id:   %u\ncontext:   %u\n"
			       "column:    %u\npackets:   %llu\nverdicts: ", b.position,
			       b.prog_id, b.context_index, b.column, (unsigned long long)counts.packets);
			for (int v = -1; v < NMR_VERDICT_SLOTS - 1; v++) {
				const char *vn = nmr_verdict_name(hook, v);

				if (vn && counts.verdicts[NMR_VERDICT_INDEX(v)])
					printf(" %s %llu", vn, (unsigned long long)
					       counts.verdicts[NMR_VERDICT_INDEX(v)]);
			}
			printf("\n");
		} else {
			printf("state:     declined\nreason:    %s\n", b.reason);
		}
	}
	nmr_registry_close(reg);
	return err;
}

static int do_help_cmd(int argc, char **argv)
{
	return help();
}

int do_binding(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "list", do_list }, { "show", do_show }, { "help", do_help_cmd }, { NULL },
	};

	return cli_dispatch("binding", cmds, argc, argv, help);
}
