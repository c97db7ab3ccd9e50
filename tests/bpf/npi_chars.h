/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A test NPI's own characteristics, as its author writes them in a header (as
 * EXNPI's Exnpi.h does): shared by npi_chars.bpf.c, whose BTF `npi register
 * --characteristics` reads, and by the modules written in C (the tests).
 */
#ifndef NPI_CHARS_TEST_H
#define NPI_CHARS_TEST_H

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

#endif
