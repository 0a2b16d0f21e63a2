/* SPDX-License-Identifier: GPL-2.0 */
/* Shared header of a driver split over three files: hardware, rings, netdev ops. */
#ifndef _SPL_H
#define _SPL_H

#include <kcorpus-dma.h>

#define SPL_MAX_QUEUES	4

struct spl_buf {
	struct sk_buff *skb;
	dma_addr_t dma;
	unsigned int len;
};

struct spl_ring {
	struct device *dev;
	void *qena;
	struct spl_buf *bufs;
	unsigned int count;
};

struct spl_priv {
	struct device *dev;
	struct spl_ring rx[SPL_MAX_QUEUES];
	unsigned int num_queues;
};

static inline void spl_unmap_buf(struct spl_ring *ring, unsigned int i)
{
	dma_unmap_single(ring->dev, ring->bufs[i].dma, ring->bufs[i].len, DMA_FROM_DEVICE);
	dev_kfree_skb_any(ring->bufs[i].skb);
	ring->bufs[i].skb = NULL;
}

int spl_hw_disable_rx(struct spl_priv *priv);
void spl_hw_stop(struct spl_priv *priv);
void spl_ring_free_all(struct spl_priv *priv);

#endif /* _SPL_H */
