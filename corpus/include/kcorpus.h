/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal kernel-style definitions for kwarden's corpus. Written for the corpus:
 * just enough of the usual macros, with the same shapes after expansion
 * (statement expressions, do { } while (0), __builtin_expect), for the rules
 * to see what they see in a real tree.
 */
#ifndef _KCORPUS_H
#define _KCORPUS_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;
typedef _Bool bool;
typedef unsigned long size_t;
typedef unsigned long long dma_addr_t;
typedef unsigned int gfp_t;

#define NULL ((void *)0)
#define true 1
#define false 0

#define EINVAL		22
#define EBUSY		16
#define EIO		5
#define ETIMEDOUT	110
#define ENOMEM		12

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#define offsetof(TYPE, MEMBER)	__builtin_offsetof(TYPE, MEMBER)
#define container_of(ptr, type, member) ({				\
	void *__mptr = (void *)(ptr);					\
	((type *)(__mptr - offsetof(type, member))); })

void panic(const char *fmt, ...) __attribute__((noreturn));
int printk(const char *fmt, ...);
#define pr_warn(fmt, ...)	printk(fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...)	printk(fmt, ##__VA_ARGS__)
#define netdev_err(dev, fmt, ...)	printk(fmt, ##__VA_ARGS__)
#define dev_warn(dev, fmt, ...)	printk(fmt, ##__VA_ARGS__)

void __warn_printk(const char *fmt, ...);
#define __WARN()	__warn_printk("WARNING\n")

#define BUG() do {							\
	__warn_printk("BUG\n");						\
	__builtin_unreachable();					\
} while (0)

#define BUG_ON(condition) do { if (unlikely(condition)) BUG(); } while (0)

#define WARN_ON(condition) ({						\
	int __ret_warn_on = !!(condition);				\
	if (unlikely(__ret_warn_on))					\
		__WARN();						\
	unlikely(__ret_warn_on);					\
})

#define WARN_ON_ONCE(condition)	WARN_ON(condition)

#define __cmp(x, y, op)	((x) op (y) ? (x) : (y))
#define max(x, y)	({ typeof(x) __x = (x); typeof(y) __y = (y); __cmp(__x, __y, >); })
#define min(x, y)	({ typeof(x) __x = (x); typeof(y) __y = (y); __cmp(__x, __y, <); })
#define max_t(type, x, y)	max((type)(x), (type)(y))
#define clamp(val, lo, hi)	min(max(val, lo), hi)

#define READ_ONCE(x)	(*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, val)						\
do {									\
	*(volatile typeof(x) *)&(x) = (val);				\
} while (0)

#endif /* _KCORPUS_H */
