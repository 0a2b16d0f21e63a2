// glibc functions Swift's Glibc module leaves out: the allocator's settings (mallopt) and
// memmem (declared by string.h only under _GNU_SOURCE).
#include <malloc.h>
#include <stddef.h>

void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
