// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing here is named for what it does. kq_put() clears a bit of a queue's
 * control word, then waits against a ktime deadline for a status bit to
 * read 0 and returns -ETIMEDOUT when it does not. kq_all() leaves the queue
 * loop with `break` on the first failure, logs it, and goes on to unmap every
 * queue's receive buffers: a finding. kq_all_checked() returns instead.
 */
#include <kcorpus-dma.h>

#define KQ_A(q)		(0x40 + (q) * 8)
#define KQ_B(q)		(0x44 + (q) * 8)
#define KQ_A_M		0x4
#define KQ_B_M		0x10

struct kq {
	void *io;
	dma_addr_t dma[16];
};

struct kq_set {
	struct device *dev;
	struct kq q[4];
	unsigned int n;
};

static int kq_put(struct kq *k, unsigned int i)
{
	u64 end;
	u32 v = readl(k->io + KQ_A(i));

	v &= ~KQ_A_M;
	writel(v, k->io + KQ_A(i));
	end = ktime_get_us() + 1000;
	do { // evidence: dma-free-after-failed-disable
		if (!(readl(k->io + KQ_B(i)) & KQ_B_M))
			return 0;
		usleep_range(10, 20);
	} while (ktime_get_us() < end);
	return -ETIMEDOUT;
}

static void kq_drop(struct kq_set *s, struct kq *k)
{
	int j;

	for (j = 0; j < 16; j++)
		dma_unmap_single(s->dev, k->dma[j], 2048, DMA_FROM_DEVICE);
}

void kq_all(struct kq_set *s)
{
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		if (kq_put(&s->q[i], i)) { // evidence: dma-free-after-failed-disable
			dev_err(s->dev, "q%u\n", i);
			break;
		}
	}
	for (i = 0; i < s->n; i++)
		kq_drop(s, &s->q[i]); // expect: dma-free-after-failed-disable
}

int kq_all_checked(struct kq_set *s)
{
	unsigned int i;
	int err;

	for (i = 0; i < s->n; i++) {
		err = kq_put(&s->q[i], i);
		if (err)
			return err;
	}
	for (i = 0; i < s->n; i++)
		kq_drop(s, &s->q[i]);
	return 0;
}
