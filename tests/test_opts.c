// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Options structs that carry their size (NMR_OPTS): the library takes an
 * older, smaller struct with its missing fields as zero, refuses a struct
 * without its size, and a newer, larger one with bytes it does not know set.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "helpers.h"

TestSuite(opts, .init = env_setup_no_netns, .fini = env_teardown, .timeout = 60);

static bool npi_exists(struct nmr_registry *reg, const char *name)
{
	struct nmr_npi_record rec;

	return nmr_npi_find(reg, name, &rec) == 0;
}

Test(opts, sizes)
{
	struct nmr_registry *reg = open_registry();
	struct nmr_npi_record rec;
	/* A newer caller's struct: ours, then a field this library does not know. */
	struct {
		struct nmr_npi_opts o;
		__u64 newer_field;
	} big = { .o = { .sz = sizeof(big), .name = "big", .hook = NMR_HOOK_XDP } };
	NMR_OPTS(nmr_npi_opts, o, .name = "plain", .hook = NMR_HOOK_XDP, .version = 3);
	struct nmr_npi_opts no_sz = { .name = "nosz", .hook = NMR_HOOK_XDP };

	cr_assert_eq(o.sz, sizeof(struct nmr_npi_opts));
	cr_assert_eq(nmr_npi_register(reg, &o, &rec), 0, "%s", nmr_last_error());
	cr_assert_eq(rec.version, 3);

	/* No size: refused, and nothing registered. */
	cr_assert_eq(nmr_npi_register(reg, &no_sz, NULL), -EINVAL);
	cr_assert(strstr(nmr_last_error(), "NMR_OPTS"), "%s", nmr_last_error());
	cr_assert(!npi_exists(reg, "nosz"));

	/* An older caller's struct that ends before version: version taken as 0 (1). */
	NMR_OPTS(nmr_npi_opts, old, .name = "old", .hook = NMR_HOOK_XDP, .version = 7);
	old.sz = offsetof(struct nmr_npi_opts, version);
	cr_assert_eq(nmr_npi_register(reg, &old, &rec), 0, "%s", nmr_last_error());
	cr_assert_eq(rec.version, 1, "read a field beyond sz: version %u", rec.version);

	/* Larger, the unknown tail zero: accepted. Set: refused, nothing registered. */
	cr_assert_eq(nmr_npi_register(reg, &big.o, NULL), 0, "%s", nmr_last_error());
	big.o.name = "big2";
	big.newer_field = 1;
	cr_assert_eq(nmr_npi_register(reg, &big.o, NULL), -EINVAL);
	cr_assert(!npi_exists(reg, "big2"));

	/* The module options check the client options they point to as well. */
	struct nmr_client_opts c_no_sz = { .npi = "plain", .dev = "lo" };
	NMR_OPTS(nmr_client_module_opts, m, .client = &c_no_sz,
		 .attach_provider = (void *)1);
	struct nmr_module *module = NULL;

	cr_assert_eq(nmr_client_module_register(reg, &m, &module), -EINVAL);
	cr_assert_null(module);
	nmr_registry_close(reg);
}

Test(opts, library_version)
{
	char want[32];

	snprintf(want, sizeof(want), "%d.%d.%d", LIBNMRBPF_MAJOR_VERSION, LIBNMRBPF_MINOR_VERSION,
		 LIBNMRBPF_PATCH_VERSION);
	cr_assert_str_eq(nmr_libnmrbpf_version(), want);
}
