// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nmr-bpf client { register | list | show | deregister } */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static struct {
	const char *npi, *dev, *netns, *mode, *name, *id, *req, *af, *maxp;
	bool exclusive, frags, tc_netlink, force;
	const char *require_tags[NMR_MAX_TAGS];
	const char *chars[CLI_MAX_CHARS + 1], *requires[NMR_MAX_REQUIRES + 1];
} reg_args;
static const struct cli_opt register_opts[] = {
	REQUIRED("npi", &reg_args.npi, "NPI", "the NPI it is a client of"),
	REQUIRED("dev", &reg_args.dev, "IFNAME", "the device whose hook it is"),
	OPT("netns", &reg_args.netns, "NAME", "the device is in /run/netns/NAME"),
	CHOICE("mode", &reg_args.mode, cli_modes, false, "XDP mode (default native)"),
	OPT("name", &reg_args.name, "NAME", "its name (default: from NPI and device)"),
	OPT("id", &reg_args.id, "GUID", "its GUID (default: a new one)"),
	OPT("require-version", &reg_args.req, "N",
	    "bind only providers that implement NPI version N"),
	OPT("af", &reg_args.af, "inet,inet6", "bind only providers of these address families"),
	OPT_LIST("require-tag", reg_args.require_tags, NMR_MAX_TAGS, "TAG",
		 "bind only providers with this tag"),
	OPT("max-providers", &reg_args.maxp, "N", "at most N providers in its chain"),
	FLAG("exclusive", &reg_args.exclusive, "one provider at most"),
	FLAG("xdp-frags", &reg_args.frags, "a chain for providers built as SEC(\"xdp.frags\")"),
	FLAG("tc-netlink", &reg_args.tc_netlink,
	     "TC through clsact + cls_bpf (netlink) instead of TCX"),
	FLAG("force", &reg_args.force, "replace an XDP program nmr-bpf did not attach"),
	OPT_LIST("char", reg_args.chars, CLI_MAX_CHARS, "FIELD=VALUE",
		 "a field of the NPI's struct client_characteristics (a number, an enum's "
		 "name, true/false, a string; nested: a.b, a[1])"),
	OPT_LIST("require", reg_args.requires, NMR_MAX_REQUIRES, "FIELD=VALUE|FIELD=LO..HI",
		 "bind only providers whose struct provider_characteristics has FIELD equal "
		 "to VALUE, or from LO to HI"),
	OPT_END,
};
static const struct cli_spec register_spec = {
	.command = "nmr-bpf client register", .opts = register_opts,
};
#define CLIENT_REGISTER_USAGE cli_usage(&register_spec)

static int help(void)
{
	printf("Usage: %s\n"
	       "       nmr-bpf client list\n"
	       "       nmr-bpf client show CLIENT\n"
	       "       nmr-bpf client deregister CLIENT\n"
	       "\n"
	       "register attaches the client's dispatcher to the device's hook (the NPI's:\n"
	       "xdp, tc-ingress or tc-egress), then binds every provider of the NPI that meets\n"
	       "its requirements, in priority order: their code is linked into its chain,\n"
	       "which replaces itself in one step. With no provider bound, packets pass. A\n"
	       "device that runs an XDP program nmr-bpf did not attach is left alone and the\n"
	       "command fails (at most %d --require conditions).\n"
	       "deregister unbinds all, waits until no packet runs a provider, and detaches.\n",
	       CLIENT_REGISTER_USAGE, NMR_MAX_REQUIRES);
	cli_help_opts(stdout, &register_spec);
	return 0;
}

static const char *mode_name(const struct nmr_client_record *c)
{
	if (c->hook != NMR_HOOK_XDP)
		return c->flags & NMR_CLIENT_F_TC_NETLINK ? "netlink" : "tcx";
	if (c->flags & NMR_CLIENT_F_FRAGS)
		return c->mode == NMR_MODE_SKB ? "skb,frags" : "native,frags";
	return c->mode == NMR_MODE_SKB ? "skb" : "native";
}

