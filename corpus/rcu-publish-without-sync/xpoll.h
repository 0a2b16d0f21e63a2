/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A polling hook on a device. While dev->pollinfo is NULL the receive path polls
 * without claiming ownership; once it is published, pollers serialize through
 * napi->poll_owner. The gate reader is the static inline xpoll_owner_lock().
 */
#ifndef _XPOLL_H
#define _XPOLL_H

#include <kcorpus-net.h>

struct xpoll_info {
	int refcnt;
	struct xpoll *owner;
};

struct xpoll;
struct xdev;

/* Per-device callbacks; an upper device sets up polling on its lower devices. */
struct xdev_ops {
	int (*poll_setup)(struct xdev *dev, struct xpoll *np);
};

struct xdev {
	struct net_device *netdev;
	const struct xdev_ops *ops;
	struct xpoll_info __rcu *pollinfo;
};

struct xnapi {
	struct xdev *dev;
	int poll_owner;
};

struct xpoll {
	struct xdev *dev;
	char name[16];
};

static inline void *xpoll_owner_lock(struct xnapi *napi)
{
	struct xdev *dev = napi->dev;

	if (dev && rcu_access_pointer(dev->pollinfo)) {
		int owner = smp_processor_id();

		while (cmpxchg(&napi->poll_owner, -1, owner) != -1)
			cpu_relax();
		return napi;
	}
	return NULL;
}

int __xpoll_setup(struct xpoll *np, struct xdev *dev);
int xpoll_setup(struct xpoll *np);

#endif
