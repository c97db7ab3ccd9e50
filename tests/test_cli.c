// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The command line's contract (CLI.md): help, version, prefixes, output shapes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "helpers.h"

TestSuite(cli, .init = env_setup_no_netns, .fini = env_teardown, .timeout = 60);

Test(cli, help_on_every_level)
{
	struct cli_result r;
	const char *objects[] = { "npi", "provider", "client", "binding", "registry" };
	char usage[64];

	cr_assert_eq(cli(&r, "--help"), 0);
	cr_assert(strstr(r.out, "Usage: nmr-bpf [OPTIONS] OBJECT COMMAND [ARGS]"));
	cr_assert(strstr(r.out, "--root DIR"));
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		cr_assert_eq(cli(&r, "%s help", objects[i]), 0);
		cr_assert(strstr(r.out, "Usage: nmr-bpf "), "%s help: %s", objects[i], r.out);
		cr_assert_eq(cli(&r, "%s --help", objects[i]), 0);
		/* the object's own usage, not the top level's */
		snprintf(usage, sizeof(usage), "Usage: nmr-bpf %s ", objects[i]);
		cr_assert(!strncmp(r.out, usage, strlen(usage)), "%s --help: %s", objects[i], r.out);
	}
	/* no object: usage on stderr, exit 2 */
	cr_assert_eq(cli(&r, "%s", ""), 2);
	cr_assert(strstr(r.err, "Usage:"));
}

Test(cli, version)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "-V"), 0);
	cr_assert(!strncmp(r.out, "nmr-bpf ", 8), "%s", r.out);
	cr_assert_eq(cli(&r, "-j version"), 0);
	cr_assert(strstr(r.out, "\"version\":"), "%s", r.out);
}

Test(cli, unambiguous_prefixes_are_accepted)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "n reg demo --hook xdp"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "-j n l"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"name\":\"demo\""), "%s", r.out);
	cr_assert_eq(cli(&r, "prov l"), 0, "%s", r.err);
	cr_assert_neq(cli(&r, "npi x"), 0);
	cr_assert(strstr(r.err, "'x' is not a command"), "%s", r.err);
}

Test(cli, lists_of_an_empty_or_missing_registry)
{
	struct cli_result r;

	/* nothing registered yet: lists are empty, and no registry is created */
	cr_assert_eq(cli(&r, "-j provider list"), 0, "%s", r.err);
	cr_assert_str_eq(r.out, "[]\n");
	cr_assert_eq(cli(&r, "client list"), 0);
	cr_assert_str_eq(r.out, "");
	cr_assert_eq(access(env.root, F_OK), -1, "a list created %s", env.root);
}

Test(cli, npi_lifecycle_and_human_tables)
{
	struct cli_result r;

	struct nmr_guid id;
	char guid[NMR_GUID_STR_LEN], row[160];

	cr_assert_eq(cli(&r, "npi register ingress-filters --hook tc-ingress"), 0, "%s", r.err);
	cr_assert_eq(strlen(r.out), 37, "register prints the new id: %s", r.out);
	snprintf(guid, sizeof(guid), "%.36s", r.out);
	cr_assert_eq(nmr_guid_parse(guid, &id), 0, "register printed no GUID: %s", r.out);
	cr_assert_eq(cli(&r, "npi list"), 0);
	cr_assert(strstr(r.out, "ID "), "%s", r.out);
	/* the id register printed, on the row of the name, with the hook */
	cr_assert(strstr(r.out, guid), "the new id is not listed: %s", r.out);
	snprintf(row, sizeof(row), "%s", strstr(r.out, guid));
	row[strcspn(row, "\n")] = 0;
	cr_assert(strstr(row, "ingress-filters"), "%s", r.out);
	cr_assert(strstr(row, "tc-ingress"), "%s", r.out);
	cr_assert_eq(cli(&r, "-p npi show ingress-filters"), 0);
	cr_assert(strstr(r.out, guid), "show does not give the id register printed: %s", r.out);
	cr_assert(strstr(r.out, "\"hook\": \"tc-ingress\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"version\": 1"), "%s", r.out);
	cr_assert_eq(cli(&r, "npi deregister ingress-filters"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "-j npi list"), 0);
	cr_assert_str_eq(r.out, "[]\n");
}

