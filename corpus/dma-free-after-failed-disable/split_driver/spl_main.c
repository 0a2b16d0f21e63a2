// SPDX-License-Identifier: GPL-2.0
/*
 * Netdev side: the down path. Nothing here polls or frees by itself; the
 * finding joins summaries of spl_hw.c (stop helper drops a disable failure)
 * and spl_ring.c (ring cleanup unmaps buffers).
 */
#include "spl.h"

void spl_down(struct spl_priv *priv)
{
	spl_hw_stop(priv); // evidence: dma-free-after-failed-disable
	spl_ring_free_all(priv); // expect: dma-free-after-failed-disable
}

/* The same calls with the disable checked first: no finding. */
int spl_down_checked(struct spl_priv *priv)
{
	int err = spl_hw_disable_rx(priv);

	if (err)
		return err;
	spl_ring_free_all(priv);
	return 0;
}
