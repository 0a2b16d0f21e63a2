// SPDX-License-Identifier: GPL-2.0
/*
 * A mirror tap: the receive path takes the tap lock only when a tap is
 * installed, read through a helper. Installing it publishes without a wait.
 */
#include <kcorpus-net.h>

struct tap_ring {
	int head;
};

struct tapdev {
	struct tap_ring __rcu *tap;
	spinlock_t tap_lock;
	unsigned long rx;
};

static bool tap_active(struct tapdev *td)
{
	return rcu_access_pointer(td->tap) != NULL;
}

void tap_receive(struct tapdev *td, struct sk_buff *skb)
{
	if (tap_active(td)) {	// evidence: rcu-publish-without-sync
		spin_lock(&td->tap_lock);
		td->rx++;
		spin_unlock(&td->tap_lock);
		return;
	}
	td->rx++;
}

int tap_install(struct tapdev *td, struct tap_ring *ring)
{
	if (!ring)
		return -EINVAL;
	rcu_assign_pointer(td->tap, ring);	// expect: rcu-publish-without-sync
	return 0;
}

/* Same publish, then a grace period before success: silent. */
int tap_install_synced(struct tapdev *td, struct tap_ring *ring)
{
	rcu_assign_pointer(td->tap, ring);
	synchronize_rcu_expedited();
	return 0;
}

/* Removal publishes NULL: teardown, a different bug class. */
void tap_remove(struct tapdev *td)
{
	rcu_assign_pointer(td->tap, NULL);
}
