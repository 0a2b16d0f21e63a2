// SPDX-License-Identifier: GPL-2.0
/*
 * The down path checks the stop result, logs it, frees the rings anyway and
 * only then returns the error: its caller learns of the failure after the
 * memory is gone. A finding when the failed request is known to be a stop
 * (the shared helper was asked for the disable direction). An open path that
 * unwinds its allocation after a wait of unknown direction times out is not.
 */
#include <kcorpus-dma.h>

#define FRE_QENA_STAT	0x4
#define FRE_RST_DONE	0x1

struct fre_priv {
	struct device *dev;
	void *regs;
	void *qctl[4];
	void *desc[4];
	dma_addr_t desc_dma[4];
	unsigned int num_q;
};

static int fre_wait_q(struct fre_priv *priv, unsigned int q, bool ena)
{
	u32 val;

	return readl_poll_timeout(priv->qctl[q], val, !!(val & FRE_QENA_STAT) == ena, 10, 1000); // evidence: dma-free-after-failed-disable
}

static int fre_ctrl_all(struct fre_priv *priv, bool ena)
{
	unsigned int q;
	int err;

	for (q = 0; q < priv->num_q; q++) {
		writel(ena, priv->qctl[q]);
		err = fre_wait_q(priv, q, ena);
		if (err)
			return err;
	}
	return 0;
}

int fre_stop_rx_rings(struct fre_priv *priv)
{
	return fre_ctrl_all(priv, false);
}

static void fre_clean_rings(struct fre_priv *priv)
{
	unsigned int q;

	for (q = 0; q < priv->num_q; q++)
		dma_free_coherent(priv->dev, 4096, priv->desc[q], priv->desc_dma[q]);
}

int fre_down(struct fre_priv *priv)
{
	int err;

	err = fre_stop_rx_rings(priv); // evidence: dma-free-after-failed-disable
	if (err)
		dev_err(priv->dev, "rx rings did not stop: %d\n", err);
	fre_clean_rings(priv); // expect: dma-free-after-failed-disable
	return err;
}

static int fre_hw_reset(struct fre_priv *priv)
{
	u32 val;

	writel(FRE_RST_DONE, priv->regs);
	return readl_poll_timeout(priv->regs, val, val & FRE_RST_DONE, 100, 10000);
}

int fre_open(struct fre_priv *priv)
{
	int err;

	err = fre_hw_reset(priv);
	if (err)
		goto free_rings;
	err = fre_ctrl_all(priv, true);
	if (err)
		goto free_rings;
	return 0;

free_rings:
	fre_clean_rings(priv);
	return err;
}
