// SPDX-License-Identifier: GPL-2.0
/*
 * `if ((rc = reset(...)) != 0) return rc;`: the result is assigned inside the
 * condition and returned, so the helper passes the failure on rather than
 * dropping it. Its caller checks it too: no finding.
 */
#include <kcorpus-dma.h>

#define AIC_RESET_BUSY	0x1

struct aic_priv {
	struct device *dev;
	void *ctl;
	void *desc;
	dma_addr_t desc_dma;
};

static int aic_reset_chip(struct aic_priv *priv)
{
	u32 val;

	writel(AIC_RESET_BUSY, priv->ctl);
	return readl_poll_timeout(priv->ctl, val, !(val & AIC_RESET_BUSY), 10, 1000);
}

static int aic_init_hw(struct aic_priv *priv)
{
	int rc;

	if ((rc = aic_reset_chip(priv)) != 0)
		return rc;
	writel(0, priv->ctl);
	return 0;
}

int aic_restart(struct aic_priv *priv)
{
	int rc = aic_init_hw(priv);

	if (rc)
		return rc;
	dma_free_coherent(priv->dev, 4096, priv->desc, priv->desc_dma);
	return 0;
}

void aic_reinit(struct aic_priv *priv)
{
	if (aic_init_hw(priv))
		return;
	dma_free_coherent(priv->dev, 4096, priv->desc, priv->desc_dma);
}
