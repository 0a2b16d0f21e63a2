// SPDX-License-Identifier: GPL-2.0
#include "nq.h"

void nq_mem_put(struct nq_priv *priv)
{
	unsigned int i;

	for (i = 0; i < priv->count; i++)
		dma_unmap_page(priv->dev, priv->bufs[i].dma, 4096, DMA_FROM_DEVICE); // evidence: dma-free-after-failed-disable
	dma_free_coherent(priv->dev, priv->count * 16, priv->desc, priv->desc_dma);
}
