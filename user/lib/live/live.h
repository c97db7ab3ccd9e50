/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live layer: modules registered with NMR's callbacks, the watcher that
 * meets peers other processes register, and the watchdog. It calls the api
 * below it; nothing calls it but through the store's observer.
 */
#ifndef NMR_LIVE_H
#define NMR_LIVE_H

#include "api/api.h"

#endif /* NMR_LIVE_H */
