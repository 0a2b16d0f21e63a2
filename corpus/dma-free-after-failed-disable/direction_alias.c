// SPDX-License-Identifier: GPL-2.0
/*
 * The direction travels through a local (`mode = enable ? 1 : 0`) and the
 * polled state is read through a driver macro that extracts one bit field.
 * Disabling the engine and ignoring the timeout before freeing its ring is a
 * finding; enabling it is not.
 */
#include <kcorpus-dma.h>

#define ALS_EN_SHIFT		0
#define ALS_EN_MASK		0x1
#define ALS_READ_BITS(p, reg, field) \
	((readl((p)->regs + (reg)) >> field##_SHIFT) & field##_MASK)
#define ALS_WRITE_BITS(p, reg, field, v) \
	writel(((v) & field##_MASK) << field##_SHIFT, (p)->regs + (reg))
#define ALS_CTRL		0x10
#define ALS_STATUS		0x14
#define ALS_TRIES		50

struct als_priv {
	struct device *dev;
	void *regs;
	void *ring;
	dma_addr_t ring_dma;
};

static int als_set_enable(struct als_priv *priv, bool enable)
{
	unsigned int tries = ALS_TRIES;
	unsigned int mode = enable ? 1 : 0;

	while (tries--) { // evidence: dma-free-after-failed-disable
		ALS_WRITE_BITS(priv, ALS_CTRL, ALS_EN, mode);
		if (ALS_READ_BITS(priv, ALS_STATUS, ALS_EN) == mode)
			return 0;
		udelay(50);
	}
	return -EBUSY;
}

static void als_free_ring(struct als_priv *priv)
{
	dma_free_coherent(priv->dev, 2048, priv->ring, priv->ring_dma);
}

void als_stop(struct als_priv *priv)
{
	int ret;

	ret = als_set_enable(priv, false);
	if (ret)
		dev_err(priv->dev, "engine did not stop: %d\n", ret);
	als_free_ring(priv); // expect: dma-free-after-failed-disable
}

void als_start_or_release(struct als_priv *priv)
{
	if (als_set_enable(priv, true))
		als_free_ring(priv);
}
