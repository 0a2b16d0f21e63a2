// SPDX-License-Identifier: GPL-2.0
/*
 * A driver that stops its Rx DMA, waits for the engine and only logs a
 * timeout. Its teardown then frees its own descriptor ring: a finding.
 * Its suspend path takes the shared hub instead, whose slow path frees a
 * buffer of the hub's, not the driver's: no finding.
 */
#include "../hub.h"

#define HDRV_RX_CTRL	0x10
#define HDRV_RX_EN	0x1

struct hdrv_priv {
	struct device *dev;
	void *regs;
	struct hub hub;
	void *rx_ring;
	dma_addr_t rx_ring_dma;
};

static int hdrv_stop_rx(struct hdrv_priv *priv)
{
	unsigned int tries = 0;

	writel(0, priv->regs + HDRV_RX_CTRL); // evidence: dma-free-after-failed-disable
	while (readl(priv->regs + HDRV_RX_CTRL) & HDRV_RX_EN) { // evidence: dma-free-after-failed-disable
		if (++tries > 100)
			return -ETIMEDOUT;
		udelay(5);
	}
	return 0;
}

static void hdrv_free_ring(struct hdrv_priv *priv)
{
	dma_free_coherent(priv->dev, 4096, priv->rx_ring, priv->rx_ring_dma);
}

void hdrv_teardown(struct hdrv_priv *priv)
{
	if (hdrv_stop_rx(priv)) // evidence: dma-free-after-failed-disable
		dev_err(priv->dev, "rx engine still running\n");
	hdrv_free_ring(priv); // expect: dma-free-after-failed-disable
}

void hdrv_suspend(struct hdrv_priv *priv)
{
	if (hdrv_stop_rx(priv))
		dev_err(priv->dev, "rx engine still running\n");
	hub_enter(&priv->hub);
}
