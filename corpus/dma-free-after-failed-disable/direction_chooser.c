// SPDX-License-Identifier: GPL-2.0
/*
 * The direction is chosen where the request is made, not where it is polled:
 * the helper sets or clears the ring's enable bit by its argument and then
 * waits for the command to complete, a wait that knows nothing of the
 * direction. Its failure is a failed disable only when the bit was cleared.
 * Also: an iopoll condition that compares the polled bit with the argument.
 */
#include <kcorpus-dma.h>

#define CHS_RING_EN		0x1
#define CHS_CMD_BUSY		0x80000000u
#define CHS_TX_EN_STAT		0x2

struct chs_ring {
	struct device *dev;
	void *ctrl;
	void *cmd;
	void *desc;
	dma_addr_t desc_dma;
	unsigned int size;
};

static int chs_ring_ctrl(struct chs_ring *ring, bool on)
{
	u32 val = readl(ring->ctrl);

	val = on ? val | CHS_RING_EN : val & ~CHS_RING_EN;
	writel(val, ring->ctrl);
	return readl_poll_timeout(ring->cmd, val, !(val & CHS_CMD_BUSY), 10, 1000); // evidence: dma-free-after-failed-disable
}

static int chs_tx_switch(struct chs_ring *ring, int on)
{
	u32 val;

	writel(on ? CHS_RING_EN : 0, ring->ctrl);
	return readl_poll_timeout(ring->ctrl, val, !!(val & CHS_TX_EN_STAT) == on, 10, 1000);
}

static void chs_free_ring(struct chs_ring *ring)
{
	dma_free_coherent(ring->dev, ring->size, ring->desc, ring->desc_dma);
}

void chs_close(struct chs_ring *ring)
{
	if (chs_ring_ctrl(ring, false)) // evidence: dma-free-after-failed-disable
		dev_err(ring->dev, "ring did not stop\n");
	chs_free_ring(ring); // expect: dma-free-after-failed-disable
}

/* Enabling failed: the ring was never running, unwinding its allocation is fine. */
void chs_open_or_release(struct chs_ring *ring)
{
	if (chs_ring_ctrl(ring, true)) {
		dev_err(ring->dev, "ring did not start\n");
		chs_free_ring(ring);
	}
}

void chs_tx_close(struct chs_ring *ring)
{
	chs_tx_switch(ring, 0);
	chs_free_ring(ring); // expect: dma-free-after-failed-disable
}

void chs_tx_open_or_release(struct chs_ring *ring)
{
	if (chs_tx_switch(ring, 1))
		chs_free_ring(ring);
}
