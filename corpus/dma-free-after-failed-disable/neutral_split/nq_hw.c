// SPDX-License-Identifier: GPL-2.0
#include "nq.h"

static u32 nq_rd(struct nq_priv *priv, u32 reg)
{
	return readl(priv->io + reg);
}

static void nq_wr(struct nq_priv *priv, u32 reg, u32 val)
{
	writel(val, priv->io + reg);
}

static int nq_wait(struct nq_priv *priv, u32 reg, u32 mask, u32 val)
{
	unsigned int n;

	for (n = 0; n < 200; n++) { // evidence: dma-free-after-failed-disable
		if ((nq_rd(priv, reg) & mask) == val)
			return 0;
		udelay(5);
	}
	return -ETIMEDOUT;
}

int nq_hw_set(struct nq_priv *priv, unsigned int q)
{
	nq_wr(priv, NQ_CTL(q), nq_rd(priv, NQ_CTL(q)) & ~NQ_CTL_GO);
	return nq_wait(priv, NQ_STS(q), NQ_STS_BSY, 0);
}

/* The same helpers bring the queue up: setting the bit and waiting for it is no disable. */
int nq_hw_up(struct nq_priv *priv, unsigned int q)
{
	nq_wr(priv, NQ_CTL(q), nq_rd(priv, NQ_CTL(q)) | NQ_CTL_GO);
	return nq_wait(priv, NQ_STS(q), NQ_STS_BSY, NQ_STS_BSY);
}
