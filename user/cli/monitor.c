// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nmr-bpf monitor: the registry's events as they happen (the library's
 * nmr_monitor()), a line each, JSON with -j; ends on SIGINT or SIGTERM.
 */
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "cli.h"

static const struct cli_spec monitor_spec = {
	.command = "nmr-bpf monitor", .tail = "[-j]",
};
#define MONITOR_USAGE cli_usage(&monitor_spec)

static void print_json(const struct nmr_event *ev)
{
	char guid[NMR_GUID_STR_LEN];

	nmr_guid_format(&ev->id, guid);
	jw_open_object(jw, NULL);
	jw_string(jw, "event", nmr_event_name(ev->kind));
	jw_uint(jw, "generation", ev->generation);
	jw_string(jw, "id", guid);
	if (ev->name)
		jw_string(jw, "name", ev->name);
	if (ev->client)
		jw_string(jw, "client", ev->client);
	if (ev->provider)
		jw_string(jw, "provider", ev->provider);
	switch (ev->kind) {
	case NMR_EVENT_BINDING_BOUND:
	case NMR_EVENT_BINDING_REMOVED:
		jw_uint(jw, "position", ev->position);
		break;
	case NMR_EVENT_BINDING_DECLINED:
		jw_string(jw, "reason", ev->reason);
		break;
	case NMR_EVENT_CHAIN_SWAPPED:
		jw_uint(jw, "old_generation", ev->old_generation);
		jw_uint(jw, "new_generation", ev->new_generation);
		jw_strings(jw, "chain", ev->chain, ev->chain_len);
		break;
	case NMR_EVENT_OWNER_GONE:
		jw_uint(jw, "pid", ev->pid);
		jw_string(jw, "module", ev->module_kind == NMR_MODULE_PROVIDER ? "provider" : "client");
		break;
	default:
		break;
	}
	jw_close_object(jw);
	jw_finish(jw);
}

static void print_line(const struct nmr_event *ev)
{
	printf("gen %-6llu %-22s ", (unsigned long long)ev->generation, nmr_event_name(ev->kind));
	switch (ev->kind) {
	case NMR_EVENT_BINDING_BOUND:
	case NMR_EVENT_BINDING_REMOVED:
		printf("%s:%s (position %u)", ev->client, ev->provider, ev->position);
		break;
	case NMR_EVENT_BINDING_DECLINED:
		printf("%s:%s: %s", ev->client, ev->provider, ev->reason);
		break;
	case NMR_EVENT_CHAIN_SWAPPED:
		printf("%s: generation %llu -> %llu, chain: ", ev->client,
		       (unsigned long long)ev->old_generation,
		       (unsigned long long)ev->new_generation);
		if (!ev->chain_len)
			printf("(empty)");
		for (size_t i = 0; i < ev->chain_len; i++)
			printf("%s%s", i ? ", " : "", ev->chain[i]);
		break;
	case NMR_EVENT_OWNER_GONE:
		printf("%s %s: its process %u ended",
		       ev->module_kind == NMR_MODULE_PROVIDER ? "provider" : "client", ev->name,
		       ev->pid);
		break;
	default:
		printf("%s", ev->name ? ev->name : "");
		break;
	}
	putchar('\n');
}

static int on_event(const struct nmr_event *ev, void *ctx)
{
	if (cli.json)
		print_json(ev);
	else
		print_line(ev);
	fflush(stdout);		/* a reader at the other end of a pipe sees each event now */
	return 0;
}

int cmd_monitor(int argc, char **argv)
{
	struct nmr_registry *reg;
	sigset_t set;
	int err, sfd;

	if (cli_help_asked(argc, argv)) {
		printf("Usage: %s\n"
		       "Prints the registry's events as they happen, made by any process:\n"
		       "npi/provider/client registered, replaced or deregistered; bindings\n"
		       "bound, declined (with the reason) or removed; a client's chain swapped\n"
		       "(its old and new generation and chain); a live module's process gone.\n"
		       "With -j, one JSON object a line. Runs until SIGINT or SIGTERM.\n",
		       MONITOR_USAGE);
		return 0;
	}
	err = cli_parse(argc, argv, &monitor_spec, NULL, 0, 0);
	if (!err && cli.expect_gen_set)	/* it would hold the registry's lock while it runs */
		err = cli_usage_err(MONITOR_USAGE, "monitor changes nothing: no --expect-gen");
	if (err || (err = cli_open(true, &reg)))
		return err;
	/* the signals arrive as a readable fd: the monitor's stop */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		nmr_registry_close(reg);
		return cli_err("monitor: signalfd: %m");
	}
	if (nmr_monitor(reg, sfd, on_event, NULL))
		err = cli_lib_err();
	close(sfd);
	nmr_registry_close(reg);
	return err;
}
