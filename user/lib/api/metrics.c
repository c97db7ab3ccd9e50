// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The registry's counters in the Prometheus text exposition format (0.0.4):
 * per binding its verdict counts, per client its chain events and
 * generation, and the registry's object counts and generation. The CLI
 * writes it to a file or serves it; any program can embed the same.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *name, const char *value, bool last)
{
	fprintf(f, "%s=\"", name);
	for (const char *s = value; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fprintf(f, "\"%s", last ? "" : ",");
}

static void client_labels(FILE *f, const struct nmr_client_record *c, const char *npi, bool last)
{
	label(f, "client", c->name, false);
	label(f, "device", c->dev, false);
	label(f, "netns", c->netns, false);
	label(f, "npi", npi, last);
}

static const char *npi_of(const struct nmr_npi_record *npis, size_t n, const struct nmr_guid *id)
{
	for (size_t i = 0; i < n; i++)
		if (nmr_guid_equal(&npis[i].id, id))
			return npis[i].name;
	return "";
}

int nmr_metrics_write(struct nmr_registry *reg, FILE *f)
{
	struct nmr_snapshot s;
	size_t bound = 0;
	int err;

	/* counters are read under the same lock as the records */
	err = nmr_lock(reg, false);
	if (err)
		return err;
	err = nmr_snapshot_take(reg, &s);
	if (err)
		goto out;

	fputs("# HELP nmr_binding_packets_total Packets a binding's provider returned, by "
	      "verdict.\n# TYPE nmr_binding_packets_total counter\n", f);
	for (size_t i = 0; i < s.nb && !err; i++) {
		const struct nmr_binding_record *b = &s.binds[i];
		const struct nmr_client_record *c = NULL;
		const char *prov = "";
		struct nmr_binding_counts counts;
		char pos[16];

		if (b->state != NMR_BINDING_BOUND)
			continue;
		bound++;
		for (size_t j = 0; j < s.nc; j++)
			if (nmr_guid_equal(&s.clients[j].id, &b->client))
				c = &s.clients[j];
		for (size_t j = 0; j < s.np; j++)
			if (nmr_guid_equal(&s.provs[j].id, &b->provider))
				prov = s.provs[j].name;
		if (!c)
			continue;
		err = nmr_binding_counts(reg, b, &counts);
		if (err)
			break;
		snprintf(pos, sizeof(pos), "%u", b->position);
		for (int v = -1; v < NMR_VERDICT_SLOTS - 1; v++) {
			const char *name = nmr_verdict_name(c->hook, v);

			if (!name)
				continue;
			fputs("nmr_binding_packets_total{", f);
			client_labels(f, c, npi_of(s.npis, s.nn, &c->npi), false);
			label(f, "provider", prov, false);
			label(f, "position", pos, false);
			label(f, "verdict", name, true);
			fprintf(f, "} %llu\n",
				(unsigned long long)counts.verdicts[NMR_VERDICT_INDEX(v)]);
		}
	}
	fputs("# HELP nmr_client_chain_events_total Packets that found a client's chain empty "
	      "(no_provider) or whose tail call failed (missed).\n"
	      "# TYPE nmr_client_chain_events_total counter\n", f);
	for (size_t i = 0; i < s.nc && !err; i++) {
		struct nmr_client_counts cc;
		const char *npi = npi_of(s.npis, s.nn, &s.clients[i].npi);

		err = nmr_client_counts(reg, &s.clients[i], &cc);
		if (err)
			break;
		fputs("nmr_client_chain_events_total{", f);
		client_labels(f, &s.clients[i], npi, false);
		fprintf(f, "event=\"no_provider\"} %llu\n", (unsigned long long)cc.no_provider);
		fputs("nmr_client_chain_events_total{", f);
		client_labels(f, &s.clients[i], npi, false);
		fprintf(f, "event=\"missed\"} %llu\n", (unsigned long long)cc.missed);
	}
	fputs("# HELP nmr_client_generation Changes of a client's chain so far.\n"
	      "# TYPE nmr_client_generation gauge\n", f);
	for (size_t i = 0; i < s.nc && !err; i++) {
		fputs("nmr_client_generation{", f);
		client_labels(f, &s.clients[i], npi_of(s.npis, s.nn, &s.clients[i].npi), true);
		fprintf(f, "} %llu\n", (unsigned long long)s.clients[i].generation);
	}
	if (err)
		goto done;
	fprintf(f, "# HELP nmr_registry_objects Objects registered, by kind.\n"
		"# TYPE nmr_registry_objects gauge\n"
		"nmr_registry_objects{kind=\"npi\"} %zu\n"
		"nmr_registry_objects{kind=\"provider\"} %zu\n"
		"nmr_registry_objects{kind=\"client\"} %zu\n"
		"nmr_registry_objects{kind=\"binding\"} %zu\n"
		"nmr_registry_objects{kind=\"declined\"} %zu\n"
		"# HELP nmr_registry_generation Changes of the registry so far.\n"
		"# TYPE nmr_registry_generation gauge\n"
		"nmr_registry_generation %llu\n",
		s.nn, s.np, s.nc, bound, s.nb - bound, (unsigned long long)s.generation);
	if (fflush(f))
		err = nmr_error(-errno, "metrics: write: %s", strerror(errno));
done:
	nmr_snapshot_free(&s);
out:
	nmr_unlock(reg);
	return err;
}
