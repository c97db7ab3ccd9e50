// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Version 2 of the TC stamp provider: the same program, another signature. */
#define STAMP_VERSION 2
#include "tc_stamp.bpf.c"
