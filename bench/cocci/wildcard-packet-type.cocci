// For timing Coccinelle against kwarden's wildcard-packet-type (bench/scan-linux.sh
// --with-coccinelle): a packet_type that is a member of some instance, registered after its .dev
// was set to NULL in the same function. Syntactic: no handler check, no joins across files.
@r@
expression E;
identifier F;
position p;
@@
(
  E->F.dev = NULL;
  ...
  dev_add_pack@p(&E->F);
|
  dev_add_pack@p(&E->F);
)

@script:python@
p << r.p;
@@
print("%s:%s" % (p[0].file, p[0].line))
