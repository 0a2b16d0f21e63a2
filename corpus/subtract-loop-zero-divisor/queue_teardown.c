// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown paths that store 0 into the divisors used in queue_hash.c. kwarden
 * attaches these places to those findings as evidence, across files.
 * A line carrying "evidence: <rule>" must be cited by some finding of that rule.
 */
#include "fake_queue.h"

void fake_netdev_unregister_queues(struct fake_netdev *dev)
{
	dev->nr_tc = 0;
	dev->nr_active_queues = 0;	// evidence: subtract-loop-zero-divisor
}

void fake_ring_release(struct fake_ring *ring)
{
	WRITE_ONCE(ring->count, 0);	// evidence: subtract-loop-zero-divisor
}

/* A setter: the zero arrives through its parameter. */
int fake_set_slots(struct fake_netdev *dev, u32 slots)
{
	dev->nr_slots = slots;
	return 0;
}

void fake_netdev_shutdown(struct fake_netdev *dev)
{
	fake_set_slots(dev, 0);	// evidence: subtract-loop-zero-divisor
}

void fake_netdev_resize(struct fake_netdev *dev)
{
	fake_set_slots(dev, 16);
}
