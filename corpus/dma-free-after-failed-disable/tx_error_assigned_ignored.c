// SPDX-License-Identifier: GPL-2.0
/*
 * Tx variant, with the iopoll macro: the disable helper returns the poll's
 * -ETIMEDOUT; the down path stores it and never looks at it again, then frees
 * the Tx ring's skbs and its descriptor ring.
 */
#include <kcorpus-dma.h>

#define TXI_ENABLE	0x80000000u

struct txi_tx_buf {
	struct sk_buff *skb;
	dma_addr_t dma;
	unsigned int len;
};

struct txi_ring {
	struct device *dev;
	void *ctrl;
	struct txi_tx_buf *bufs;
	void *desc;
	dma_addr_t desc_dma;
	unsigned int count;
};

static int txi_disable_tx_queue(struct txi_ring *ring)
{
	u32 val;

	writel(0, ring->ctrl);
	return readl_poll_timeout(ring->ctrl, val, !(val & TXI_ENABLE), 10, 1000); // evidence: dma-free-after-failed-disable
}

static void txi_free_tx_ring(struct txi_ring *ring)
{
	unsigned int i;

	for (i = 0; i < ring->count; i++) {
		struct txi_tx_buf *buf = &ring->bufs[i];

		if (!buf->skb)
			continue;
		dma_unmap_single(ring->dev, buf->dma, buf->len, DMA_TO_DEVICE); // evidence: dma-free-after-failed-disable
		dev_kfree_skb_any(buf->skb);
	}
	dma_free_coherent(ring->dev, ring->count * 16, ring->desc, ring->desc_dma);
}

int txi_close(struct txi_ring *ring)
{
	int err;

	err = txi_disable_tx_queue(ring); // evidence: dma-free-after-failed-disable
	txi_free_tx_ring(ring); // expect: dma-free-after-failed-disable
	return 0;
}
