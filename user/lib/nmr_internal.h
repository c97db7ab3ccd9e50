/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every layer's internal interfaces at once: for the tests and fuzz targets,
 * which reach into any layer. Library files include their own layer's header.
 */
#ifndef NMR_INTERNAL_H
#define NMR_INTERNAL_H

#include "live/live.h"

#endif /* NMR_INTERNAL_H */
