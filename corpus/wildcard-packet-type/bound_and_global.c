// SPDX-License-Identifier: GPL-2.0
/*
 * Not findings: a file-scope protocol handler that looks its state up from the
 * receiving device, and a per-instance packet_type bound to its device.
 */
#include <kcorpus-net.h>

struct vlan_state {
	int enabled;
};

static int proto_rcv(struct sk_buff *skb, struct net_device *dev,
		     struct packet_type *pt, struct net_device *orig_dev)
{
	struct vlan_state *state = netdev_priv(dev);

	if (!state->enabled)
		kfree_skb(skb);
	return NET_RX_SUCCESS;
}

static struct packet_type proto_packet_type = {
	.type = htons(ETH_P_8021Q),
	.func = proto_rcv,
};

void proto_init(void)
{
	dev_add_pack(&proto_packet_type);
}

struct port {
	struct net_device *dev;
	unsigned long rx_frames;
	struct packet_type pt;
};

static int port_rcv(struct sk_buff *skb, struct net_device *dev,
		    struct packet_type *pt, struct net_device *orig_dev)
{
	struct port *port = container_of(pt, struct port, pt);

	port->rx_frames++;
	kfree_skb(skb);
	return NET_RX_SUCCESS;
}

void port_open(struct port *port)
{
	port->pt.type = htons(ETH_P_SLOW);
	port->pt.dev = port->dev;
	port->pt.func = port_rcv;
	dev_add_pack(&port->pt);
}

/* The packet_type is bound in a designated initializer. */
int port_open_bound(struct port *port)
{
	port->pt = (struct packet_type) {
		.type = htons(ETH_P_SLOW),
		.dev = port->dev,
		.func = port_rcv,
	};
	dev_add_pack(&port->pt);
	return 0;
}

/*
 * A per-instance packet_type left unbound on purpose: the handler looks up the
 * receiving device's state and bails out when the device is not one of its own.
 */
struct proto_app {
	int type;
	struct packet_type pkttype;
};

struct proto_port {
	struct proto_app *apps[4];
};

static int app_rcv(struct sk_buff *skb, struct net_device *dev,
		   struct packet_type *pt, struct net_device *orig_dev)
{
	struct proto_app *app = container_of(pt, struct proto_app, pkttype);
	struct proto_port *port;

	port = netdev_priv(dev);
	if (!port)
		goto out;
	if (port->apps[app->type] != app)
		goto out;
out:
	kfree_skb(skb);
	return NET_RX_SUCCESS;
}

int app_register(struct proto_app *app)
{
	app->pkttype.func = app_rcv;
	dev_add_pack(&app->pkttype);
	return 0;
}
