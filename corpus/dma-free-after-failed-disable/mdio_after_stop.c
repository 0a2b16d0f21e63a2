// SPDX-License-Identifier: GPL-2.0
/*
 * Closing a port: the driver turns the MAC's auto-polling of the PHY off (a
 * write that clears a bit), then powers the PHY down through its MDIO write
 * helper. The helper writes its own command and waits for the bus; a timeout
 * there is only logged and the Rx ring is freed. That wait is for the MDIO
 * command, not for the stop written before the call: no finding.
 * Suspending a port masks its interrupts (a zero write) and waits for the PHY
 * to report the link down before freeing the ring: the poll reads a register of
 * another block than the one written, so it does not wait for that write.
 */
#include <kcorpus-dma.h>

#define PRT_MAC_MODE		0x10
#define PRT_MAC_AUTOPOLL	0x4
#define PRT_MDIO_CMD		0x14
#define PRT_MDIO_WRITE		0x40000000
#define PRT_MDIO_BUSY		0x80000000
#define PRT_IRQ_MASK		0x30
#define PRT_PHY_STATUS		0x40
#define PRT_PHY_STATUS_LINK	0x4

struct prt {
	struct device *dev;
	void *regs;
	void *rx_desc;
	dma_addr_t rx_desc_dma;
};

static int prt_mdio_write(struct prt *p, int reg, u16 val)
{
	u32 cmd;

	writel(PRT_MDIO_WRITE | (reg << 16) | val, p->regs + PRT_MDIO_CMD);
	return readl_poll_timeout(p->regs + PRT_MDIO_CMD, cmd, !(cmd & PRT_MDIO_BUSY), 10, 1000);
}

void prt_close(struct prt *p)
{
	u32 mode = readl(p->regs + PRT_MAC_MODE);

	mode &= ~PRT_MAC_AUTOPOLL;
	writel(mode, p->regs + PRT_MAC_MODE);
	if (prt_mdio_write(p, 0, 0x800))
		dev_err(p->dev, "phy power down timeout\n");
	dma_free_coherent(p->dev, 4096, p->rx_desc, p->rx_desc_dma);
}

void prt_suspend(struct prt *p)
{
	u32 status;

	writel(0, p->regs + PRT_IRQ_MASK);
	if (readl_poll_timeout(p->regs + PRT_PHY_STATUS, status, !(status & PRT_PHY_STATUS_LINK), 100, 100000))
		dev_err(p->dev, "link still up\n");
	dma_free_coherent(p->dev, 4096, p->rx_desc, p->rx_desc_dma);
}
