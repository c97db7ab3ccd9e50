// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nmr-pktgen: sends raw Ethernet frames on one interface with an AF_PACKET
 * socket, for the demo, tests and benchmarks. Frames never leave the veth
 * pair they are sent on.
 *   nmr-pktgen [--netns NAME] DEV COUNT [SIZE]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	unsigned char frame[1514] = {};
	struct sockaddr_ll sll = {};
	unsigned long count, size = 64;
	int fd, i = 1;

	if (argc > 2 && !strcmp(argv[1], "--netns")) {
		char path[256];
		int ns;

		snprintf(path, sizeof(path), "/run/netns/%s", argv[2]);
		ns = open(path, O_RDONLY);
		if (ns < 0 || setns(ns, CLONE_NEWNET)) {
			fprintf(stderr, "Error: enter netns %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		close(ns);
		i = 3;
	}
	if (argc - i < 2) {
		fprintf(stderr, "Usage: nmr-pktgen [--netns NAME] DEV COUNT [SIZE]\n");
		return 2;
	}
	count = strtoul(argv[i + 1], NULL, 0);
	if (argc - i > 2)
		size = strtoul(argv[i + 2], NULL, 0);
	if (size < ETH_ZLEN || size > sizeof(frame))
		size = ETH_ZLEN;
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = if_nametoindex(argv[i]);
	sll.sll_halen = ETH_ALEN;
	if (!sll.sll_ifindex) {
		fprintf(stderr, "Error: unknown device %s\n", argv[i]);
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		fprintf(stderr, "Error: AF_PACKET socket: %s\n", strerror(errno));
		return 1;
	}
	/* Broadcast destination, locally administered source, an experimental ethertype. */
	memset(frame, 0xff, ETH_ALEN);
	memcpy(frame + ETH_ALEN, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	memset(sll.sll_addr, 0xff, ETH_ALEN);
	for (unsigned long n = 0; n < count; n++) {
		memcpy(frame + 14, &n, sizeof(n));
		if (sendto(fd, frame, size, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			fprintf(stderr, "Error: send on %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
	}
	close(fd);
	printf("sent %lu frames of %lu bytes on %s\n", count, size, argv[i]);
	return 0;
}
