// SPDX-License-Identifier: GPL-2.0
/*
 * The queue loop breaks out on the first disable failure, logs it, and the
 * function carries on to free every ring's descriptor memory directly.
 */
#include <kcorpus-dma.h>

#define BRK_RXCTL_EN	0x2

struct brk_ring {
	void *rxctl;
	void *desc;
	dma_addr_t desc_dma;
	unsigned int size;
};

struct brk_priv {
	struct device *dev;
	struct brk_ring rings[4];
	unsigned int num_rings;
};

static int brk_rx_queue_off(struct brk_ring *ring)
{
	u32 val;
	int err;

	writel(readl(ring->rxctl) & ~BRK_RXCTL_EN, ring->rxctl);
	err = readl_poll_timeout(ring->rxctl, val, !(val & BRK_RXCTL_EN), 5, 500); // evidence: dma-free-after-failed-disable
	if (err)
		return err;
	return 0;
}

void brk_teardown(struct brk_priv *priv)
{
	unsigned int q;
	int err;

	for (q = 0; q < priv->num_rings; q++) {
		err = brk_rx_queue_off(&priv->rings[q]); // evidence: dma-free-after-failed-disable
		if (err) {
			dev_err(priv->dev, "queue %u still running\n", q);
			break;
		}
	}
	for (q = 0; q < priv->num_rings; q++)
		dma_free_coherent(priv->dev, priv->rings[q].size, priv->rings[q].desc, priv->rings[q].desc_dma); // expect: dma-free-after-failed-disable
}
