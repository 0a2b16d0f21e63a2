// For timing Coccinelle against kwarden's rcu-publish-without-sync (bench/scan-linux.sh
// --with-coccinelle): a pointer published with rcu_assign_pointer() into a field on a path that
// returns without a grace-period wait. Intraprocedural: no gate readers, no caller chains.
@r@
expression E, V;
identifier F;
position p;
@@
rcu_assign_pointer@p(E->F, V);
... when != synchronize_rcu()
    when != synchronize_net()
    when != synchronize_rcu_expedited()
return 0;

@script:python@
p << r.p;
@@
print("%s:%s" % (p[0].file, p[0].line))
