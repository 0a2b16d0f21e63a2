// SPDX-License-Identifier: GPL-2.0
/*
 * A completion queue whose control block has an enable and a running word.
 *  - cq_alloc() quiesces the queue first (firmware may have left it running)
 *    and ignores a timeout, then allocates the descriptor ring and frees it
 *    again when the buffer table cannot be had. The ring was allocated after
 *    the failed stop and never given to the device: no finding.
 *  - cq_reset() ignores a quiesce timeout and then sends a firmware command
 *    whose helper allocates, uses and frees its own DMA buffer: no ring is
 *    released, no finding.
 *  - cq_teardown() waits for the queue to drain (the running word to clear:
 *    the hardware stops by itself), ignores a timeout and frees the ring: a
 *    finding.
 */
#include <kcorpus-dma.h>

struct cq_ctrl {
	u32 enable;
	u32 running;
	u32 doorbell;
};

struct cq {
	struct device *dev;
	struct cq_ctrl *ctrl;
	void *desc;
	dma_addr_t desc_dma;
	void **bufs;
};

int cq_alloc_bufs(struct cq *q, unsigned int count);

static int cq_quiesce(struct cq *q)
{
	int i;

	writel(0, &q->ctrl->enable);
	for (i = 0; i < 100; i++) {
		if (!readl(&q->ctrl->running))
			return 0;
		udelay(10);
	}
	return -ETIMEDOUT;
}

int cq_alloc(struct cq *q, unsigned int count)
{
	int err;

	cq_quiesce(q);
	q->desc = dma_alloc_coherent(q->dev, count * 16, &q->desc_dma, GFP_KERNEL);
	if (!q->desc)
		return -ENOMEM;
	err = cq_alloc_bufs(q, count);
	if (err) {
		dma_free_coherent(q->dev, count * 16, q->desc, q->desc_dma);
		q->desc = 0;
		return err;
	}
	return 0;
}

static int cq_fw_cmd(struct cq *q, u32 op)
{
	dma_addr_t buf_dma;
	void *buf = dma_alloc_coherent(q->dev, 64, &buf_dma, GFP_KERNEL);

	if (!buf)
		return -ENOMEM;
	writel(op, &q->ctrl->doorbell);
	dma_free_coherent(q->dev, 64, buf, buf_dma);
	return 0;
}

void cq_reset(struct cq *q)
{
	if (cq_quiesce(q))
		dev_err(q->dev, "quiesce timeout\n");
	cq_fw_cmd(q, 1);
}

static int cq_drain(struct cq *q)
{
	int i;

	for (i = 0; i < 100; i++) { // evidence: dma-free-after-failed-disable
		if (!readl(&q->ctrl->running))
			return 0;
		udelay(10);
	}
	return -ETIMEDOUT;
}

void cq_teardown(struct cq *q)
{
	cq_drain(q);
	dma_free_coherent(q->dev, 4096, q->desc, q->desc_dma); // expect: dma-free-after-failed-disable
}
