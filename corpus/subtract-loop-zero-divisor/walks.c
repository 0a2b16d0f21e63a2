// SPDX-License-Identifier: GPL-2.0
/*
 * Loops that look like repeated subtraction but step through a list or an
 * array: the divisor is re-read from the next element on every round, so a
 * zero-length element does not make them spin. Also divisors that are
 * nonzero by construction. Only the loops marked `expect` are findings.
 */
#include <kcorpus.h>

struct fake_sg {
	unsigned int length;
	unsigned int dma_length;
	struct fake_sg *next;
};

#define fake_sg_dma_len(sg)	((sg)->dma_length)

static inline struct fake_sg *fake_sg_next(struct fake_sg *sg)
{
	return sg->next;
}

struct fake_iov {
	unsigned long iov_len;
};

struct fake_xmit {
	struct fake_iov *cur;
	int left;
	u32 period;
	u32 shift;
};

/* Skips whole elements: the divisor comes from a different element each round. */
struct fake_sg *walk_sg_offset(struct fake_sg *sg, unsigned int *offset)
{
	while (*offset && *offset >= fake_sg_dma_len(sg)) {
		*offset -= fake_sg_dma_len(sg);
		sg = fake_sg_next(sg);
	}
	return sg;
}

unsigned int walk_sg_plain(struct fake_sg *sg, unsigned int offset)
{
	while (offset >= sg->length) {
		offset -= sg->length;
		sg = sg->next;
		if (!sg)
			return 0;
	}
	return offset;
}

/* Consumes iovec entries by advancing a cursor held in the structure. */
void walk_iov_cursor(struct fake_xmit *x, unsigned long done)
{
	while (done >= x->cur->iov_len) {
		done -= x->cur->iov_len;
		x->cur++;
		x->left--;
	}
}

/* Index into an array, bumped inside the body or in the for increment. */
unsigned long walk_array_index(const unsigned long *len, unsigned long pos)
{
	int i = 0;

	while (pos >= len[i]) {
		pos -= len[i];
		i++;
	}
	return pos;
}

unsigned long walk_for_increment(const unsigned long *len, unsigned long pos, int n)
{
	int i;

	for (i = 0; i < n && pos >= len[i]; i++)
		pos -= len[i];
	return pos;
}

/* A page-walking macro assigns the header pointer in its body. */
struct fake_page {
	struct fake_page *next;
	void *data;
};

struct fake_page_hdr {
	unsigned int nr;
};

struct fake_page *fake_read_page(struct fake_page *pg);

#define FAKE_GET_NEXT_PAGE(pg, hdr)				\
{								\
	pg = fake_read_page(pg);				\
	hdr = (struct fake_page_hdr *)pg->data;			\
}

unsigned int walk_pages_macro(struct fake_page *pg, struct fake_page_hdr *hdr, unsigned int pos)
{
	while (pos >= hdr->nr) {
		pos -= hdr->nr;
		FAKE_GET_NEXT_PAGE(pg, hdr);
	}
	return pos;
}

/* A helper moves the iterator on to the next chunk, whose size it loads. */
struct fake_chunk_iter {
	unsigned int nr;
	unsigned int index;
};

void fake_chunk_flip(struct fake_chunk_iter *iter);

unsigned int walk_iter_helper(struct fake_chunk_iter *iter, unsigned int cur)
{
	while (cur >= iter->nr) {
		cur -= iter->nr;
		fake_chunk_flip(iter);
	}
	return cur;
}

/* A per-round helper call whose argument advances: days of each year in turn. */
static unsigned int fake_days_in_year(unsigned int year)
{
	return (year % 4) ? 365 : 366;
}

unsigned int walk_years(unsigned int days, unsigned int year)
{
	while (days >= fake_days_in_year(year)) {
		days -= fake_days_in_year(year);
		year++;
	}
	return year;
}

/* Nonzero by construction: both arms of ?: and a shifted nonzero constant. */
unsigned int sample_bytes(unsigned int count, bool wide)
{
	while (count >= (wide ? 4 : 2))
		count -= (wide ? 4 : 2);
	return count;
}

u64 normalize_ns(u64 ns, struct fake_xmit *x)
{
	while (ns >= ((u64)1000000000 << x->shift))
		ns -= ((u64)1000000000 << x->shift);
	return ns;
}

/* Something else changes in the body, not the divisor: still a finding. */
unsigned int count_wraps(struct fake_xmit *x, unsigned int pos)
{
	unsigned int wraps = 0;

	while (pos >= x->period) { // expect: subtract-loop-zero-divisor
		pos -= x->period;
		wraps++;
	}
	return wraps;
}
