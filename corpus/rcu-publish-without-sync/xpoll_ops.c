// SPDX-License-Identifier: GPL-2.0
/*
 * Polling set up through function pointers. A stacking device's poll_setup
 * callback publishes its lower device's pollinfo; the callback runs from
 * __xpoll_setup() itself, so its chain leads back into the core (whose callers
 * are judged on their own) and is not reported here. A link ops table whose
 * attach() publishes is called from two places: one waits, one does not.
 */
#include "xpoll.h"

struct stack_dev {
	struct xdev xdev;
	struct xdev *lower;
	struct xpoll *lower_np;
};

/* Runs inside __xpoll_setup() of the upper device: silent (the core decides). */
static int stack_poll_setup(struct xdev *dev, struct xpoll *np)
{
	struct stack_dev *sd = container_of(dev, struct stack_dev, xdev);

	return __xpoll_setup(sd->lower_np, sd->lower);
}

static const struct xdev_ops stack_xdev_ops = {
	.poll_setup	= stack_poll_setup,
};

void stack_dev_init(struct stack_dev *sd)
{
	sd->xdev.ops = &stack_xdev_ops;
}

struct link;

struct link_ops {
	int (*attach)(struct link *link);
	void (*detach)(struct link *link);
};

struct link {
	const struct link_ops *ops;
	struct xdev *dev;
	struct xpoll *np;
};

static int link_poll_attach(struct link *link)
{
	return __xpoll_setup(link->np, link->dev);	// evidence: rcu-publish-without-sync
}

static void link_poll_detach(struct link *link)
{
}

static const struct link_ops link_poll_ops = {
	.attach	= link_poll_attach,
	.detach	= link_poll_detach,
};

void link_init(struct link *link)
{
	link->ops = &link_poll_ops;
}

/* Calls attach() through the ops table and reports success without a wait. */
int link_up(struct link *link)
{
	int err;

	err = link->ops->attach(link);	// expect: rcu-publish-without-sync
	if (err)
		return err;
	return 0;
}

/* Waits after attach(): silent. */
int link_up_synced(struct link *link)
{
	int err;

	err = link->ops->attach(link);
	if (err)
		return err;
	synchronize_rcu();
	return 0;
}
