// SPDX-License-Identifier: GPL-2.0
/*
 * Non-triggering cases for subtract-loop-zero-divisor: each loop has the
 * zero divisor excluded on every path into it, or cannot see a zero divisor.
 * No line here may get a finding.
 */
#include <kcorpus.h>

struct fake_ring {
	u32 count;
	u32 next_to_use;
};

#define FAKE_NR_SLOTS	64

u32 ok_early_return(struct fake_ring *ring, u32 pos)
{
	u32 n = ring->count;

	if (!n)
		return 0;
	while (pos >= n)
		pos -= n;
	return pos;
}

u32 ok_unlikely_goto(struct fake_ring *ring, u32 pos)
{
	u32 n = ring->count;

	if (unlikely(n == 0))
		goto out;
	while (pos >= n)
		pos -= n;
out:
	return pos;
}

u32 ok_bug_on(struct fake_ring *ring, u32 pos)
{
	BUG_ON(!ring->count);
	while (pos >= ring->count)
		pos -= ring->count;
	return pos;
}

u32 ok_warn_on_returns(struct fake_ring *ring, u32 pos)
{
	if (WARN_ON(!ring->count))
		return 0;
	while (pos >= ring->count)
		pos -= ring->count;
	return pos;
}

u32 ok_enclosing_if(struct fake_ring *ring, u32 pos)
{
	if (ring->count) {
		while (pos >= ring->count)
			pos -= ring->count;
	}
	return pos;
}

u32 ok_else_branch(struct fake_ring *ring, u32 pos)
{
	u32 n = ring->count;

	if (n == 0) {
		pos = 0;
	} else {
		while (pos >= n)
			pos -= n;
	}
	return pos;
}

u32 ok_max_clamp(struct fake_ring *ring, u32 pos)
{
	u32 n = max(ring->count, 1U);

	while (pos >= n)
		pos -= n;
	return pos;
}

u32 ok_max_t(struct fake_ring *ring, u32 pos)
{
	u32 n;

	n = max_t(u32, ring->count, 1);
	while (pos >= n)
		pos -= n;
	return pos;
}

u32 ok_clamp(struct fake_ring *ring, u32 pos)
{
	u32 n = clamp(ring->count, 1U, 16U);

	while (pos >= n)
		pos -= n;
	return pos;
}

u32 ok_repaired(struct fake_ring *ring, u32 pos)
{
	u32 n = ring->count;

	if (!n)
		n = 1;
	while (pos >= n)
		pos -= n;
	return pos;
}

u32 ok_elvis(struct fake_ring *ring, u32 pos)
{
	u32 n = ring->count ?: 8;

	while (pos >= n)
		pos -= n;
	return pos;
}

u32 ok_constant(u32 pos)
{
	while (pos >= FAKE_NR_SLOTS)
		pos -= FAKE_NR_SLOTS;
	return pos;
}

u32 ok_nonzero_assignment(struct fake_ring *ring, u32 pos)
{
	u32 n = ring->count;

	n = 32;
	while (pos >= n)
		pos -= n;
	return pos;
}

u32 ok_condition_conjunct(struct fake_ring *ring, u32 pos)
{
	while (ring->count && pos >= ring->count)
		pos -= ring->count;
	return pos;
}

u32 ok_break_inside(struct fake_ring *ring, u32 pos)
{
	while (pos >= ring->count) {
		if (!ring->count)
			break;
		pos -= ring->count;
	}
	return pos;
}

u32 ok_positive_compare(struct fake_ring *ring, u32 pos)
{
	if (ring->count > 0) {
		while (pos >= ring->count)
			pos -= ring->count;
	}
	return pos;
}

/* Not a subtract loop: the amount subtracted is not what the condition compares. */
u32 ok_other_step(struct fake_ring *ring, u32 len, u32 chunk)
{
	while (len >= ring->count)
		len -= chunk + 1;
	return len;
}

/* A helper whose divisor parameter gets a nonzero constant from every caller in the tree. */
static u32 ok_wrap_slots(u32 pos, u32 slots)
{
	while (pos >= slots)
		pos -= slots;
	return pos;
}

u32 ok_wrap_small(u32 pos)
{
	return ok_wrap_slots(pos, 8);
}

u32 ok_wrap_large(u32 pos)
{
	return ok_wrap_slots(pos, max(pos, 64U));
}
