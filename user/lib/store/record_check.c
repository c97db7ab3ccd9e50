// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Records read back from the registry maps are input too: anyone with the rights can write a
 * pinned map (bpftool map update), and a damaged record must not make the registrar read past
 * a name or index past an array. Every record is checked here before it is used: strings end
 * within their fields, enums and counts are in range.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "store/store.h"

/* The record kinds are told apart by size: they must stay different. */
_Static_assert(sizeof(struct nmr_npi_record) != sizeof(struct nmr_provider_record) &&
	       sizeof(struct nmr_npi_record) != sizeof(struct nmr_client_record) &&
	       sizeof(struct nmr_npi_record) != sizeof(struct nmr_binding_record) &&
	       sizeof(struct nmr_provider_record) != sizeof(struct nmr_client_record) &&
	       sizeof(struct nmr_provider_record) != sizeof(struct nmr_binding_record) &&
	       sizeof(struct nmr_client_record) != sizeof(struct nmr_binding_record),
	       "record kinds must differ in size (nmr_record_check)");

/* Ends the string within its field; false when it did not end there. */
static bool terminate(char *s, size_t len)
{
	if (memchr(s, 0, len))
		return true;
	s[len - 1] = 0;
	return false;
}

#define STR(field) terminate((field), sizeof(field))

static bool hook_ok(__u32 hook)
{
	return hook >= NMR_HOOK_XDP && hook <= NMR_HOOK_TC_EGRESS;
}

static bool check_npi(struct nmr_npi_record *n)
{
	bool ok = STR(n->name) && hook_ok(n->hook);

	if (n->nslots < 1 || n->nslots > NMR_MAX_SLOTS) {
		n->nslots = n->nslots ? NMR_MAX_SLOTS : 1;
		ok = false;
	}
	for (int i = 0; i < NMR_MAX_SLOTS; i++)
		ok = STR(n->slots[i]) && ok;
	return ok;
}

static bool check_chars_tags(char tags[NMR_MAX_TAGS][NMR_TAG_LEN])
{
	bool ok = true;

	for (int i = 0; i < NMR_MAX_TAGS; i++)
		ok = terminate(tags[i], NMR_TAG_LEN) && ok;
	return ok;
}

static bool check_provider(struct nmr_provider_record *p)
{
	bool ok = STR(p->name);

	ok = STR(p->prog_name) && ok;
	ok = check_chars_tags(p->chars.tags) && ok;
	for (int i = 0; i < NMR_MAX_SLOTS; i++)
		ok = STR(p->slot_progs[i]) && ok;
	return ok && p->chars.version_min <= p->chars.version_max;
}

static bool check_client(struct nmr_client_record *c)
{
	bool ok = STR(c->name);

	ok = STR(c->dev) && ok;
	ok = STR(c->netns) && ok;
	ok = check_chars_tags(c->chars.require_tags) && ok;
	return ok && hook_ok(c->hook) && c->mode <= NMR_MODE_SKB && c->nchain <= NMR_MAX_CHAIN &&
	       c->nnext <= NMR_MAX_CHAIN;
}

static bool check_binding(struct nmr_binding_record *b)
{
	bool ok = STR(b->reason);

	return ok && b->state >= NMR_BINDING_BOUND && b->state <= NMR_BINDING_ACCEPTED &&
	       b->context_index < NMR_MAX_BINDINGS && b->position < NMR_MAX_CHAIN;
}

int nmr_record_check(void *rec, size_t size)
{
	bool ok;

	switch (size) {
	case sizeof(struct nmr_npi_record):
		ok = check_npi(rec);
		break;
	case sizeof(struct nmr_provider_record):
		ok = check_provider(rec);
		break;
	case sizeof(struct nmr_client_record):
		ok = check_client(rec);
		break;
	case sizeof(struct nmr_binding_record):
		ok = check_binding(rec);
		break;
	default:
		return 0;
	}
	return ok ? 0 : -EBADMSG;
}
