// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nmr-bpf client { register | list | show | deregister } */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define CLIENT_REGISTER_USAGE							\
	"nmr-bpf client register --npi NPI --dev IFNAME [--netns NAME] [--mode native|skb]\n" \
	"        [--name NAME] [--id GUID] [--require-version N] [--af inet,inet6]\n"	\
	"        [--require-tag TAG]... [--max-providers N] [--exclusive] [--xdp-frags]\n" \
	"        [--tc-netlink] [--force] [--char FIELD=VALUE]...\n"				\
	"        [--require FIELD=VALUE | --require FIELD=LO..HI]..."

static int help(void)
{
	printf("Usage: " CLIENT_REGISTER_USAGE "\n"
	       "       nmr-bpf client list\n"
	       "       nmr-bpf client show CLIENT\n"
	       "       nmr-bpf client deregister CLIENT\n"
	       "\n"
	       "register attaches the client's chain program to the device's hook (the NPI's:\n"
	       "xdp, tc-ingress or tc-egress) with a pinned BPF link, then binds every provider\n"
	       "of the NPI that meets its requirements, in priority order: their code is linked\n"
	       "into the chain, which replaces itself on the hook. With no provider bound,\n"
	       "packets pass. A device that runs an XDP program nmr-bpf did not attach is left\n"
	       "alone and the command fails.\n"
	       "  --netns NAME         the device is in /run/netns/NAME\n"
	       "  --mode native|skb    XDP mode (default native)\n"
	       "  --require-version N  bind only providers that implement NPI version N\n"
	       "  --af, --require-tag  bind only providers with these characteristics\n"
	       "  --max-providers N, --exclusive  at most N providers, or one\n"
	       "  --xdp-frags          a chain for providers built as SEC(\"xdp.frags\")\n"
	       "  --tc-netlink         TC through clsact + cls_bpf (netlink) instead of TCX\n"
	       "  --force              replace an XDP program nmr-bpf did not attach\n"
	       "  --char FIELD=VALUE   a field of the NPI's struct client_characteristics (an\n"
	       "                       NPI registered with --characteristics): a number, an\n"
	       "                       enum's name, true/false, a string; nested: a.b, a[1]\n"
	       "  --require FIELD=VALUE, --require FIELD=LO..HI\n"
	       "                       bind only providers whose struct\n"
	       "                       provider_characteristics has FIELD equal to VALUE, or\n"
	       "                       from LO to HI (numbers); at most %d\n"
	       "deregister unbinds all, waits until no packet runs a provider, and detaches.\n",
	       NMR_MAX_REQUIRES);
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
			jw_open_array(jw, "chain");
			for (size_t i = 0; i < nb; i++)
				print_binding_json(reg, &b[i]);
			jw_close_array(jw);
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
	const char *npi = NULL, *dev = NULL, *netns = NULL, *mode = NULL, *name = NULL;
	const char *id = NULL, *req = NULL, *af = NULL, *maxp = NULL;
	NMR_OPTS(nmr_client_opts, o);
	const char *chars[CLI_MAX_CHARS + 1] = {}, *requires[NMR_MAX_REQUIRES + 1] = {};
	bool exclusive = false, frags = false, tc_netlink = false, force = false;
	const struct cli_opt opts[] = {
		OPT("npi", &npi), OPT("dev", &dev), OPT("netns", &netns), OPT("mode", &mode),
		OPT("name", &name), OPT("id", &id), OPT("require-version", &req), OPT("af", &af),
		OPT("max-providers", &maxp), FLAG("exclusive", &exclusive),
		FLAG("xdp-frags", &frags), FLAG("tc-netlink", &tc_netlink), FLAG("force", &force),
		OPT_LIST("require-tag", o.require_tags, NMR_MAX_TAGS),
		OPT_LIST("char", chars, CLI_MAX_CHARS),
		OPT_LIST("require", requires, NMR_MAX_REQUIRES), OPT_END,
	};
	struct nmr_client_record rec;
	struct nmr_registry *reg;
	struct nmr_guid guid;
	int err;

	err = cli_parse(argc, argv, opts, NULL, 0, 0, CLIENT_REGISTER_USAGE);
	if (err)
		return err;
	if (!npi || !dev)
		return cli_usage_err(CLIENT_REGISTER_USAGE, "register client: --%s is required",
				     !npi ? "npi" : "dev");
	if (id && nmr_guid_parse(id, &guid))
		return cli_usage_err(CLIENT_REGISTER_USAGE, "'%s' is not a GUID", id);
	if (mode && strcmp(mode, "native") && strcmp(mode, "skb"))
		return cli_usage_err(CLIENT_REGISTER_USAGE, "mode '%s': native or skb", mode);
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
	o.exclusive = exclusive;
	o.xdp_frags = frags;
	o.tc_netlink = tc_netlink;
	o.force = force;
	o.npi_char_fields = chars;
	o.npi_requires = requires;

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
