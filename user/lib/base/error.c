// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The one place where failures become messages: "<what failed>: <why>". */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "base/base.h"

static __thread char errbuf[1024];

const char *nmr_last_error(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

int nmr_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -err;
}

int nmr_error_prefix(int err, const char *fmt, ...)
{
	char prefix[512], old[sizeof(errbuf)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(old, sizeof(old), "%s", errbuf);
	snprintf(errbuf, sizeof(errbuf), "%s: %s", prefix, old[0] ? old : strerror(-err));
	return err < 0 ? err : -err;
}
