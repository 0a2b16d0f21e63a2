// SPDX-License-Identifier: GPL-2.0
/*
 * No finding: every disable failure stops the path before the free — by
 * returning the error, by scheduling a reset and returning, by handing the
 * failure to a recovery flag, or by skipping the free.
 */
#include <kcorpus-dma.h>

#define HND_RX_EN	0x1
#define HND_RESET_REQUESTED	3

struct hnd_ring {
	struct device *dev;
	void *ctl;
	void *desc;
	dma_addr_t desc_dma;
	struct page_pool *pool;
};

struct hnd_priv {
	struct hnd_ring ring;
	struct work_struct reset_task;
	unsigned long state;
};

static int hnd_stop_queue(struct hnd_ring *ring)
{
	u32 val;

	writel(0, ring->ctl);
	return readl_poll_timeout(ring->ctl, val, !(val & HND_RX_EN), 10, 2000);
}

static void hnd_release_ring(struct hnd_ring *ring)
{
	dma_free_coherent(ring->dev, 4096, ring->desc, ring->desc_dma);
	page_pool_destroy(ring->pool);
}

/* Checked, and the error goes back to the caller before anything is freed. */
int hnd_down_returns(struct hnd_priv *priv)
{
	int err = hnd_stop_queue(&priv->ring);

	if (err)
		return err;
	hnd_release_ring(&priv->ring);
	return 0;
}

/* The failure triggers a reset; the rings are left to the reset path. */
void hnd_down_resets(struct hnd_priv *priv)
{
	if (hnd_stop_queue(&priv->ring)) {
		dev_err(priv->ring.dev, "queue stop timeout, resetting\n");
		schedule_work(&priv->reset_task);
		return;
	}
	hnd_release_ring(&priv->ring);
}

/* The failure is recorded for the recovery task, which owns the buffers from then on. */
void hnd_down_flags(struct hnd_priv *priv)
{
	int err;

	err = hnd_stop_queue(&priv->ring);
	if (err < 0)
		set_bit(HND_RESET_REQUESTED, &priv->state);
	hnd_release_ring(&priv->ring);
}

/* Checked, and the buffers stay mapped when the queue did not stop. */
void hnd_down_skips(struct hnd_priv *priv)
{
	int err;

	err = hnd_stop_queue(&priv->ring);
	if (!err)
		hnd_release_ring(&priv->ring);
	else
		dev_err(priv->ring.dev, "queue still running, leaking its buffers\n");
}

/* An error path that jumps past the free. */
int hnd_down_goto(struct hnd_priv *priv)
{
	int err;

	err = hnd_stop_queue(&priv->ring);
	if (err)
		goto out;
	hnd_release_ring(&priv->ring);
out:
	return err;
}
