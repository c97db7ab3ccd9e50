// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* GUIDs in the Windows layout and text form. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "base/base.h"

int nmr_guid_parse(const char *str, struct nmr_guid *guid)
{
	char hex[33];
	size_t len, n = 0;
	unsigned int b[16];

	if (!str)
		return -EINVAL;
	len = strlen(str);
	if (len == 38 && str[0] == '{' && str[37] == '}') {
		str++;
		len -= 2;
	}
	if (len != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash != (str[i] == '-'))
			return -EINVAL;
		if (!dash) {
			if (!isxdigit((unsigned char)str[i]))
				return -EINVAL;
			hex[n++] = str[i];
		}
	}
	hex[n] = 0;
	for (int i = 0; i < 16; i++)
		if (sscanf(hex + 2 * i, "%2x", &b[i]) != 1)
			return -EINVAL;
	guid->data1 = b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
	guid->data2 = b[4] << 8 | b[5];
	guid->data3 = b[6] << 8 | b[7];
	for (int i = 0; i < 8; i++)
		guid->data4[i] = b[8 + i];
	return 0;
}

void nmr_guid_format(const struct nmr_guid *g, char buf[NMR_GUID_STR_LEN])
{
	snprintf(buf, NMR_GUID_STR_LEN, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 g->data1, g->data2, g->data3, g->data4[0], g->data4[1], g->data4[2],
		 g->data4[3], g->data4[4], g->data4[5], g->data4[6], g->data4[7]);
}

/* A random (version 4, RFC 4122 variant) GUID. */
int nmr_guid_generate(struct nmr_guid *guid)
{
	if (getrandom(guid, sizeof(*guid), 0) != sizeof(*guid))
		return nmr_error(-errno, "generate GUID: %s", strerror(errno));
	guid->data3 = (guid->data3 & 0x0fff) | 0x4000;
	guid->data4[0] = (guid->data4[0] & 0x3f) | 0x80;
	return 0;
}

bool nmr_guid_is_null(const struct nmr_guid *guid)
{
	static const struct nmr_guid null;

	return !memcmp(guid, &null, sizeof(null));
}

bool nmr_guid_equal(const struct nmr_guid *a, const struct nmr_guid *b)
{
	return !memcmp(a, b, sizeof(*a));
}
