// SPDX-License-Identifier: GPL-2.0
/*
 * Registration of the aggregate's ARP handlers. The packet_type is embedded in
 * the per-aggregate structure and .dev stays NULL: every device's ARP reaches
 * the handler, also for aggregates whose hash table was never allocated.
 */
#include "lb_port.h"

int lb_rx_initialize(struct lb_master *lb)
{
	struct lb_rx_info *rx = &lb->rx;
	struct packet_type *pk_type = &lb->rx.arp_pt;

	rx->hashtbl = kzalloc(16 * sizeof(struct lb_client), GFP_KERNEL);
	if (!rx->hashtbl)
		return -ENOMEM;

	pk_type->type = cpu_to_be16(ETH_P_ARP);
	pk_type->dev = NULL;	// evidence: wildcard-packet-type
	pk_type->func = lb_arp_recv;

	dev_add_pack(pk_type);	// expect: wildcard-packet-type
	return 0;
}

/* Same registration, but the handler checks the receiving device: not a finding. */
int lb_rx_initialize_checked(struct lb_master *lb)
{
	lb->rx.arp_pt.type = cpu_to_be16(ETH_P_ARP);
	lb->rx.arp_pt.dev = NULL;
	lb->rx.arp_pt.func = lb_arp_recv_checked;
	dev_add_pack(&lb->rx.arp_pt);
	return 0;
}
