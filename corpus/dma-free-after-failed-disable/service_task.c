// SPDX-License-Identifier: GPL-2.0
/*
 * A PF driver's service task runs independent subtasks. One quiesces the VFs'
 * Rx queues and only logs a timeout; another rebuilds the PF through a down
 * path that stops the PF's own rings (and bails out if that fails) before
 * freeing them. The task calls the first and then the second: the frees of the
 * second are guarded by its own stop, so the first subtask's dropped failure
 * is not paired with them. Removing the device quiesces the VFs the same way
 * and then frees the VF rings directly: a finding. Releasing a VF calls the
 * down path only when a state bit says the VF is still up; when it is already
 * down the release frees the ring right after the dropped quiesce failure: a
 * finding in the function that drops it and frees.
 */
#include <kcorpus-dma.h>

#define SVC_VF_QCTL		0x100
#define SVC_VF_QCTL_ENA		0x1
#define SVC_PF_QCTL		0x200
#define SVC_PF_QCTL_ENA		0x1
#define SVC_FLAG_VF_QUIESCE	0x1
#define SVC_FLAG_PF_RESET	0x2

struct svc_pf {
	struct device *dev;
	void *regs;
	unsigned long flags;
	unsigned long vf_state;
	void *vf_ring;
	dma_addr_t vf_ring_dma;
	void *pf_ring;
	dma_addr_t pf_ring_dma;
};

int svc_pf_setup(struct svc_pf *pf);
bool test_and_set_bit(long nr, volatile unsigned long *addr);

static int svc_wait_clear(struct svc_pf *pf, u32 reg, u32 bit)
{
	u32 val;

	return readl_poll_timeout(pf->regs + reg, val, !(val & bit), 10, 1000);
}

static void svc_quiesce_vfs(struct svc_pf *pf)
{
	writel(0, pf->regs + SVC_VF_QCTL);
	if (svc_wait_clear(pf, SVC_VF_QCTL, SVC_VF_QCTL_ENA))
		dev_err(pf->dev, "VF queues did not stop\n");
}

static int svc_pf_down(struct svc_pf *pf)
{
	int err;

	writel(0, pf->regs + SVC_PF_QCTL);
	err = svc_wait_clear(pf, SVC_PF_QCTL, SVC_PF_QCTL_ENA);
	if (err)
		return err;
	dma_free_coherent(pf->dev, 4096, pf->pf_ring, pf->pf_ring_dma);
	return 0;
}

static void svc_pf_rebuild(struct svc_pf *pf)
{
	if (svc_pf_down(pf))
		return;
	svc_pf_setup(pf);
}

void svc_service_task(struct svc_pf *pf)
{
	if (pf->flags & SVC_FLAG_VF_QUIESCE)
		svc_quiesce_vfs(pf);
	if (pf->flags & SVC_FLAG_PF_RESET)
		svc_pf_rebuild(pf);
}

void svc_remove(struct svc_pf *pf)
{
	svc_quiesce_vfs(pf);
	dma_free_coherent(pf->dev, 4096, pf->vf_ring, pf->vf_ring_dma); // expect: dma-free-after-failed-disable
}

static void svc_vf_release(struct svc_pf *pf)
{
	if (!test_and_set_bit(0, &pf->vf_state)) {
		if (svc_pf_down(pf))
			return;
	}
	dma_free_coherent(pf->dev, 4096, pf->vf_ring, pf->vf_ring_dma);
}

void svc_vf_reset(struct svc_pf *pf)
{
	svc_quiesce_vfs(pf);
	svc_vf_release(pf); // expect: dma-free-after-failed-disable
}
