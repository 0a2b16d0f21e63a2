#if canImport(CLibc)
import CLibc
#endif

/// Asks the C allocator to keep the memory a scanning process frees, for the process's next use.
///
/// A scan allocates and frees in waves: the kept summaries decoded, each evidence pass's
/// bookkeeping, each translation unit a worker parses and disposes. glibc's defaults give the top
/// of the heap back to the kernel once 128 KiB of it is free, and serve large blocks with mappings
/// of their own; each wave then faults fresh pages in, which the kernel zeroes first. On a virtual
/// machine that zeroing can be slow: a sixth of a warm whole-tree rescan's samples were
/// `clear_page_erms` under `_int_malloc`. A process's peak stays where its largest wave puts it;
/// what changes is that memory is not given back between waves, only at exit.
public enum HeapTuning {
    public static func keepFreedMemory() {
        #if canImport(CLibc)
        // Never trim the heap's top; grow it 64 MiB at a time; map on their own only blocks of
        // 32 MiB or more (glibc's ceiling for this setting), so that large buffers are reused too.
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
        _ = mallopt(M_TOP_PAD, 64 << 20)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        #endif
    }
}
