// SPDX-License-Identifier: GPL-2.0
/*
 * A receive queue whose xdp ring is usable once rq->napi is published.
 * Readers that see NULL drop the frame and leave: an early reader does no
 * unserialized work, so publishing without a grace period is not a finding.
 * A second field is read the other way round: NULL means "work without the
 * lock", and that one is a finding.
 */
#include <kcorpus-net.h>

struct xring {
	spinlock_t producer_lock;
	int tail;
};

struct rxq {
	void __rcu *napi;
	void __rcu *shared;
	struct xring ring;
	spinlock_t shared_lock;
	unsigned long frames;
};

int rxq_xmit(struct rxq *rq, int n)
{
	if (!rcu_access_pointer(rq->napi))
		return -EINVAL;

	spin_lock(&rq->ring.producer_lock);
	rq->ring.tail += n;
	spin_unlock(&rq->ring.producer_lock);
	return n;
}

int rxq_enable(struct rxq *rq, void *napi)
{
	rcu_assign_pointer(rq->napi, napi);
	return 0;
}

void rxq_count(struct rxq *rq)
{
	if (!rcu_access_pointer(rq->shared)) {	// evidence: rcu-publish-without-sync
		rq->frames++;
	} else {
		spin_lock(&rq->shared_lock);
		rq->frames++;
		spin_unlock(&rq->shared_lock);
	}
}

int rxq_share(struct rxq *rq, void *owner)
{
	rcu_assign_pointer(rq->shared, owner);	// expect: rcu-publish-without-sync
	return 0;
}

/*
 * An owner pointer compared with the caller: an identity test, not a
 * NULL gate; publishing the owner is not a finding.
 */
struct svc_slot {
	void __rcu *owner;
	spinlock_t lock;
	int users;
};

void svc_release(struct svc_slot *slot, void *me)
{
	if (rcu_access_pointer(slot->owner) == me) {
		spin_lock(&slot->lock);
		slot->users--;
		spin_unlock(&slot->lock);
	}
}

int svc_claim(struct svc_slot *slot, void *me)
{
	rcu_assign_pointer(slot->owner, me);
	return 0;
}

/*
 * A daemon pointer: frames that arrive while it is NULL are dropped, which
 * touches nothing the locked path updates; publishing it is not a finding.
 */
struct lane {
	void __rcu *daemon;
	spinlock_t table_lock;
	int entries;
};

void kfree_frame(void *frame);

void lane_push(struct lane *ln, void *frame, int looped)
{
	if (looped || !rcu_access_pointer(ln->daemon)) {
		kfree_frame(frame);
		return;
	}
	spin_lock(&ln->table_lock);
	ln->entries++;
	spin_unlock(&ln->table_lock);
}

int lane_attach(struct lane *ln, void *daemon)
{
	rcu_assign_pointer(ln->daemon, daemon);
	return 0;
}
