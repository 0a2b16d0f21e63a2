/* SPDX-License-Identifier: GPL-2.0 */
/* A port mirror whose packet_type is filled in mirror_fill.c and registered in mirror_start.c. */
#ifndef _MIRROR_H
#define _MIRROR_H

#include <kcorpus-net.h>

struct mirror {
	struct net_device *target;
	unsigned long *seen;
	struct packet_type pt;
};

void mirror_fill(struct mirror *m);

#endif
