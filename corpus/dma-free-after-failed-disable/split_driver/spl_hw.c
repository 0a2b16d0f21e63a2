// SPDX-License-Identifier: GPL-2.0
/* Hardware side: ask each Rx queue to stop and wait for it; the stop helper only logs a timeout. */
#include "spl.h"

#define SPL_QENA_STAT	0x4

static int spl_hw_wait_rx_off(struct spl_ring *ring)
{
	unsigned int tries;
	int ret = 0;

	writel(0, ring->qena);
	for (tries = 0; readl(ring->qena) & SPL_QENA_STAT; tries++) { // evidence: dma-free-after-failed-disable
		if (tries > 20) {
			ret = -EIO;
			break;
		}
		udelay(10);
	}
	return ret;
}

int spl_hw_disable_rx(struct spl_priv *priv)
{
	unsigned int q;
	int err;

	for (q = 0; q < priv->num_queues; q++) {
		err = spl_hw_wait_rx_off(&priv->rx[q]);
		if (err)
			return err;
	}
	return 0;
}

void spl_hw_stop(struct spl_priv *priv)
{
	int err = spl_hw_disable_rx(priv); // evidence: dma-free-after-failed-disable

	if (err)
		dev_err(priv->dev, "rx queues did not stop: %d\n", err);
}
