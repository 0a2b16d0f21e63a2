/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A piece of shared infrastructure (think of a lock or a work queue) whose
 * slow path releases a DMA buffer of its own, and the five subsystems in
 * five directories that call it. A driver's down path that calls it after a
 * dropped disable failure frees none of the driver's rings: the chain is not
 * followed into the shared body, only into a driver's own helpers.
 */
#ifndef _HUB_H
#define _HUB_H

#include <kcorpus-dma.h>

struct hub {
	struct device *dev;
	void *stale;
	dma_addr_t stale_dma;
	int contended;
};

void hub_enter(struct hub *h);

#endif
