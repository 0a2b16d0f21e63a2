// SPDX-License-Identifier: GPL-2.0
/* Registers the mirror's packet_type that mirror_fill.c filled without .dev. */
#include "mirror.h"

int mirror_start(struct mirror *m)
{
	mirror_fill(m);
	dev_add_pack(&m->pt);	// expect: wildcard-packet-type
	return 0;
}
