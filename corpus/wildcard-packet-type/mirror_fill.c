// SPDX-License-Identifier: GPL-2.0
/* Fills the mirror's packet_type; .dev is never set. Registered in mirror_start.c. */
#include "mirror.h"

static int mirror_rcv(struct sk_buff *skb, struct net_device *dev,
		      struct packet_type *pt, struct net_device *orig_dev)
{
	struct mirror *m;

	m = container_of(pt, struct mirror, pt);
	if (!skb->len)
		return NET_RX_DROP;
	m->seen[skb->len & 3]++;	// evidence: wildcard-packet-type
	kfree_skb(skb);
	return NET_RX_SUCCESS;
}

void mirror_fill(struct mirror *m)
{
	m->pt.type = htons(ETH_P_ALL);	// evidence: wildcard-packet-type
	m->pt.func = mirror_rcv;
}
