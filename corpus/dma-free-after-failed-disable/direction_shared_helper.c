// SPDX-License-Identifier: GPL-2.0
/*
 * One helper starts or stops an Rx queue and waits for its status bit, the
 * direction chosen by a bool argument. A timeout of the stop direction that
 * the down path only logs is a finding; a timeout of the start direction
 * (bring-up, ring resize) is not a failed disable, whatever is freed after it.
 */
#include <kcorpus-dma.h>

#define DSH_QENA_REQ		0x1
#define DSH_QENA_STAT		0x4
#define DSH_WAIT_TRIES		100

struct dsh_ring {
	struct device *dev;
	void *qctl;
	struct page **pages;
	dma_addr_t *dmas;
	unsigned int count;
};

struct dsh_priv {
	struct device *dev;
	struct dsh_ring rx[4];
	struct dsh_ring old_rx[4];
	unsigned int num_rx;
};

/* Waits until the queue's status bit matches the requested state. */
static int dsh_wait_rx_q(struct dsh_ring *ring, bool enable)
{
	int i;

	for (i = 0; i < DSH_WAIT_TRIES; i++) { // evidence: dma-free-after-failed-disable
		if (enable == !!(readl(ring->qctl) & DSH_QENA_STAT))
			break;
		usleep_range(10, 20);
	}
	if (i >= DSH_WAIT_TRIES)
		return -ETIMEDOUT;
	return 0;
}

int dsh_ctrl_rx_q(struct dsh_ring *ring, bool enable)
{
	u32 val = readl(ring->qctl);

	if (enable)
		val |= DSH_QENA_REQ;
	else
		val &= ~DSH_QENA_REQ;
	writel(val, ring->qctl);
	return dsh_wait_rx_q(ring, enable);
}

static void dsh_clean_rx_ring(struct dsh_ring *ring)
{
	unsigned int i;

	for (i = 0; i < ring->count; i++) {
		dma_unmap_page(ring->dev, ring->dmas[i], 4096, DMA_FROM_DEVICE);
		__free_pages(ring->pages[i], 0);
	}
}

static void dsh_stop_rings(struct dsh_priv *priv)
{
	unsigned int q;

	for (q = 0; q < priv->num_rx; q++)
		if (dsh_ctrl_rx_q(&priv->rx[q], false)) // evidence: dma-free-after-failed-disable
			dev_err(priv->dev, "rx ring %u disable timeout\n", q);
}

static void dsh_start_rings(struct dsh_priv *priv)
{
	unsigned int q;

	for (q = 0; q < priv->num_rx; q++)
		if (dsh_ctrl_rx_q(&priv->rx[q], true))
			dev_err(priv->dev, "rx ring %u enable timeout\n", q);
}

void dsh_down(struct dsh_priv *priv)
{
	unsigned int q;

	dsh_stop_rings(priv);
	for (q = 0; q < priv->num_rx; q++)
		dsh_clean_rx_ring(&priv->rx[q]); // expect: dma-free-after-failed-disable
}

/* Ring resize: the new rings are started, then the old ones (already stopped) are freed. */
void dsh_swap_rings(struct dsh_priv *priv)
{
	unsigned int q;

	dsh_start_rings(priv);
	for (q = 0; q < priv->num_rx; q++)
		dsh_clean_rx_ring(&priv->old_rx[q]);
}

/* Same, with the enable result held and ignored. */
void dsh_restart_one(struct dsh_priv *priv, unsigned int q)
{
	int err;

	err = dsh_ctrl_rx_q(&priv->rx[q], true);
	dsh_clean_rx_ring(&priv->old_rx[q]);
}

/* The direction passed through, negated: `quiesce` true asks for a stop. */
static void dsh_set_quiesced(struct dsh_priv *priv, unsigned int q, bool quiesce)
{
	if (dsh_ctrl_rx_q(&priv->rx[q], !quiesce))
		dev_err(priv->dev, "rx ring %u did not change state\n", q);
}

void dsh_quiesce_and_free(struct dsh_priv *priv, unsigned int q)
{
	dsh_set_quiesced(priv, q, true);
	dsh_clean_rx_ring(&priv->rx[q]); // expect: dma-free-after-failed-disable
}

void dsh_resume_and_free_old(struct dsh_priv *priv, unsigned int q)
{
	dsh_set_quiesced(priv, q, false);
	dsh_clean_rx_ring(&priv->old_rx[q]);
}
