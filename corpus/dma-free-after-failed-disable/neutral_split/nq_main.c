// SPDX-License-Identifier: GPL-2.0
#include "nq.h"

void nq_close(struct nq_priv *priv)
{
	if (nq_hw_set(priv, 0)) // evidence: dma-free-after-failed-disable
		dev_err(priv->dev, "queue 0 timeout\n");
	nq_mem_put(priv); // expect: dma-free-after-failed-disable
}

/* The failure stops the path: no finding. */
int nq_close_checked(struct nq_priv *priv)
{
	int err = nq_hw_set(priv, 0);

	if (err)
		return err;
	nq_mem_put(priv);
	return 0;
}

int nq_hw_up(struct nq_priv *priv, unsigned int q);

/* A failed bring-up is no failed disable: no finding. */
void nq_open_or_drop(struct nq_priv *priv)
{
	if (nq_hw_up(priv, 0))
		dev_err(priv->dev, "queue 0 did not come up\n");
	nq_mem_put(priv);
}
