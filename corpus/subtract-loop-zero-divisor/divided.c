// SPDX-License-Identifier: GPL-2.0
/*
 * A division by the divisor on every path before the loop traps on zero
 * before the loop could spin: the loop is not where a zero divisor goes wrong.
 * A division on only some paths does not count.
 */
#include <kcorpus.h>

/* Shaped like the kernel's: divides n in place, yields the remainder. */
#define do_div(n, base) ({					\
	u32 __base = (base);					\
	u32 __rem = ((u64)(n)) % __base;			\
	(n) = ((u64)(n)) / __base;				\
	__rem;							\
})

#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))

struct fake_layout {
	u32 object_size;
	u32 stripe_unit;
	u32 nr_stripes;
};

u32 ok_quotient_first(struct fake_layout *l, u32 pos, u32 *index)
{
	*index = pos / l->stripe_unit;
	while (pos >= l->stripe_unit)
		pos -= l->stripe_unit;
	return pos;
}

u64 ok_do_div_first(struct fake_layout *l, u64 offset)
{
	u64 t = offset;
	u64 set_size = l->object_size;

	do_div(t, set_size);
	while (offset >= set_size)
		offset -= set_size;
	return offset;
}

u32 ok_round_up_first(struct fake_layout *l, u32 len, u32 *chunks)
{
	*chunks = DIV_ROUND_UP(len, l->nr_stripes);
	while (len >= l->nr_stripes)
		len -= l->nr_stripes;
	return len;
}

/* Divides only on the fast path: the slow path reaches the loop undivided. */
u32 bad_divided_on_one_branch(struct fake_layout *l, u32 pos, bool fast)
{
	u32 q = 0;

	if (fast)
		q = pos % l->object_size;
	while (pos >= l->object_size)	// expect: subtract-loop-zero-divisor
		pos -= l->object_size;
	return pos + q;
}

/* Divides by something else. */
u32 bad_divided_by_other(struct fake_layout *l, u32 pos)
{
	u32 q = pos / 8;

	while (pos >= l->stripe_unit)	// expect: subtract-loop-zero-divisor
		pos -= l->stripe_unit;
	return pos + q;
}
