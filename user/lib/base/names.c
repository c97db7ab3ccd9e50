// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Names of hooks and verdicts, as users type them on the command line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "base/base.h"

static const char *const hook_names[] = {
	[NMR_HOOK_XDP] = "xdp",
	[NMR_HOOK_TC_INGRESS] = "tc-ingress",
	[NMR_HOOK_TC_EGRESS] = "tc-egress",
};

const char *nmr_hook_name(enum nmr_hook hook)
{
	if ((unsigned int)hook < ARRAY_SIZE(hook_names) && hook_names[hook])
		return hook_names[hook];
	return "unknown";
}

int nmr_hook_parse(const char *name, enum nmr_hook *hook)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(hook_names); i++) {
		if (hook_names[i] && !strcmp(name, hook_names[i])) {
			*hook = i;
			return 0;
		}
	}
	return -EINVAL;
}

struct verdict_name {
	int verdict;
	const char *name;
};

/* XDP_* */
static const struct verdict_name xdp_verdicts[] = {
	{ 0, "aborted" }, { 1, "drop" }, { 2, "pass" }, { 3, "tx" }, { 4, "redirect" },
};

/* TC_ACT_*; "pass" is accepted as another name of "ok". */
static const struct verdict_name tc_verdicts[] = {
	{ -1, "unspec" }, { 0, "ok" }, { 1, "reclassify" }, { 2, "shot" }, { 3, "pipe" },
	{ 4, "stolen" }, { 5, "queued" }, { 6, "repeat" }, { 7, "redirect" }, { 8, "trap" },
	{ 0, "pass" },
};

static const struct verdict_name *verdicts_of(enum nmr_hook hook, size_t *n)
{
	if (hook == NMR_HOOK_XDP) {
		*n = ARRAY_SIZE(xdp_verdicts);
		return xdp_verdicts;
	}
	*n = ARRAY_SIZE(tc_verdicts);
	return tc_verdicts;
}

const char *nmr_verdict_name(enum nmr_hook hook, int verdict)
{
	size_t n;
	const struct verdict_name *v = verdicts_of(hook, &n);

	for (size_t i = 0; i < n; i++)
		if (v[i].verdict == verdict)
			return v[i].name;
	return NULL;
}

int nmr_verdicts_parse(enum nmr_hook hook, const char *list, __u32 *mask)
{
	char buf[256], *save = NULL, *tok;
	size_t n;
	const struct verdict_name *v = verdicts_of(hook, &n);

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return nmr_error(-EINVAL, "verdict list too long");
	/* strtok_r would skip empty items: "" or "pass,,drop" is a mistake to report */
	if (!buf[0] || buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return nmr_error(-EINVAL, "verdict list '%s': give one or more %s verdicts, "
				 "separated by commas (e.g. pass,drop)", list, nmr_hook_name(hook));
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < n; i++)
			if (!strcmp(tok, v[i].name))
				break;
		if (i == n) {
			char names[160] = "";

			for (i = 0; i < n; i++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names),
					 "%s%s", i ? ", " : "", v[i].name);
			return nmr_error(-EINVAL, "unknown %s verdict '%s' (one of: %s)",
					 nmr_hook_name(hook), tok, names);
		}
		*mask |= NMR_VERDICT_BIT(v[i].verdict);
	}
	return 0;
}

char *nmr_verdicts_format(enum nmr_hook hook, __u32 mask, char *buf, size_t len)
{
	size_t n, used = 0;
	const struct verdict_name *v = verdicts_of(hook, &n);

	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		/* "pass" for TC is an alias: print the canonical name once */
		if (hook != NMR_HOOK_XDP && !strcmp(v[i].name, "pass"))
			continue;
		if (mask & NMR_VERDICT_BIT(v[i].verdict))
			used += snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 used ? "," : "", v[i].name);
	}
	return buf;
}

__u32 nmr_default_continue_on(enum nmr_hook hook)
{
	/*
	 * "Not mine": XDP_PASS; for TC, TC_ACT_UNSPEC, which is TCX_NEXT: the
	 * verdict by which the kernel itself hands a packet to the next program
	 * of a TCX hook (and cls_bpf to the next filter).
	 */
	return NMR_VERDICT_BIT(hook == NMR_HOOK_XDP ? 2 /* XDP_PASS */ : -1 /* TC_ACT_UNSPEC */);
}

/* Names: letters, digits, '_', '-', '.'; not a GUID (that would be ambiguous). */
int nmr_name_check(const char *kind, const char *name)
{
	struct nmr_guid id;
	size_t len = strlen(name);

	if (!len || len >= NMR_NAME_LEN)
		return nmr_error(-EINVAL, "%s name '%s': must be 1 to %d characters", kind, name,
				 NMR_NAME_LEN - 1);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '_' && c != '-' && c != '.')
			return nmr_error(-EINVAL, "%s name '%s': only letters, digits, '_', '-' "
					 "and '.' are allowed", kind, name);
	}
	if (name[0] == '-' || name[0] == '.')
		return nmr_error(-EINVAL, "%s name '%s': must start with a letter, a digit or '_' "
				 "(a leading '-' reads as an option)", kind, name);
	if (!nmr_guid_parse(name, &id))
		return nmr_error(-EINVAL, "%s name '%s': a name must not be a GUID", kind, name);
	return 0;
}
