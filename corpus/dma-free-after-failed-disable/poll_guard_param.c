// SPDX-License-Identifier: GPL-2.0
/*
 * The stop helper only waits when asked to: with `wait` false it returns
 * before polling, so a caller that ignores its result then cannot have
 * dropped a timeout. The wait comes later, through a helper whose result is
 * checked. A caller that asks it to wait and ignores the result is a finding.
 */
#include <kcorpus-dma.h>

#define GPR_Q_EN		0x1
#define GPR_Q_EN_STAT		0x2

struct gpr_ring {
	struct device *dev;
	void *qctl;
	struct sk_buff **skbs;
	dma_addr_t *dmas;
	unsigned int count;
};

static int gpr_wait_ring(struct gpr_ring *ring, bool ena)
{
	u32 val;

	return readl_poll_timeout(ring->qctl, val, ena == !!(val & GPR_Q_EN_STAT), 20, 2000); // evidence: dma-free-after-failed-disable
}

static int gpr_ctrl_ring(struct gpr_ring *ring, bool ena, bool wait)
{
	u32 val = readl(ring->qctl);

	if (ena)
		val |= GPR_Q_EN;
	else
		val &= ~GPR_Q_EN;
	writel(val, ring->qctl);
	if (!wait)
		return 0;
	return gpr_wait_ring(ring, ena);
}

static void gpr_free_tx_bufs(struct gpr_ring *ring)
{
	unsigned int i;

	for (i = 0; i < ring->count; i++) {
		dma_unmap_single(ring->dev, ring->dmas[i], 1536, DMA_TO_DEVICE);
		dev_kfree_skb_any(ring->skbs[i]);
	}
}

/* Kick every ring without waiting, then wait for each and bail out on a timeout. */
int gpr_stop_all(struct gpr_ring *rings, unsigned int n)
{
	unsigned int i;
	int err;

	for (i = 0; i < n; i++)
		gpr_ctrl_ring(&rings[i], false, false);
	for (i = 0; i < n; i++) {
		err = gpr_wait_ring(&rings[i], false);
		if (err)
			return err;
	}
	for (i = 0; i < n; i++)
		gpr_free_tx_bufs(&rings[i]);
	return 0;
}

void gpr_stop_one(struct gpr_ring *ring)
{
	gpr_ctrl_ring(ring, false, true); // evidence: dma-free-after-failed-disable
	gpr_free_tx_bufs(ring); // expect: dma-free-after-failed-disable
}
