// SPDX-License-Identifier: GPL-2.0
/*
 * The function that drops the stop timeout is wrapped by a quiesce helper
 * that returns normally; the close path calls the wrapper and then frees the
 * rings. One wrapper level is followed; the caller of a caller of the wrapper
 * (a longer, reset-like chain) is not judged.
 */
#include <kcorpus-dma.h>

#define WOD_RX_ENA	0x1

struct wod_priv {
	struct device *dev;
	void *rxctl;
	void *desc;
	dma_addr_t desc_dma;
	struct page_pool *pool;
	bool running;
};

static int wod_rx_disable(struct wod_priv *priv)
{
	u32 val;

	writel(0, priv->rxctl);
	return readl_poll_timeout(priv->rxctl, val, !(val & WOD_RX_ENA), 10, 500); // evidence: dma-free-after-failed-disable
}

static void wod_stop_hw(struct wod_priv *priv)
{
	if (wod_rx_disable(priv)) // evidence: dma-free-after-failed-disable
		dev_err(priv->dev, "rx did not stop\n");
}

static void wod_quiesce(struct wod_priv *priv)
{
	priv->running = false;
	wod_stop_hw(priv); // evidence: dma-free-after-failed-disable
}

static void wod_release_rx(struct wod_priv *priv)
{
	page_pool_destroy(priv->pool);
	dma_free_coherent(priv->dev, 4096, priv->desc, priv->desc_dma);
}

void wod_close(struct wod_priv *priv)
{
	wod_quiesce(priv); // evidence: dma-free-after-failed-disable
	wod_release_rx(priv); // expect: dma-free-after-failed-disable
}

static void wod_suspend_path(struct wod_priv *priv)
{
	wod_quiesce(priv);
}

void wod_far_caller(struct wod_priv *priv)
{
	wod_suspend_path(priv);
	wod_release_rx(priv);
}
