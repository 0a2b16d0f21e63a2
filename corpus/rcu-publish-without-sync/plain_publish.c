// SPDX-License-Identifier: GPL-2.0
/*
 * Not findings: a field that readers only dereference (no reader decides on it
 * whether to serialize), and a publish whose only success path waits.
 */
#include <kcorpus-net.h>

struct filter {
	int len;
};

struct port_cfg {
	struct filter __rcu *filter;
	struct filter __rcu *steer;
	spinlock_t lock;
	unsigned long drops;
};

int port_filter_len(struct port_cfg *cfg)
{
	struct filter *f;
	int len = 0;

	rcu_read_lock();
	f = rcu_dereference(cfg->filter);
	if (f)
		len = f->len;
	rcu_read_unlock();
	return len;
}

int port_set_filter(struct port_cfg *cfg, struct filter *f)
{
	rcu_assign_pointer(cfg->filter, f);
	return 0;
}

void port_account(struct port_cfg *cfg)
{
	if (!rcu_dereference(cfg->steer))
		return;
	spin_lock_bh(&cfg->lock);
	cfg->drops++;
	spin_unlock_bh(&cfg->lock);
}

int port_set_steer(struct port_cfg *cfg, struct filter *f)
{
	int err = 0;

	rcu_assign_pointer(cfg->steer, f);
	if (f->len < 0) {
		err = -EINVAL;
		goto out;
	}
	synchronize_net();
out:
	return err;
}
