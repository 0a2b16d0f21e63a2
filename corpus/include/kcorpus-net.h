/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Networking and RCU pieces for kwarden's corpus, written for the corpus with
 * the shapes the kernel's own macros have after expansion: rcu_assign_pointer()
 * is a do { } while (0) around smp_store_release()/WRITE_ONCE(), the RCU readers
 * are statement expressions around READ_ONCE(), cmpxchg() is a statement
 * expression around a compiler builtin, spin_lock() is a static inline function.
 */
#ifndef _KCORPUS_NET_H
#define _KCORPUS_NET_H

#include <kcorpus.h>

typedef unsigned long uintptr_t;
typedef u16 __be16;

#define __rcu
#define __force
#define __kernel

#define GFP_KERNEL	0xcc0u

void *kmalloc(size_t size, gfp_t flags);
void *kzalloc(size_t size, gfp_t flags);
void kfree(const void *p);

/* Byte order (little-endian host). */
#define cpu_to_be16(x)	((__be16)__builtin_bswap16((u16)(x)))
#define htons(x)	cpu_to_be16(x)

#define ETH_P_IP	0x0800
#define ETH_P_ARP	0x0806
#define ETH_P_8021Q	0x8100
#define ETH_P_SLOW	0x8809
#define ETH_P_ALL	0x0003

#define NET_RX_SUCCESS	0
#define NET_RX_DROP	1

/* Locks */
typedef struct { volatile int locked; } spinlock_t;
void _raw_spin_lock(spinlock_t *lock);
void _raw_spin_unlock(spinlock_t *lock);
static inline void spin_lock(spinlock_t *lock) { _raw_spin_lock(lock); }
static inline void spin_unlock(spinlock_t *lock) { _raw_spin_unlock(lock); }
static inline void spin_lock_bh(spinlock_t *lock) { _raw_spin_lock(lock); }
static inline void spin_unlock_bh(spinlock_t *lock) { _raw_spin_unlock(lock); }

struct mutex { int owner; };
void mutex_lock(struct mutex *lock);
void mutex_unlock(struct mutex *lock);
void rtnl_lock(void);
void rtnl_unlock(void);

int smp_processor_id(void);
#define cpu_relax()	__asm__ __volatile__("pause" ::: "memory")
#define barrier()	__asm__ __volatile__("" ::: "memory")

#define cmpxchg(ptr, old, new) ({					\
	typeof(ptr) __ai_ptr = (ptr);					\
	__sync_val_compare_and_swap(__ai_ptr, (old), (new));		\
})

/* RCU */
void rcu_read_lock(void);
void rcu_read_unlock(void);
void synchronize_rcu(void);
void synchronize_rcu_expedited(void);
void synchronize_net(void);
int rcu_read_lock_held(void);

#define smp_store_release(p, v)						\
do {									\
	barrier();							\
	WRITE_ONCE(*p, v);						\
} while (0)

#define RCU_INITIALIZER(v)	((typeof(*(v)) __force __rcu *)(v))

#define rcu_assign_pointer(p, v)					\
do {									\
	uintptr_t _r_a_p__v = (uintptr_t)(v);				\
									\
	if (__builtin_constant_p(v) && (_r_a_p__v) == (uintptr_t)NULL)	\
		WRITE_ONCE((p), (typeof(p))(_r_a_p__v));		\
	else								\
		smp_store_release(&p, RCU_INITIALIZER((typeof(p))_r_a_p__v)); \
} while (0)

#define RCU_INIT_POINTER(p, v)						\
do {									\
	WRITE_ONCE(p, RCU_INITIALIZER(v));				\
} while (0)

#define __rcu_access_pointer(p, local)					\
({									\
	typeof(*p) *local = (typeof(*p) *__force)READ_ONCE(p);		\
	((typeof(*p) __force __kernel *)(local));			\
})
#define rcu_access_pointer(p)	__rcu_access_pointer((p), __rcu_local_ptr)

#define __rcu_dereference_check(p, local, c)				\
({									\
	typeof(*p) *local = (typeof(*p) *__force)READ_ONCE(p);		\
	(void)(c);							\
	((typeof(*p) __force __kernel *)(local));			\
})
#define rcu_dereference_check(p, c)					\
	__rcu_dereference_check((p), __rcu_deref_ptr, (c) || rcu_read_lock_held())
#define rcu_dereference(p)	rcu_dereference_check(p, 0)
#define rcu_dereference_bh(p)	rcu_dereference_check(p, 0)
#define rtnl_dereference(p)	rcu_dereference_check(p, 1)

/* Devices, packets and protocol handlers */
struct net_device;
struct sk_buff {
	struct net_device *dev;
	unsigned int len;
	__be16 protocol;
	unsigned char *data;
};

struct net_device {
	char name[16];
	int ifindex;
	unsigned int flags;
	void *priv;
};

static inline void *netdev_priv(const struct net_device *dev)
{
	return dev->priv;
}

struct packet_type {
	__be16 type;
	bool ignore_outgoing;
	struct net_device *dev;
	int (*func)(struct sk_buff *, struct net_device *,
		    struct packet_type *, struct net_device *);
	void *af_packet_priv;
};

void dev_add_pack(struct packet_type *pt);
void __dev_add_pack(struct packet_type *pt);
void dev_remove_pack(struct packet_type *pt);
void kfree_skb(struct sk_buff *skb);
int netif_rx(struct sk_buff *skb);

#endif /* _KCORPUS_NET_H */
