// SPDX-License-Identifier: GPL-2.0
/*
 * A driver's wait-for-bit helper polls until a register bit reads a given
 * value. Stopping the Rx DMA channel writes its STOP bit and waits for the
 * START bit to read 0; the timeout is only logged and the ring is freed: a
 * finding. Opening the channel first resets its FIFO (a self-clearing RESET
 * bit) and waits the same way for that bit to read 0. That wait is for the
 * reset to complete, not for a stop, so the open path freeing its ring when a
 * later step fails, and its caller unwinding in turn, are no findings.
 */
#include <kcorpus-dma.h>

#define FX_DMAC_CMD		0x0c
#define FX_DMAC_CMD_START_R(ch)	(1u << (ch))
#define FX_DMAC_CMD_STOP_R(ch)	(1u << ((ch) + 8))
#define FX_FIFO_CTL		0x10
#define FX_FIFO_CTL_RESET(ch)	(1u << ((ch) + 16))

struct fx_rx {
	struct device *dev;
	void *csr;
	int ch;
	void *ring;
	dma_addr_t ring_dma;
	struct sk_buff *stamp_skb;
};

int fx_rx_config(struct fx_rx *rx);

static void fx_csr_write(struct fx_rx *rx, u32 reg, u32 val)
{
	writel(val, rx->csr + reg);
}

static u32 fx_csr_read(struct fx_rx *rx, u32 reg)
{
	return readl(rx->csr + reg);
}

static int fx_wait_for_bit(struct fx_rx *rx, u32 reg, u32 mask, int target)
{
	u32 val;

	return read_poll_timeout(fx_csr_read, val, target == !!(val & mask), 100, 10000, rx, reg);
}

static void fx_rx_stop(struct fx_rx *rx)
{
	fx_csr_write(rx, FX_DMAC_CMD, FX_DMAC_CMD_STOP_R(rx->ch));
	if (fx_wait_for_bit(rx, FX_DMAC_CMD, FX_DMAC_CMD_START_R(rx->ch), 0))
		dev_err(rx->dev, "rx dma stop timeout\n");
}

void fx_rx_close(struct fx_rx *rx)
{
	fx_rx_stop(rx);
	dma_free_coherent(rx->dev, 4096, rx->ring, rx->ring_dma); // expect: dma-free-after-failed-disable
}

int fx_rx_open(struct fx_rx *rx)
{
	int err;

	fx_csr_write(rx, FX_FIFO_CTL, FX_FIFO_CTL_RESET(rx->ch));
	fx_wait_for_bit(rx, FX_FIFO_CTL, FX_FIFO_CTL_RESET(rx->ch), 0);
	if (fx_rx_config(rx)) {
		err = -EIO;
		goto err_free_ring;
	}
	return 0;

err_free_ring:
	dma_free_coherent(rx->dev, 4096, rx->ring, rx->ring_dma);
	return err;
}

/* Its caller unwinds too; the reset wait's timeout is no failed disable here either. */
int fx_netdev_open(struct fx_rx *rx)
{
	int err = fx_rx_open(rx);

	if (err)
		goto err_free_stamp;
	return 0;

err_free_stamp:
	dev_kfree_skb_any(rx->stamp_skb);
	return err;
}
