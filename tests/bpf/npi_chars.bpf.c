// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An NPI's own characteristics, as its author writes them in a header (as
 * EXNPI's Exnpi.h does): `npi register --characteristics npi_chars.bpf.o`
 * takes them from this object's BTF. Each struct is used by a global
 * variable, or clang would leave it out of the BTF.
 */
#include <linux/types.h>
#include <stdbool.h>

enum npi_l4 {
	L4_TCP = 6,
	L4_UDP = 17,
	L4_SCTP = 132,
};

struct provider_characteristics {
	__u8 proto;
	__u16 max_mtu;
	__s32 offset;
	enum npi_l4 l4;
	char ifname[16];
	struct {
		__u32 lo;
		__u32 hi;
	} ports;
	__u16 queues[4];
	__u32 flags : 4, level : 4;
	bool checksum;
};

struct client_characteristics {
	__u32 min_mtu;
	char label[8];
};

struct provider_characteristics provider_characteristics_btf;
struct client_characteristics client_characteristics_btf;

char _license[] __attribute__((section("license"), used)) = "GPL";
