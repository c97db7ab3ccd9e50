// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * version_client: an NMR client module written with libnmrbpf.
 *
 * It registers the XDP hook of one interface as a client of an NPI and,
 * like the ClientAttachProvider example of the NMR documentation, inspects
 * each provider's registration instance: it attaches to providers that
 * implement the NPI version it needs and declines the others. It runs until
 * SIGINT or SIGTERM, then deregisters and waits for every detach.
 *
 *   version_client [--root DIR] --npi NPI --dev IFNAME [--netns NAME] --version N
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libnmrbpf.h"

/* The client's binding context: what it keeps per attached provider. */
struct client_binding {
	struct nmr_binding *handle;	/* NmrBindingHandle, for a later detach-complete */
	void *provider_context;
	const struct nmr_dispatch_table *provider_dispatch;
	char provider[NMR_NAME_LEN];
};

static __u32 required_version;
static volatile sig_atomic_t stop;

static int attach_provider(struct nmr_binding *binding, void *client_context,
			   const struct nmr_registration_instance *provider)
{
	const struct nmr_provider_characteristics *c = provider->provider_characteristics;
	struct client_binding *ctx;
	char reason[NMR_REASON_LEN];
	int status;

	if (required_version < c->version_min || required_version > c->version_max) {
		snprintf(reason, sizeof(reason), "needs version %u, provider has %u-%u",
			 required_version, c->version_min, c->version_max);
		nmr_binding_decline(binding, reason);
		printf("declined %s: %s\n", provider->name, reason);
		fflush(stdout);
		return NMR_STATUS_NOINTERFACE;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->handle = binding;
	snprintf(ctx->provider, sizeof(ctx->provider), "%s", provider->name);
	status = nmr_client_attach_provider(binding, ctx, &ctx->provider_context,
					    &ctx->provider_dispatch);
	if (status) {
		fprintf(stderr, "attach %s: %s\n", provider->name, nmr_last_error());
		free(ctx);
		return status;
	}
	printf("attached %s (versions %u-%u)\n", provider->name, c->version_min,
	       c->version_max);
	fflush(stdout);
	return 0;
}

static int detach_provider(void *context)
{
	struct client_binding *ctx = context;

	printf("detached %s\n", ctx->provider);
	fflush(stdout);
	return NMR_STATUS_SUCCESS;
}

static void cleanup_binding_context(void *context)
{
	free(context);
}

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	NMR_OPTS(nmr_client_opts, client);
	NMR_OPTS(nmr_client_module_opts, opts,
		.client = &client,
		.attach_provider = attach_provider,
		.detach_provider = detach_provider,
		.cleanup_binding_context = cleanup_binding_context,
	);
	const char *root = NULL;
	struct nmr_registry *reg;
	struct nmr_module *module;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--root"))
			root = argv[i + 1];
		else if (!strcmp(argv[i], "--npi"))
			client.npi = argv[i + 1];
		else if (!strcmp(argv[i], "--dev"))
			client.dev = argv[i + 1];
		else if (!strcmp(argv[i], "--netns"))
			client.netns = argv[i + 1];
		else if (!strcmp(argv[i], "--version"))
			required_version = strtoul(argv[i + 1], NULL, 0);
	}
	if (!client.npi || !client.dev || !required_version) {
		fprintf(stderr, "Usage: version_client [--root DIR] --npi NPI --dev IFNAME "
			"[--netns NAME] --version N\n");
		return 2;
	}
	client.name = "version-client";
	client.require_version = required_version;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (nmr_registry_open(root, NMR_REGISTRY_NO_CREATE, &reg)) {
		fprintf(stderr, "Error: %s\n", nmr_last_error());
		return 1;
	}
	if (nmr_client_module_register(reg, &opts, &module)) {
		fprintf(stderr, "Error: %s\n", nmr_last_error());
		nmr_registry_close(reg);
		return 1;
	}
	printf("registered: client of %s on %s, needs version %u (libnmrbpf %s)\n",
	       client.npi, client.dev, required_version, nmr_libnmrbpf_version());
	fflush(stdout);
	while (!stop)
		pause();	/* providers come and go: the library calls us */
	nmr_module_deregister(module);
	nmr_module_wait(module);
	nmr_registry_close(reg);
	printf("deregistered\n");
	return 0;
}
