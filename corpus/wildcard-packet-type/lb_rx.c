// SPDX-License-Identifier: GPL-2.0
/*
 * ARP receive handlers of the load-balancing aggregate. They reach their
 * aggregate through container_of() on the packet_type; registered from
 * lb_setup.c. A line carrying "evidence: <rule>" must be cited by a finding.
 */
#include "lb_port.h"

static unsigned int lb_hash(u32 ip)
{
	return ip & 15;
}

/* No check that the ARP came in through one of this aggregate's ports. */
int lb_arp_recv(struct sk_buff *skb, struct net_device *dev,
		struct packet_type *pt, struct net_device *orig_dev)
{
	struct lb_rx_info *rx = container_of(pt, struct lb_rx_info, arp_pt);
	struct lb_client *client;

	spin_lock_bh(&rx->lock);	// evidence: wildcard-packet-type
	client = &rx->hashtbl[lb_hash(skb->len)];
	if (client->assigned)
		client->ip_dst = 0;
	spin_unlock_bh(&rx->lock);
	kfree_skb(skb);
	return NET_RX_SUCCESS;
}

/* Checks that the receiving device is the aggregate's own before touching its state. */
int lb_arp_recv_checked(struct sk_buff *skb, struct net_device *dev,
			struct packet_type *pt, struct net_device *orig_dev)
{
	struct lb_master *lb = container_of(pt, struct lb_master, rx.arp_pt);

	if (lb->dev != dev)
		goto drop;
	spin_lock_bh(&lb->rx.lock);
	lb->rx.hashtbl[lb_hash(skb->len)].assigned = 1;
	spin_unlock_bh(&lb->rx.lock);
drop:
	kfree_skb(skb);
	return NET_RX_SUCCESS;
}