static void print_client(struct nmr_registry *reg, const struct nmr_client_record *c,
			 bool header, bool detail)
{
	char guid[NMR_GUID_STR_LEN], npi[NMR_GUID_STR_LEN], req[16] = "any";
	struct nmr_binding_record *b = NULL;
	size_t nb = 0, bound = 0;

	if (c->chars.require_version)
		snprintf(req, sizeof(req), "%u", c->chars.require_version);
	nmr_guid_format(&c->id, guid);
	cli_name_of(reg, CLI_NPI, &c->npi, npi, sizeof(npi));
	nmr_binding_list(reg, guid, NULL, &b, &nb);
	for (size_t i = 0; i < nb; i++)
		bound += b[i].state == NMR_BINDING_BOUND;

	if (cli.json) {
		jw_open_object(jw, NULL);
		jw_string(jw, "id", guid);
		jw_string(jw, "name", c->name);
		jw_string(jw, "npi", npi);
		jw_uint(jw, "ifindex", c->ifindex);
		jw_string(jw, "dev", c->dev);
		jw_string(jw, "netns", c->netns);
		jw_string(jw, "hook", nmr_hook_name(c->hook));
		jw_string(jw, "mode", mode_name(c));
		jw_uint(jw, "dispatcher_prog_id", c->dispatcher_prog_id);
		jw_uint(jw, "chain_table_id", c->chain_table_id);
		jw_uint(jw, "chain_prog_id", c->chain_prog_id);
		jw_uint(jw, "link_id", c->link_id);
		jw_uint(jw, "require_version", c->chars.require_version);
		jw_uint(jw, "registration", c->number);
		jw_uint(jw, "generation", c->generation);
		jw_uint(jw, "providers", bound);
		print_npi_chars(reg, NMR_MODULE_CLIENT, &c->npi, &c->id);
		print_npi_requires(reg, &c->id);
		if (detail) {
			struct nmr_client_counts cc;

			nmr_client_counts(reg, c, &cc);
			jw_uint(jw, "no_provider", cc.no_provider);
			jw_uint(jw, "missed", cc.missed);
			print_bindings_json(reg, "chain", b, nb);
		}
		jw_close_object(jw);
		free(b);
		return;
	}
	if (!detail) {
		if (header)
			printf("%-36s  %-20s  %-12s  %-12s  %-10s  %-10s  %-6s  %9s\n", "ID",
			       "NAME", "NPI", "DEV", "NETNS", "HOOK", "MODE", "PROVIDERS");
		printf("%-36s  %-20s  %-12s  %-12s  %-10s  %-10s  %-6s  %9zu\n", guid, c->name, npi,
		       c->dev, c->netns[0] ? c->netns : "-", nmr_hook_name(c->hook), mode_name(c),
		       bound);
		free(b);
		return;
	}
	printf("id:           %s\n"
	       "name:         %s\n"
	       "npi:          %s\n"
	       "device:       %s (ifindex %u%s%s)\n"
	       "hook:         %s, %s mode\n"
	       "dispatcher:   prog_id %u (on the hook), link_id %u\n"
	       "chain table:  map_id %u (client/%s/chain_table)\n"
	       "chain:        %s%.0u\n"
	       "requires:     version %s\n"
	       "registration: %llu\n"
	       "generation:   %llu\n"
	       "registry:     %s/client/%s\n",
	       guid, c->name, npi, c->dev, c->ifindex, c->netns[0] ? ", netns " : "", c->netns,
	       nmr_hook_name(c->hook), mode_name(c), c->dispatcher_prog_id, c->link_id,
	       c->chain_table_id, guid, c->chain_prog_id ? "prog_id " : "none (the table is empty)",
	       c->chain_prog_id, req,
	       (unsigned long long)c->number, (unsigned long long)c->generation,
	       nmr_registry_root(reg), guid);
	print_npi_chars(reg, NMR_MODULE_CLIENT, &c->npi, &c->id);
	print_npi_requires(reg, &c->id);
	{
		struct nmr_client_counts cc;

		nmr_client_counts(reg, c, &cc);
		printf("counters:     no provider %llu, missed tail calls %llu\n",
		       (unsigned long long)cc.no_provider, (unsigned long long)cc.missed);
	}
	printf("chain, in order:\n");
	if (!bound)
		printf("  (empty: packets pass)\n");
	for (size_t i = 0; i < nb; i++) {
		struct nmr_binding_counts counts;
		char pname[64];

		if (b[i].state != NMR_BINDING_BOUND)
			continue;
		nmr_binding_counts(reg, &b[i], &counts);
		printf("  %2u. %-24s prog_id %-6u packets %llu\n", b[i].position,
		       cli_name_of(reg, CLI_PROVIDER, &b[i].provider, pname, sizeof(pname)), b[i].prog_id,
		       (unsigned long long)counts.packets);
	}
	for (size_t i = 0; i < nb; i++) {
		char pname[64];

		if (b[i].state == NMR_BINDING_DECLINED)
			printf("declined:     %s: %s\n",
			       cli_name_of(reg, CLI_PROVIDER, &b[i].provider, pname, sizeof(pname)),
			       b[i].reason);
	}
	free(b);
}

CLI_OBJECT(client, "CLIENT", print_client)

static int do_register(int argc, char **argv)
{
	const char *npi, *dev, *netns, *mode, *name, *id, *req, *af, *maxp;
	NMR_OPTS(nmr_client_opts, o);
	struct nmr_client_record rec;
	struct nmr_registry *reg;
	struct nmr_guid guid;
	int err;

	err = cli_parse(argc, argv, &register_spec, NULL, 0, 0);
	if (err)
		return err;
	npi = reg_args.npi, dev = reg_args.dev, netns = reg_args.netns, mode = reg_args.mode;
	name = reg_args.name, id = reg_args.id, req = reg_args.req, af = reg_args.af;
	maxp = reg_args.maxp;
	memcpy(o.require_tags, reg_args.require_tags, sizeof(reg_args.require_tags));
	if (id && nmr_guid_parse(id, &guid))
		return cli_usage_err(CLIENT_REGISTER_USAGE, "'%s' is not a GUID", id);
	if (req && (err = cli_parse_range("--require-version", req, 1, UINT32_MAX,
						&o.require_version)))
		return err;
	if (maxp && (err = cli_parse_u32("--max-providers", maxp, &o.max_providers)))
		return err;
	if (af && (err = cli_parse_af(af, &o.af_mask)))
		return err;
	o.npi = npi;
	o.dev = dev;
	o.netns = netns;
	o.mode = mode && !strcmp(mode, "skb") ? NMR_MODE_SKB : NMR_MODE_NATIVE;
	o.name = name;
	o.id = id ? &guid : NULL;
	o.exclusive = reg_args.exclusive;
	o.xdp_frags = reg_args.frags;
	o.tc_netlink = reg_args.tc_netlink;
	o.force = reg_args.force;
	o.npi_char_fields = reg_args.chars;
	o.npi_requires = reg_args.requires;

	if ((err = cli_open(false, &reg)))
		return err;
	err = nmr_client_register(reg, &o, &rec);
	return cli_registered(reg, err, &client_object, &rec, &rec.id);
}

static int do_help_cmd(int argc, char **argv)
{
	return help();
}

int do_client(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "register", do_register }, { "list", do_list }, { "show", do_show },
		{ "deregister", do_deregister }, { "help", do_help_cmd }, { NULL },
	};

	return cli_dispatch("client", cmds, argc, argv, help);
}
