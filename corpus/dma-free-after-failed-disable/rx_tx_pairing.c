// SPDX-License-Identifier: GPL-2.0
/*
 * The down path stops the Rx queue (clears its enable bit, waits for the
 * status to drop) and only logs a timeout, then cleans the Tx ring first and
 * the Rx ring after it. The hazard is the still-running Rx engine writing into
 * the freed Rx buffers: the finding points at the Rx ring's clean-up (the
 * memory the device writes into, DMA_FROM_DEVICE) and lists the Tx clean-up
 * after it as further evidence.
 */
#include <kcorpus-dma.h>

#define PR_RXQ_CTL(q)	(0x200 + (q) * 4)
#define PR_RXQ_STAT(q)	(0x300 + (q) * 4)
#define PR_RXQ_ENA	0x1

struct pr_ring {
	struct device *dev;
	unsigned int count;
	dma_addr_t dma[32];
	struct sk_buff *skb[32];
};

struct pr_vsi {
	struct device *dev;
	void *hw;
	unsigned int num;
	struct pr_ring *tx_rings[4];
	struct pr_ring *rx_rings[4];
};

static int pr_wait_rx_q(struct pr_vsi *vsi, unsigned int q)
{
	unsigned int i;

	writel(readl(vsi->hw + PR_RXQ_CTL(q)) & ~PR_RXQ_ENA, vsi->hw + PR_RXQ_CTL(q));
	for (i = 0; i < 10; i++) { // evidence: dma-free-after-failed-disable
		if (!(readl(vsi->hw + PR_RXQ_STAT(q)) & PR_RXQ_ENA))
			return 0;
		usleep_range(10, 20);
	}
	return -ETIMEDOUT;
}

static void pr_stop_rings(struct pr_vsi *vsi)
{
	unsigned int q;

	for (q = 0; q < vsi->num; q++)
		if (pr_wait_rx_q(vsi, q))
			dev_err(vsi->dev, "rx queue %u timeout\n", q);
}

static void pr_clean_tx_ring(struct pr_ring *ring)
{
	unsigned int i;

	for (i = 0; i < ring->count; i++) {
		dma_unmap_single(ring->dev, ring->dma[i], 1536, DMA_TO_DEVICE);
		dev_kfree_skb_any(ring->skb[i]);
	}
}

static void pr_clean_rx_ring(struct pr_ring *ring)
{
	unsigned int i;

	for (i = 0; i < ring->count; i++)
		dma_unmap_page(ring->dev, ring->dma[i], 4096, DMA_FROM_DEVICE); // evidence: dma-free-after-failed-disable
}

void pr_down(struct pr_vsi *vsi)
{
	unsigned int q;

	pr_stop_rings(vsi);
	for (q = 0; q < vsi->num; q++)
		pr_clean_tx_ring(vsi->tx_rings[q]); // evidence: dma-free-after-failed-disable
	for (q = 0; q < vsi->num; q++)
		pr_clean_rx_ring(vsi->rx_rings[q]); // expect: dma-free-after-failed-disable
}
