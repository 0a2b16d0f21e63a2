/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-style DMA, MMIO polling and ring declarations for the corpus of
 * dma-free-after-failed-disable. Written for the corpus, with the shapes the
 * kernel's versions have after expansion: dma_unmap_single() is a macro over a
 * function, dma_free_coherent() a static inline, readl_poll_timeout() a
 * statement expression.
 */
#ifndef _KCORPUS_DMA_H
#define _KCORPUS_DMA_H

#include <kcorpus.h>

struct device;
struct page;
struct page_pool;
struct sk_buff;
struct work_struct { void (*func)(struct work_struct *work); };

enum dma_data_direction { DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_NONE };

u32 readl(const volatile void *addr);
void writel(u32 value, volatile void *addr);
void __udelay(unsigned long usecs);
#define udelay(n)	__udelay(n)
void usleep_range_state(unsigned long min, unsigned long max, unsigned int state);
static inline void usleep_range(unsigned long min, unsigned long max)
{
	usleep_range_state(min, max, 2);
}
u64 ktime_get_us(void);

#define read_poll_timeout(op, val, cond, sleep_us, timeout_us, args...)	\
({									\
	u64 __timeout = ktime_get_us() + (timeout_us);			\
	int __ret = 0;							\
	for (;;) {							\
		(val) = op(args);					\
		if (cond)						\
			break;						\
		if (ktime_get_us() > __timeout) {			\
			(val) = op(args);				\
			break;						\
		}							\
		if (sleep_us)						\
			usleep_range((sleep_us) >> 2, (sleep_us));	\
	}								\
	__ret = (cond) ? 0 : -ETIMEDOUT;				\
	__ret;								\
})
#define readx_poll_timeout(op, addr, val, cond, sleep_us, timeout_us)	\
	read_poll_timeout(op, val, cond, sleep_us, timeout_us, addr)
#define readl_poll_timeout(addr, val, cond, delay_us, timeout_us)	\
	readx_poll_timeout(readl, addr, val, cond, delay_us, timeout_us)

#define GFP_KERNEL	0xcc0u
void *dma_alloc_attrs(struct device *dev, size_t size, dma_addr_t *dma_handle,
		      gfp_t flag, unsigned long attrs);
static inline void *dma_alloc_coherent(struct device *dev, size_t size,
				       dma_addr_t *dma_handle, gfp_t gfp)
{
	return dma_alloc_attrs(dev, size, dma_handle, gfp, 0);
}

void dma_unmap_single_attrs(struct device *dev, dma_addr_t addr, size_t size,
			    enum dma_data_direction dir, unsigned long attrs);
void dma_unmap_page_attrs(struct device *dev, dma_addr_t addr, size_t size,
			  enum dma_data_direction dir, unsigned long attrs);
#define dma_unmap_single(d, a, s, r)	dma_unmap_single_attrs(d, a, s, r, 0)
#define dma_unmap_page(d, a, s, r)	dma_unmap_page_attrs(d, a, s, r, 0)
void dma_free_attrs(struct device *dev, size_t size, void *cpu_addr,
		    dma_addr_t dma_handle, unsigned long attrs);
static inline void dma_free_coherent(struct device *dev, size_t size,
				     void *cpu_addr, dma_addr_t dma_handle)
{
	dma_free_attrs(dev, size, cpu_addr, dma_handle, 0);
}

void page_pool_put_full_page(struct page_pool *pool, struct page *page, bool allow_direct);
void page_pool_destroy(struct page_pool *pool);
void __free_pages(struct page *page, unsigned int order);
void __dev_kfree_skb_any(struct sk_buff *skb, int reason);
static inline void dev_kfree_skb_any(struct sk_buff *skb)
{
	__dev_kfree_skb_any(skb, 1);
}

void _dev_err(const struct device *dev, const char *fmt, ...);
#define dev_err(dev, fmt, ...)	_dev_err(dev, fmt, ##__VA_ARGS__)

bool schedule_work(struct work_struct *work);
void set_bit(long nr, volatile unsigned long *addr);

#endif /* _KCORPUS_DMA_H */
