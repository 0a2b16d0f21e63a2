// SPDX-License-Identifier: GPL-2.0
/*
 * A reset of every VF, one after the other. Resetting one VF stops its queues,
 * only logs a stop timeout, and frees that VF's rings when it was active: the
 * finding is there. The loop over the VFs adds nothing: a failure to stop one
 * VF does not make the next VF's free a use of running DMA memory.
 */
#include <kcorpus-dma.h>

#define PVL_QENA	0x1

struct pvl_vf {
	struct device *dev;
	void *qctl;
	void *ring;
	dma_addr_t ring_dma;
	unsigned int id;
	bool active;
};

struct pvl_pf {
	struct pvl_vf vfs[8];
	unsigned int num_vfs;
};

static int pvl_vf_stop_queues(struct pvl_vf *vf)
{
	u32 val;

	writel(0, vf->qctl); // evidence: dma-free-after-failed-disable
	return readl_poll_timeout(vf->qctl, val, !(val & PVL_QENA), 10, 1000);
}

static void pvl_vf_free_rings(struct pvl_vf *vf)
{
	dma_free_coherent(vf->dev, 4096, vf->ring, vf->ring_dma);
}

static void pvl_reset_vf(struct pvl_vf *vf)
{
	if (pvl_vf_stop_queues(vf))
		dev_err(vf->dev, "VF %u queues did not stop\n", vf->id);
	if (!vf->active)
		return;
	pvl_vf_free_rings(vf); // expect: dma-free-after-failed-disable
}

void pvl_reset_all_vfs(struct pvl_pf *pf)
{
	unsigned int i;

	for (i = 0; i < pf->num_vfs; i++)
		pvl_reset_vf(&pf->vfs[i]);
}
