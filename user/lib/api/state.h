/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A parsed state file (state.c), as apply.c reads it. Strings point into the
 * YAML document, which lives as long as the state. Each object starts with
 * where it is in the file and its name.
 */
#ifndef NMR_STATE_H
#define NMR_STATE_H

#include <yaml.h>
#include "libnmrbpf.h"

#define STATE_MAX	1024	/* objects of one kind in a file */

struct state_npi {
	int line, column;
	const char *name;
	struct nmr_guid id;
	bool has_id;
	enum nmr_hook hook;
	__u32 version;			/* 0: 1 */
	const char *slots[NMR_MAX_SLOTS];
};

struct state_provider {
	int line, column;
	const char *name;
	struct nmr_guid id;
	bool has_id;
	const char *npi, *object, *program, *sha256;
	__u32 priority;
	bool priority_set;
	const char *continue_on[NMR_VERDICT_SLOTS];
	bool continue_on_set;
	yaml_node_t *continue_on_node;
	__u32 version_min, version_max;
	bool version_set;
	__u32 af_mask;
	const char *tags[NMR_MAX_TAGS];
	const char *slot_progs[NMR_MAX_SLOTS];	/* [0] unused: program is slot 0's */
};

struct state_client {
	int line, column;
	const char *name;
	struct nmr_guid id;
	bool has_id;
	const char *npi, *dev, *netns;
	enum nmr_xdp_mode mode;
	__u32 require_version, af_mask, max_providers;
	bool exclusive, xdp_frags, tc_netlink;
	const char *require_tags[NMR_MAX_TAGS];
};

struct nmr_state {
	char source[256];
	yaml_document_t doc;
	bool loaded;
	size_t nnpis, nproviders, nclients;
	struct state_npi npis[STATE_MAX];
	struct state_provider providers[STATE_MAX];
	struct state_client clients[STATE_MAX];
};

#endif /* NMR_STATE_H */
