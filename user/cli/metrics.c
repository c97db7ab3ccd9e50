// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nmr-bpf metrics [--textfile DIR | --listen ADDR:PORT]: the registry's
 * counters in the Prometheus text format (the library's nmr_metrics_write()),
 * on stdout, as DIR/nmr-bpf.prom for node_exporter's textfile collector, or
 * served over HTTP by libmicrohttpd until SIGINT or SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>
#include "cli.h"

static struct {
	const char *textfile, *listen;
} metrics_args;
static const struct cli_opt metrics_opts[] = {
	OPT("textfile", &metrics_args.textfile, "DIR",
	    "write DIR/nmr-bpf.prom atomically (node_exporter)"),
	OPT("listen", &metrics_args.listen, "ADDR:PORT",
	    "serve http://ADDR:PORT/metrics until SIGINT or SIGTERM"),
	OPT_END,
};
static const struct cli_spec metrics_spec = {
	.command = "nmr-bpf metrics", .opts = metrics_opts,
};
#define METRICS_USAGE cli_usage(&metrics_spec)
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static int write_textfile(struct nmr_registry *reg, const char *dir)
{
	char tmp[4096], path[4096];
	FILE *f;
	int err = 0;

	/* node_exporter must never read half a file: write beside it, then rename */
	snprintf(path, sizeof(path), "%s/nmr-bpf.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s/.nmr-bpf.prom.%d", dir, getpid());
	f = fopen(tmp, "w");
	if (!f)
		return cli_err("metrics: %s: %m", tmp);
	if (nmr_metrics_write(reg, f))
		err = cli_lib_err();
	if (fclose(f) && !err)
		err = cli_err("metrics: %s: %m", tmp);
	if (!err && rename(tmp, path))
		err = cli_err("metrics: rename to %s: %m", path);
	if (err)
		unlink(tmp);
	return err;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
			     const char *method, const char *version, const char *upload,
			     size_t *upload_size, void **con_cls)
{
	struct nmr_registry *reg = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int status = MHD_HTTP_OK;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return MHD_NO;
	f = open_memstream(&buf, &len);
	if (!f)
		return MHD_NO;
	if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
		fputs("nmr-bpf: metrics are at /metrics\n", f);
	} else if (nmr_metrics_write(reg, f)) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		fprintf(f, "%s\n", nmr_last_error());
	}
	fclose(f);
	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", PROM_CONTENT_TYPE);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int listen_on(struct nmr_registry *reg, const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct MHD_Daemon *d;
	char host[64], *colon;
	unsigned long port;
	sigset_t set;
	int sig;

	snprintf(host, sizeof(host), "%s", addr);
	colon = strrchr(host, ':');
	if (!colon)
		return cli_usage_err(METRICS_USAGE, "--listen %s: ADDR:PORT expected", addr);
	*colon = 0;
	port = strtoul(colon + 1, NULL, 10);
	if (!port || port > 65535 || inet_pton(AF_INET, host[0] ? host : "0.0.0.0",
					       &sa.sin_addr) != 1)
		return cli_usage_err(METRICS_USAGE, "--listen %s: an IPv4 ADDR:PORT expected",
				     addr);
	sa.sin_port = htons(port);
	/* the signals are taken with sigwait(): block them before the server's thread starts */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* one internal thread: requests are served one at a time, the registry read by one */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
			     serve, reg, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_END);
	if (!d)
		return cli_err("metrics: cannot listen on %s (in use, or not an address of this "
			       "host)", addr);
	fprintf(stderr, "nmr-bpf: serving metrics on http://%s/metrics\n", addr);
	while (sigwait(&set, &sig))
		;
	MHD_stop_daemon(d);
	return 0;
}

int cmd_metrics(int argc, char **argv)
{
	const char *textfile, *listen;
	struct nmr_registry *reg;
	int err;

	if (cli_help_asked(argc, argv)) {
		printf("Usage: %s\n"
		       "Prints the registry's counters in the Prometheus text format: per binding\n"
		       "nmr_binding_packets_total by verdict, per client its chain events and\n"
		       "generation, the registry's object counts and generation. --textfile or\n"
		       "--listen, not both.\n", METRICS_USAGE);
		cli_help_opts(stdout, &metrics_spec);
		return 0;
	}
	err = cli_parse(argc, argv, &metrics_spec, NULL, 0, 0);
	if (err)
		return err;
	textfile = metrics_args.textfile, listen = metrics_args.listen;
	if (textfile && listen)
		return cli_usage_err(METRICS_USAGE, "--textfile or --listen, not both");
	if (cli.expect_gen_set)	/* it would hold the registry's lock while it serves */
		return cli_usage_err(METRICS_USAGE, "metrics changes nothing: no --expect-gen");
	if ((err = cli_open(false, &reg)))
		return err;
	if (textfile)
		err = write_textfile(reg, textfile);
	else if (listen)
		err = listen_on(reg, listen);
	else if (nmr_metrics_write(reg, stdout))
		err = cli_lib_err();
	nmr_registry_close(reg);
	return err;
}
