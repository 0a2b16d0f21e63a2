// SPDX-License-Identifier: GPL-2.0
/*
 * Users of the polling hook in another file: an aggregate that attaches it to
 * each port. A static helper calls __xpoll_setup(); one caller waits after it,
 * the other does not.
 */
#include "xpoll.h"

struct agg_port {
	struct xdev *dev;
	struct xpoll *np;
};

static int agg_port_attach_poll(struct agg_port *port)
{
	struct xpoll *np = kzalloc(sizeof(*np), GFP_KERNEL);
	int err;

	if (!np)
		return -ENOMEM;
	err = __xpoll_setup(np, port->dev);	// evidence: rcu-publish-without-sync
	if (err) {
		kfree(np);
		return err;
	}
	port->np = np;
	return 0;
}

/* Waits for a grace period after attaching: silent. */
int agg_enslave(struct agg_port *port)
{
	int err = agg_port_attach_poll(port);

	if (err)
		return err;
	synchronize_net();
	return 0;
}

/* Attaches and reports success without waiting: the chain ends here. */
int agg_port_hotplug(struct agg_port *port)
{
	if (agg_port_attach_poll(port))	// expect: rcu-publish-without-sync
		return -EIO;
	return 0;
}
