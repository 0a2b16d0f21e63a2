/* SPDX-License-Identifier: GPL-2.0 */
/* Structures shared by the queue cases: the divisors of queue_hash.c, zeroed in queue_teardown.c. */
#ifndef _FAKE_QUEUE_H
#define _FAKE_QUEUE_H

#include <kcorpus.h>

struct fake_txq {
	u32 state;
};

struct fake_netdev {
	u16 nr_active_queues;
	u16 nr_tc;
	u32 nr_slots;
	struct fake_txq *txq;
};

struct fake_ring {
	u32 count;
	u32 next_to_use;
};

#endif /* _FAKE_QUEUE_H */
