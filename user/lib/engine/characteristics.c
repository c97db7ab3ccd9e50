// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Attach decisions of declarative modules: what NMR's ClientAttachProvider and
 * ProviderAttachClient callbacks decide in code, a module registered from the
 * CLI decides by its characteristics, evaluated here on its behalf. A decline
 * is NMR's STATUS_NOINTERFACE; its reason is kept in the binding record.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "engine/engine.h"

static bool has_tag(const char tags[NMR_MAX_TAGS][NMR_TAG_LEN], const char *tag)
{
	for (int i = 0; i < NMR_MAX_TAGS; i++)
		if (tags[i][0] && !strncmp(tags[i], tag, NMR_TAG_LEN))
			return true;
	return false;
}

bool nmr_characteristics_match(const struct nmr_client_characteristics *c,
			       const struct nmr_provider_characteristics *p,
			       char *reason, size_t len)
{
	if (c->require_version &&
	    (c->require_version < p->version_min || c->require_version > p->version_max)) {
		snprintf(reason, len, "version: provider implements %u-%u, client requires %u",
			 p->version_min, p->version_max, c->require_version);
		return false;
	}
	if (c->af_mask && p->af_mask && (c->af_mask & p->af_mask) != c->af_mask) {
		snprintf(reason, len, "address families: provider 0x%x, client requires 0x%x",
			 p->af_mask, c->af_mask);
		return false;
	}
	for (int i = 0; i < NMR_MAX_TAGS; i++) {
		if (c->require_tags[i][0] && !has_tag(p->tags, c->require_tags[i])) {
			snprintf(reason, len, "tags: provider lacks required tag '%.*s'",
				 NMR_TAG_LEN, c->require_tags[i]);
			return false;
		}
	}
	return true;
}

/*
 * Returns 1 to attach, 0 to decline (reason filled). bound is how many
 * providers the client has bound already.
 */
int nmr_attach_decision(const struct nmr_client_record *client, size_t bound,
			const struct nmr_provider_record *prov, char *reason, size_t len)
{
	const struct nmr_client_characteristics *c = &client->chars;

	if (!nmr_characteristics_match(c, &prov->chars, reason, len))
		return 0;
	if ((c->flags & NMR_CHARS_F_EXCLUSIVE) && bound >= 1) {
		snprintf(reason, len, "client is exclusive and has a provider already");
		return 0;
	}
	if (c->max_providers && bound >= c->max_providers) {
		snprintf(reason, len, "client takes at most %u providers", c->max_providers);
		return 0;
	}
	return 1;
}

/*
 * Not a decision but a rule of the kernel: the programs of one prog array
 * must all be xdp.frags or none. A mismatched pair is refused with an error.
 */
int nmr_frags_check(const struct nmr_client_record *client, const struct nmr_provider_record *prov)
{
	bool cf = client->flags & NMR_CLIENT_F_FRAGS, pf = prov->flags & NMR_PROVIDER_F_FRAGS;

	if (client->hook != NMR_HOOK_XDP || cf == pf)
		return 0;
	return nmr_error(-EINVAL, "provider %s is %s but client %s has a %s dispatcher: they "
			 "cannot share a dispatch table (%s)", prov->name,
			 pf ? "xdp.frags" : "plain xdp", client->name,
			 cf ? "xdp.frags" : "plain xdp",
			 pf ? "register the client with --xdp-frags" :
			      "build the provider with SEC(\"xdp.frags\")");
}
