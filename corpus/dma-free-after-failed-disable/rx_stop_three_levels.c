// SPDX-License-Identifier: GPL-2.0
/*
 * The three-level shape: the down path calls a void stop helper, which waits
 * for each Rx queue's enable bit to clear; the wait returns -ETIMEDOUT after a
 * bounded poll, the helper only logs it, and the down path then unmaps the
 * ring's pages.
 */
#include <kcorpus-dma.h>

#define TLR_QUEUE_ENA		0x1
#define TLR_WAIT_RETRIES	50

struct tlr_rx_buf {
	struct page *page;
	dma_addr_t dma;
};

struct tlr_ring {
	struct device *dev;
	void *qctl;
	struct tlr_rx_buf *bufs;
	unsigned int count;
};

struct tlr_adapter {
	struct device *dev;
	struct tlr_ring *rx_rings[8];
	unsigned int num_rx;
};

static int tlr_wait_queue_disabled(struct tlr_ring *ring)
{
	int i;

	writel(0, ring->qctl);
	for (i = 0; i < TLR_WAIT_RETRIES; i++) { // evidence: dma-free-after-failed-disable
		if (!(readl(ring->qctl) & TLR_QUEUE_ENA))
			break;
		usleep_range(10, 20);
	}
	if (i >= TLR_WAIT_RETRIES)
		return -ETIMEDOUT;
	return 0;
}

static void tlr_stop_rx_rings(struct tlr_adapter *adapter)
{
	unsigned int q;

	for (q = 0; q < adapter->num_rx; q++) {
		if (tlr_wait_queue_disabled(adapter->rx_rings[q])) // evidence: dma-free-after-failed-disable
			dev_err(adapter->dev, "rx ring %u disable timeout\n", q);
	}
}

static void tlr_clean_rx_ring(struct tlr_ring *ring)
{
	unsigned int i;

	for (i = 0; i < ring->count; i++) {
		struct tlr_rx_buf *buf = &ring->bufs[i];

		if (!buf->page)
			continue;
		dma_unmap_page(ring->dev, buf->dma, 4096, DMA_FROM_DEVICE); // evidence: dma-free-after-failed-disable
		__free_pages(buf->page, 0);
		buf->page = NULL;
	}
}

void tlr_down(struct tlr_adapter *adapter)
{
	unsigned int q;

	tlr_stop_rx_rings(adapter); // evidence: dma-free-after-failed-disable
	for (q = 0; q < adapter->num_rx; q++)
		tlr_clean_rx_ring(adapter->rx_rings[q]); // expect: dma-free-after-failed-disable
}
