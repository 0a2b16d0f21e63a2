/* SPDX-License-Identifier: GPL-2.0 */
/* Per-port state of a load-balancing link aggregate, shared by lb_setup.c and lb_rx.c. */
#ifndef _LB_PORT_H
#define _LB_PORT_H

#include <kcorpus-net.h>

struct lb_client {
	u32 ip_src;
	u32 ip_dst;
	u8 assigned;
};

struct lb_rx_info {
	struct lb_client *hashtbl;	/* allocated only in receive-balancing mode */
	spinlock_t lock;
	struct packet_type arp_pt;
};

struct lb_master {
	struct net_device *dev;
	int mode;
	struct lb_rx_info rx;
};

int lb_arp_recv(struct sk_buff *skb, struct net_device *dev,
		struct packet_type *pt, struct net_device *orig_dev);
int lb_arp_recv_checked(struct sk_buff *skb, struct net_device *dev,
			struct packet_type *pt, struct net_device *orig_dev);

#endif
