// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The object `npi register --characteristics` takes a test NPI's structs
 * from: built with -g, its BTF holds them. Each is used by a global variable,
 * or clang would leave it out of the BTF.
 */
#include "npi_chars.h"

struct provider_characteristics provider_characteristics_btf;
struct client_characteristics client_characteristics_btf;

char _license[] __attribute__((section("license"), used)) = "GPL";
