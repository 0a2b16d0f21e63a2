// SPDX-License-Identifier: GPL-2.0
/* One of the subsystems that take the shared hub. */
#include "../../hub.h"

int gpu_submit(struct hub *h, int busy)
{
	if (busy)
		return -EBUSY;
	hub_enter(h);
	return 0;
}
