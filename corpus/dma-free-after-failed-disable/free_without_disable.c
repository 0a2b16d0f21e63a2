// SPDX-License-Identifier: GPL-2.0
/*
 * No finding: a teardown that frees DMA memory with no disable request before
 * it, and a poll whose failure is dropped with nothing freed afterwards.
 */
#include <kcorpus-dma.h>

#define NDS_BUSY	0x4

struct nds_ring {
	struct device *dev;
	void *status;
	struct sk_buff **skbs;
	dma_addr_t *dmas;
	unsigned int count;
};

void nds_free_rings(struct nds_ring *ring)
{
	unsigned int i;

	for (i = 0; i < ring->count; i++) {
		dma_unmap_single(ring->dev, ring->dmas[i], 2048, DMA_TO_DEVICE);
		dev_kfree_skb_any(ring->skbs[i]);
	}
}

static int nds_wait_idle(struct nds_ring *ring)
{
	int tries = 100;

	while (readl(ring->status) & NDS_BUSY) {
		if (!--tries)
			return -EBUSY;
		udelay(5);
	}
	return 0;
}

void nds_quiesce(struct nds_ring *ring)
{
	if (nds_wait_idle(ring))
		dev_err(ring->dev, "still busy\n");
}
