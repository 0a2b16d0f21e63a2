// SPDX-License-Identifier: GPL-2.0
/*
 * A per-instance tap whose packet_type is allocated and filled by a designated
 * initializer without .dev; its handler reads the instance from af_packet_priv.
 */
#include <kcorpus-net.h>

struct tap_instance {
	struct net_device *lower;
	unsigned long *counters;	/* per-instance, sized at creation */
	struct packet_type *pt;
};

static int tap_rcv(struct sk_buff *skb, struct net_device *dev,
		   struct packet_type *pt, struct net_device *orig_dev)
{
	struct tap_instance *tap = pt->af_packet_priv;

	tap->counters[skb->protocol & 7]++;	// evidence: wildcard-packet-type
	kfree_skb(skb);
	return NET_RX_SUCCESS;
}

int tap_create(struct tap_instance *tap)
{
	struct packet_type *pt;

	pt = kzalloc(sizeof(*pt), GFP_KERNEL);
	if (!pt)
		return -ENOMEM;
	*pt = (struct packet_type) {	// evidence: wildcard-packet-type
		.type = htons(ETH_P_SLOW),
		.func = tap_rcv,
		.af_packet_priv = tap,
	};
	tap->pt = pt;
	__dev_add_pack(pt);	// expect: wildcard-packet-type
	return 0;
}
