// SPDX-License-Identifier: GPL-2.0
/*
 * A firmware mailbox: the driver rings a doorbell (it sets bits) and polls
 * for the ready bit; a timeout is only logged and the command's DMA buffer is
 * freed right after. The poll can fail, but nothing asked the hardware to
 * stop a DMA engine before it: the timeout is not a failed disable, and
 * freeing the command buffer is no use-after-free of a running ring.
 */
#include <kcorpus-dma.h>

#define MBX_DB_RING		0x80000000
#define MBX_READY		0x1

struct mbx {
	struct device *dev;
	void *doorbell;
	void *status;
	void *cmd;
	dma_addr_t cmd_dma;
};

static int mbx_wait_ready(struct mbx *m)
{
	u32 val;

	writel(readl(m->doorbell) | MBX_DB_RING, m->doorbell);
	return readl_poll_timeout(m->status, val, val & MBX_READY, 10, 1000);
}

void mbx_send_and_release(struct mbx *m)
{
	if (mbx_wait_ready(m))
		dev_err(m->dev, "mailbox timeout\n");
	dma_free_coherent(m->dev, 4096, m->cmd, m->cmd_dma);
}
