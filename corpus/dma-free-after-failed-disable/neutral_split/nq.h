/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A driver whose helpers are named for nothing they do: the close path calls
 * nq_hw_set() (another file), which writes the control word back with a bit
 * cleared and waits through the driver's generic nq_wait(reg, mask, value)
 * loop for a status bit to read 0, returning -ETIMEDOUT when it does not; the
 * close path only logs that and calls nq_mem_put() (a third file), which
 * unmaps the queue's buffers and frees its descriptors.
 */
#ifndef _NQ_H
#define _NQ_H

#include <kcorpus-dma.h>

#define NQ_CTL(q)	(0x100 + (q) * 0x10)
#define NQ_STS(q)	(0x104 + (q) * 0x10)
#define NQ_CTL_GO	0x1
#define NQ_STS_BSY	0x1

struct nq_buf {
	dma_addr_t dma;
	struct page *page;
};

struct nq_priv {
	struct device *dev;
	void *io;
	unsigned int count;
	struct nq_buf bufs[64];
	void *desc;
	dma_addr_t desc_dma;
};

int nq_hw_set(struct nq_priv *priv, unsigned int q);
void nq_mem_put(struct nq_priv *priv);

#endif /* _NQ_H */
