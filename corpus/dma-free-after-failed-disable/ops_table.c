// SPDX-License-Identifier: GPL-2.0
/*
 * The ring is released through an ops table: ot_close() calls
 * priv->ops->put(priv), and the file stores ot_put_ring() in that field. The
 * stop before it clears a control bit and polls a status bit; its timeout is
 * only logged: a finding at the ops call. A variant whose table holds a
 * function that frees nothing is no finding.
 */
#include <kcorpus-dma.h>

#define OT_C		0x08
#define OT_S		0x0c
#define OT_C_A		0x1
#define OT_S_A		0x1

struct ot_priv;

struct ot_ops {
	void (*put)(struct ot_priv *priv);
};

struct ot_priv {
	struct device *dev;
	void *io;
	const struct ot_ops *ops;
	void *desc;
	dma_addr_t desc_dma;
};

static void ot_put_ring(struct ot_priv *priv)
{
	dma_free_coherent(priv->dev, 4096, priv->desc, priv->desc_dma); // evidence: dma-free-after-failed-disable
}

static void ot_put_nothing(struct ot_priv *priv)
{
}

static const struct ot_ops ot_ops_a = {
	.put = ot_put_ring,
};

static const struct ot_ops ot_ops_b = {
	.put = ot_put_nothing,
};

static int ot_hw(struct ot_priv *priv)
{
	u32 v;

	writel(readl(priv->io + OT_C) & ~OT_C_A, priv->io + OT_C);
	return readl_poll_timeout(priv->io + OT_S, v, !(v & OT_S_A), 10, 1000); // evidence: dma-free-after-failed-disable
}

void ot_close(struct ot_priv *priv)
{
	if (ot_hw(priv))
		dev_err(priv->dev, "timeout\n");
	priv->ops->put(priv); // expect: dma-free-after-failed-disable
}

const struct ot_ops *ot_pick(int a)
{
	return a ? &ot_ops_a : &ot_ops_b;
}
