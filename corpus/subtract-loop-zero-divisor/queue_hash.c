// SPDX-License-Identifier: GPL-2.0
/*
 * Triggering cases for subtract-loop-zero-divisor: every loop below can spin
 * forever because its divisor may be 0 when the loop is reached.
 * A line carrying "expect: <rule>" must get exactly one finding of that rule.
 */
#include "fake_queue.h"

#define RING_SLOTS(r)	((r)->count)
#define ZERO_SLOTS	0

/* Divisor copied from a field into a local; the WARN_ON does not bound the loop. */
u16 fake_pick_queue(struct fake_netdev *dev, u32 hash)
{
	u16 qcount = dev->nr_active_queues;

	WARN_ON_ONCE(qcount == 0);
	while (unlikely(hash >= qcount))	// expect: subtract-loop-zero-divisor
		hash -= qcount;
	return hash;
}

/* Field used directly, wrapped in likely(). */
u32 fake_slot_direct(struct fake_netdev *dev, u32 pos)
{
	while (likely(pos >= dev->nr_slots))	// expect: subtract-loop-zero-divisor
		pos -= dev->nr_slots;
	return pos;
}

/* for loop whose increment does the subtraction, operands reversed. */
u32 fake_slot_for(struct fake_ring *ring, u32 pos)
{
	for (; ring->count <= pos; pos = pos - ring->count)	// expect: subtract-loop-zero-divisor
		;
	return pos;
}

/* do ... while with a block body. */
u32 fake_slot_do(struct fake_ring *ring, u32 pos)
{
	do {	// expect: subtract-loop-zero-divisor
		pos -= ring->count;
	} while (pos >= ring->count);
	return pos;
}

/* Divisor behind a function-like macro. */
u32 fake_slot_macro(struct fake_ring *ring, u32 idx)
{
	while (idx >= RING_SLOTS(ring))	// expect: subtract-loop-zero-divisor
		idx -= RING_SLOTS(ring);
	return idx;
}

/* Parameter divisor, no guard on any path; one caller passes 0. */
static u32 fake_wrap(u32 value, u32 span)
{
	while (value > span)	// expect: subtract-loop-zero-divisor
		value -= span;
	return value;
}

u32 fake_wrap_user(u32 v)
{
	return fake_wrap(v, 8);
}

u32 fake_wrap_empty(u32 v)
{
	return fake_wrap(v, 0);	// evidence: subtract-loop-zero-divisor
}

/* Parameter divisor whose callers pass values kwarden cannot bound. */
u32 fake_spread(u32 value, u32 step)
{
	while (value >= step)	// expect: subtract-loop-zero-divisor
		value -= step;
	return value;
}

u32 fake_spread_user(struct fake_ring *ring, u32 v)
{
	return fake_spread(v, ring->next_to_use);
}

/* A check that only logs does not leave the path. */
u32 fake_logged(struct fake_ring *ring, u32 pos)
{
	u32 n = ring->count;

	if (!n)
		pr_warn("ring has no slots\n");
	while (pos >= n)	// expect: subtract-loop-zero-divisor
		pos -= n;
	return pos;
}

/* The guard holds for the old value only: the divisor is reloaded after it. */
u32 fake_reloaded(struct fake_ring *ring, u32 pos)
{
	u32 n = ring->count;

	if (!n)
		return 0;
	n = READ_ONCE(ring->next_to_use);
	while (pos >= n)	// expect: subtract-loop-zero-divisor
		pos -= n;
	return pos;
}

/* Divisor read with READ_ONCE: its field is still known. */
u16 fake_read_once(struct fake_netdev *dev, u16 q)
{
	u16 n = READ_ONCE(dev->nr_active_queues);

	while (q >= n)	// expect: subtract-loop-zero-divisor
		q -= n;
	return q;
}

/* A constant that is 0: the loop never ends whenever it is entered. */
u32 fake_zero_constant(u32 pos)
{
	while (pos >= ZERO_SLOTS)	// expect: subtract-loop-zero-divisor
		pos -= ZERO_SLOTS;
	return pos;
}

/* Nested inside another branch that says nothing about the divisor. */
u16 fake_nested(struct fake_netdev *dev, u32 hash, bool recorded)
{
	u16 qcount = dev->nr_active_queues;

	if (dev->nr_tc) {
		hash += dev->nr_tc;
	}
	if (recorded) {
		if (hash >= 4)
			hash -= 4;
		while (hash >= qcount)	// expect: subtract-loop-zero-divisor
			hash -= qcount;
	}
	return hash;
}

/* A guard on an unrelated value does not help. */
u32 fake_wrong_guard(struct fake_ring *ring, u32 pos)
{
	if (!ring->next_to_use)
		return 0;
	while (pos >= ring->count)	// expect: subtract-loop-zero-divisor
		pos -= ring->count;
	return pos;
}
