// SPDX-License-Identifier: GPL-2.0
/* Ring side: unmap and free every buffer of every Rx ring. */
#include "spl.h"

static void spl_ring_clean(struct spl_ring *ring)
{
	unsigned int i;

	for (i = 0; i < ring->count; i++)
		if (ring->bufs[i].skb)
			spl_unmap_buf(ring, i); // evidence: dma-free-after-failed-disable
}

void spl_ring_free_all(struct spl_priv *priv)
{
	unsigned int q;

	for (q = 0; q < priv->num_queues; q++)
		spl_ring_clean(&priv->rx[q]);
}