Test(cli, providers_implement_their_npi_version_by_default)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register v3 --hook xdp --version 3"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "-j provider register %s --npi v3", bpf_obj("frame_counter")), 0,
		     "%s", r.err);
	cr_assert(strstr(r.out, "\"version_min\":3,\"version_max\":3"), "%s", r.out);
}

Test(cli, npi_in_use_cannot_be_deregistered)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register demo --hook xdp"), 0);
	cr_assert_eq(cli(&r, "provider register %s --npi demo", bpf_obj("frame_counter")), 0,
		     "%s", r.err);
	cr_assert_neq(cli(&r, "npi deregister demo"), 0);
	cr_assert(strstr(r.err, "deregister them first"), "%s", r.err);
	cr_assert_eq(cli(&r, "provider deregister frame_counter"), 0, "%s", r.err);
	cr_assert_eq(cli(&r, "npi deregister demo"), 0, "%s", r.err);
}

Test(cli, provider_json_carries_the_contract_fields)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "npi register demo --hook xdp"), 0);
	cr_assert_eq(cli(&r, "-j provider register %s --npi demo --name fc --priority 7 "
			 "--version 2-4 --continue-on pass,tx", bpf_obj("frame_counter")), 0,
		     "%s", r.err);
	const char *fields[] = { "\"id\":", "\"name\":\"fc\"", "\"npi\":\"demo\"",
				 "\"priority\":7", "\"version_min\":2", "\"version_max\":4",
				 "\"prog_id\":", "\"continue_on\":[\"pass\",\"tx\"]" };

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		cr_expect(strstr(r.out, fields[i]), "missing %s in %s", fields[i], r.out);
}

Test(cli, destroy_purges_a_registry_of_another_layout_but_nothing_else)
{
	struct cli_result r;

	/* a directory that is not a registry (no meta) is left alone */
	cr_assert_eq(sh("mkdir -p %s && bpftool map create %s/providers type hash key 16 value 8 "
			"entries 4 name providers", env.root, env.root), 0);
	cr_assert_eq(cli(&r, "registry destroy"), 0, "%s", r.err);
	cr_assert_eq(access(env.root, F_OK), 0, "a foreign directory was removed");
	/* a registry whose meta has another layout: purged by its pins */
	cr_assert_eq(sh("bpftool map create %s/meta type array key 4 value 8 entries 1 name meta",
			env.root), 0);
	cr_assert_eq(cli(&r, "registry destroy"), 0, "%s", r.err);
	cr_assert(strstr(r.err, "removed its pins instead"), "%s", r.err);
	cr_assert_eq(access(env.root, F_OK), -1);
}

Test(cli, npi_slots_and_a_provider_program_for_each)
{
	struct cli_result r;

	cr_assert_eq(cli(&r, "-j npi register s --hook xdp --slots main,aux"), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"slots\":[\"main\",\"aux\"]"), "%s", r.out);
	cr_assert_neq(cli(&r, "provider register %s --npi s --prog main_path",
			  test_obj("slotted")), 0);
	cr_assert(strstr(r.err, "npi s has a slot aux: give its program with --slot aux=PROGRAM"),
		  "%s", r.err);
	cr_assert_neq(cli(&r, "provider register %s --npi s --prog main_path --slot aux=nope",
			  test_obj("slotted")), 0);
	cr_assert(strstr(r.err, "has no program nope for slot aux"), "%s", r.err);
	cr_assert_neq(cli(&r, "provider register %s --npi s --prog main_path --slot other=aux_path",
			  test_obj("slotted")), 0);
	cr_assert(strstr(r.err, "npi s has no slot other"), "%s", r.err);
	cr_assert_eq(cli(&r, "-j provider register %s --npi s --prog main_path --slot aux=aux_path",
			 test_obj("slotted")), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"slot_programs\":[\"main_path\",\"aux_path\"]"), "%s", r.out);
	/* the provider's dispatch table in the registry: one program per slot */
	cr_assert_eq(sh("bpftool map dump pinned %s/provider/*/dispatch | grep -q 'Found 2 elements'",
			env.root), 0);
}
