// SPDX-License-Identifier: GPL-2.0
/*
 * The stop request and the wait live in different functions. The Rx side
 * clears the DMA enable bit in a local and writes it back, then waits for the
 * engine to go idle in a helper that only polls; the Tx side stops through
 * the driver's own write wrapper with the enable bit cleared. In both
 * down paths a timeout is only logged before the rings are freed. A reset
 * path that kicks the engine (sets bits) and then frees is no disable at all.
 */
#include <kcorpus-dma.h>

#define SIC_DMA_CTRL		0x00
#define SIC_DMA_STATUS		0x04
#define SIC_RX_DMA_EN		0x1
#define SIC_TX_CTRL_EN		0x2
#define SIC_TX_CTRL_KICK	0x4
#define SIC_DMA_IDLE		0x100

struct sic_priv {
	struct device *dev;
	void *regs;
	struct sk_buff *tx_skbs[16];
	void *rx_desc;
	dma_addr_t rx_desc_dma;
};

static void sic_write(struct sic_priv *priv, u32 reg, u32 val)
{
	writel(val, priv->regs + reg);
}

static int sic_wait_idle(struct sic_priv *priv)
{
	u32 val;

	return readl_poll_timeout(priv->regs + SIC_DMA_STATUS, val, val & SIC_DMA_IDLE, 10, 5000); // evidence: dma-free-after-failed-disable
}

void sic_rx_down(struct sic_priv *priv)
{
	u32 ctrl = readl(priv->regs + SIC_DMA_CTRL);

	ctrl &= ~SIC_RX_DMA_EN;
	writel(ctrl, priv->regs + SIC_DMA_CTRL); // evidence: dma-free-after-failed-disable
	if (sic_wait_idle(priv))
		dev_err(priv->dev, "rx dma stop timeout\n");
	dma_free_coherent(priv->dev, 4096, priv->rx_desc, priv->rx_desc_dma); // expect: dma-free-after-failed-disable
}

void sic_tx_down(struct sic_priv *priv)
{
	int i;

	sic_write(priv, SIC_DMA_CTRL, readl(priv->regs + SIC_DMA_CTRL) & ~SIC_TX_CTRL_EN); // evidence: dma-free-after-failed-disable
	if (sic_wait_idle(priv))
		dev_err(priv->dev, "tx dma stop timeout\n");
	for (i = 0; i < 16; i++)
		dev_kfree_skb_any(priv->tx_skbs[i]); // expect: dma-free-after-failed-disable
}

void sic_kick_and_drop(struct sic_priv *priv)
{
	int i;

	sic_write(priv, SIC_DMA_CTRL, SIC_TX_CTRL_KICK);
	if (sic_wait_idle(priv))
		dev_err(priv->dev, "tx dma kick timeout\n");
	for (i = 0; i < 16; i++)
		dev_kfree_skb_any(priv->tx_skbs[i]);
}
