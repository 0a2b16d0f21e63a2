// SPDX-License-Identifier: GPL-2.0
/*
 * Setting up the polling hook. __xpoll_setup() publishes dev->pollinfo and
 * returns; whether a grace period is waited for is up to each caller.
 * A line carrying "evidence: <rule>" must be cited by a finding of that rule.
 */
#include "xpoll.h"

int __xpoll_setup(struct xpoll *np, struct xdev *dev)
{
	struct xpoll_info *info;
	int err;

	if (dev->ops && dev->ops->poll_setup) {
		err = dev->ops->poll_setup(dev, np);
		if (err)
			return err;
	}
	if (!rcu_access_pointer(dev->pollinfo)) {
		info = kzalloc(sizeof(*info), GFP_KERNEL);
		if (!info)
			return -ENOMEM;
	} else {
		info = rtnl_dereference(dev->pollinfo);
	}
	info->refcnt++;
	info->owner = np;

	rcu_assign_pointer(dev->pollinfo, info);	// evidence: rcu-publish-without-sync
	return 0;
}

/* Returns success while pollers that missed the publish may still run unserialized. */
int xpoll_setup(struct xpoll *np)
{
	int err;

	rtnl_lock();
	err = __xpoll_setup(np, np->dev);	// expect: rcu-publish-without-sync
	if (err)
		goto unlock;
	rtnl_unlock();
	return 0;

unlock:
	rtnl_unlock();
	return err;
}

/* Waits for pollers that tested the gate before the publish: not a finding. */
int xpoll_setup_synced(struct xpoll *np)
{
	int err;

	rtnl_lock();
	err = __xpoll_setup(np, np->dev);
	rtnl_unlock();
	if (err)
		return err;

	synchronize_rcu();
	return 0;
}
