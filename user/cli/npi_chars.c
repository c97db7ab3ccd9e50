// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* NPI-defined characteristics in provider and client show: fields by the NPI's names. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static int json_field(const struct nmr_npi_field *f, void *ctx)
{
	switch (f->type) {
	case NMR_NPI_FIELD_SIGNED:
		jw_int(jw, f->name, f->s);
		break;
	case NMR_NPI_FIELD_UNSIGNED:
		jw_uint(jw, f->name, f->u);
		break;
	case NMR_NPI_FIELD_BOOL:
		jw_bool(jw, f->name, f->u);
		break;
	default:	/* enums by name (or number as text), floats, strings */
		jw_string(jw, f->name, f->text);
	}
	return 0;
}

static int text_field(const struct nmr_npi_field *f, void *ctx)
{
	int *n = ctx;

	printf("%s%s=%s", (*n)++ ? " " : "", f->name, f->text);
	return 0;
}

void print_npi_chars(struct nmr_registry *reg, enum nmr_module_kind kind,
		     const struct nmr_guid *npi, const struct nmr_guid *module)
{
	char npi_id[NMR_GUID_STR_LEN], id[NMR_GUID_STR_LEN];
	__u32 size = 0;
	int n = 0;

	nmr_guid_format(npi, npi_id);
	nmr_guid_format(module, id);
	if (nmr_npi_chars_size(reg, npi_id, kind, &size) || !size)
		return;
	if (cli.json) {
		jw_open_object(jw, "npi_characteristics");
		nmr_npi_chars_foreach(reg, kind, id, json_field, NULL);
		jw_close_object(jw);
		return;
	}
	printf("npi chars:    ");
	nmr_npi_chars_foreach(reg, kind, id, text_field, &n);
	printf("%s\n", n ? "" : "(none)");
}

void print_npi_requires(struct nmr_registry *reg, const struct nmr_guid *client)
{
	struct nmr_npi_requires req;
	char id[NMR_GUID_STR_LEN];

	nmr_guid_format(client, id);
	if (nmr_client_npi_requires(reg, id, &req) || !req.require[0][0])
		return;
	if (cli.json)
		jw_open_array(jw, "npi_requires");
	else
		printf("npi requires:");
	for (int i = 0; i < NMR_MAX_REQUIRES && req.require[i][0]; i++) {
		if (cli.json)
			jw_string(jw, NULL, req.require[i]);
		else
			printf(" %s", req.require[i]);
	}
	if (cli.json)
		jw_close_array(jw);
	else
		printf("\n");
}
