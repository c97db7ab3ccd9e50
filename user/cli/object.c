// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* list, show and deregister: the same for every registered object. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cli_list(const struct cli_object *o, int argc, char **argv)
{
	struct nmr_registry *reg;
	char command[64];
	struct cli_spec spec = { .command = command };
	size_t n;
	char *recs;
	int err;

	snprintf(command, sizeof(command), "nmr-bpf %s list", o->name);
	err = cli_parse(argc, argv, &spec, NULL, 0, 0);
	if (err || (err = cli_open(false, &reg)))
		return err;
	if (o->list(reg, (void **)&recs, &n)) {
		err = cli_lib_err();
	} else {
		if (cli.json)
			jw_open_array(jw, NULL);
		for (size_t i = 0; i < n; i++)
			o->print(reg, recs + i * o->size, i == 0, false);
		if (cli.json) {
			jw_close_array(jw);
			jw_finish(jw);
		}
		free(recs);
	}
	nmr_registry_close(reg);
	return err;
}

int cli_show(const struct cli_object *o, int argc, char **argv)
{
	const char *ident = NULL;
	struct nmr_registry *reg;
	char command[64];
	struct cli_spec spec = { .command = command, .positional = o->ident };
	void *rec = malloc(o->size);
	int err;

	snprintf(command, sizeof(command), "nmr-bpf %s show", o->name);
	err = cli_parse(argc, argv, &spec, &ident, 1, 1);
	if (!err && !rec)
		err = cli_err("out of memory");
	if (err || (err = cli_open(false, &reg))) {
		free(rec);
		return err;
	}
	if (o->find(reg, ident, rec)) {
		err = cli_lib_err();
	} else {
		o->print(reg, rec, true, true);
		if (cli.json)
			jw_finish(jw);
	}
	nmr_registry_close(reg);
	free(rec);
	return err;
}

int cli_deregister(const struct cli_object *o, int argc, char **argv)
{
	const char *ident = NULL;
	struct nmr_registry *reg;
	char command[64];
	struct cli_spec spec = { .command = command, .positional = o->ident };
	int err;

	snprintf(command, sizeof(command), "nmr-bpf %s deregister", o->name);
	err = cli_parse(argc, argv, &spec, &ident, 1, 1);
	if (!strcmp(o->name, "client"))
		cli.expect_client = ident;	/* --expect-gen: the client's generation */
	/* a registry is never created to remove something from it */
	if (err || (err = cli_open(false, &reg)))
		return err;
	if (o->deregister(reg, ident)) {
		err = cli_lib_err();
	} else if (cli.json) {
		jw_open_object(jw, NULL);
		jw_string(jw, "deregistered", ident);
		jw_close_object(jw);
		jw_finish(jw);
	}
	nmr_registry_close(reg);
	return err;
}

/* A registered object's name from its GUID, or the GUID when it is not registered. */
const char *cli_name_of(struct nmr_registry *reg, enum cli_kind kind, const struct nmr_guid *id,
			char *buf, size_t len)
{
	union {
		struct nmr_npi_record n;
		struct nmr_provider_record p;
		struct nmr_client_record c;
	} r;
	char guid[NMR_GUID_STR_LEN];
	const char *name = NULL;

	nmr_guid_format(id, guid);
	if (kind == CLI_NPI && !nmr_npi_find(reg, guid, &r.n))
		name = r.n.name;
	else if (kind == CLI_PROVIDER && !nmr_provider_find(reg, guid, &r.p))
		name = r.p.name;
	else if (kind == CLI_CLIENT && !nmr_client_find(reg, guid, &r.c))
		name = r.c.name;
	snprintf(buf, len, "%s", name ? name : guid);
	return buf;
}

int cli_registered(struct nmr_registry *reg, int err, const struct cli_object *o,
		   const void *rec, const struct nmr_guid *id)
{
	char gs[NMR_GUID_STR_LEN];

	if (err) {
		err = cli_lib_err();
	} else if (cli.json) {
		o->print(reg, rec, false, true);
		jw_finish(jw);
	} else if (id) {
		nmr_guid_format(id, gs);
		printf("%s\n", gs);
	}
	nmr_registry_close(reg);
	return err;
}
