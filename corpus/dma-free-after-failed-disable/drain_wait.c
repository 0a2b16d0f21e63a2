// SPDX-License-Identifier: GPL-2.0
/*
 * A Tx queue that the hardware stops by itself once it has drained: the open
 * path sets the enable bit, the close path writes nothing, it waits for that
 * bit to clear (a bit the driver sets, awaited to drop: a stop, whatever it is
 * called), ignores the timeout, and cleans the ring. Waiting for the enable bit to come up (the
 * open path) is no disable, even if its failure is dropped before a free.
 */
#include <kcorpus-dma.h>

#define DRW_CONTROL		0x10
#define DRW_CONTROL_TX_ENABLE	0x1
#define DRW_CONTROL_RX_ENABLE	0x2

struct drw_queue {
	struct device *dev;
	void *addr;
	struct sk_buff *skbs[32];
};

static void drw_ring_cleanup(struct drw_queue *q)
{
	int i;

	for (i = 0; i < 32; i++)
		dev_kfree_skb_any(q->skbs[i]);
}

void drw_tx_open(struct drw_queue *q)
{
	writel(DRW_CONTROL_TX_ENABLE, q->addr + DRW_CONTROL);
}

void drw_tx_close(struct drw_queue *q)
{
	u32 val;

	readl_poll_timeout(q->addr + DRW_CONTROL, val, (val & DRW_CONTROL_TX_ENABLE) == 0, 100, 10000); // evidence: dma-free-after-failed-disable

	drw_ring_cleanup(q); // expect: dma-free-after-failed-disable
}

void drw_rx_open_or_drop(struct drw_queue *q)
{
	u32 val;

	if (readl_poll_timeout(q->addr + DRW_CONTROL, val, val & DRW_CONTROL_RX_ENABLE, 100, 10000))
		dev_err(q->dev, "rx did not start\n");
	drw_ring_cleanup(q);
}
