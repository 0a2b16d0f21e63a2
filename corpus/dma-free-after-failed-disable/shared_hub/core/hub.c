// SPDX-License-Identifier: GPL-2.0
/* The shared slow path: drops a stale bounce buffer before it waits. */
#include "../hub.h"

void hub_enter(struct hub *h)
{
	if (h->contended && h->stale) {
		dma_free_coherent(h->dev, 256, h->stale, h->stale_dma);
		h->stale = NULL;
	}
	h->contended++;
}
