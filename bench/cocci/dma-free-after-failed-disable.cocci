// For timing Coccinelle against kwarden's dma-free-after-failed-disable (bench/scan-linux.sh
// --with-coccinelle): a function that waits on the hardware with a bounded register poll and later
// frees DMA memory. Syntactic and intraprocedural: no failure tracking, no chains across functions.
@r@
identifier f;
position p;
@@
f(...) {
  <...
(
  readl_poll_timeout(...)
|
  readl_poll_timeout_atomic(...)
|
  read_poll_timeout(...)
|
  readx_poll_timeout(...)
|
  regmap_read_poll_timeout(...)
)
  ...
(
  dma_free_coherent@p(...)
|
  dma_unmap_single@p(...)
|
  dma_unmap_page@p(...)
|
  dev_kfree_skb_any@p(...)
|
  page_pool_put_full_page@p(...)
)
  ...>
}

@script:python@
p << r.p;
@@
print("%s:%s" % (p[0].file, p[0].line))
