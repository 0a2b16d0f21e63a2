// Plain subtract-loop pattern (`while (x >= d) x -= d;`) for timing Coccinelle against kwarden
// in bench/scan-linux.sh --with-coccinelle. Purely syntactic: no zero-divisor reasoning.
@r@
expression x, d;
position p;
@@
(
 while@p (x >= d) { <+... x -= d; ...+> }
|
 while@p (x >= d) { <+... x = x - d; ...+> }
)

@script:python@
p << r.p;
@@
print("%s:%s" % (p[0].file, p[0].line))
