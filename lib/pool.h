/* pool.h - reuse of large memory blocks (the limbs of ciphertexts and plaintexts).
 * Encrypted inference allocates and frees thousands of multi-megabyte blocks. Memory that comes
 * fresh from the OS costs a page fault per 4 KiB page and the kernel zeroes every page first:
 * 15-20% of the main job's time before this pool, with a quarter of its CPU time in the kernel.
 * Blocks of BEAA_POOL_MIN bytes or more are mapped directly (2 MiB aligned; transparent huge
 * pages requested only with BEAA_POOL_HUGEPAGES=1: pool.c says why), kept on a free list when
 * freed, and handed out again: best fit, a block larger than the request split and the rest
 * kept (the parts rejoin when both are cached again); when no cached block holds the request, the largest one that can grows in place into
 * the address space reserved behind it and the pages of others are moved in (mremap), so memory
 * freed at one size serves requests of any other size without the kernel faulting and zeroing
 * it again. The cached bytes are bounded (beaa_pool_set_limit: the oldest blocks go back to the
 * OS first) and returned by beaa_pool_trim. Smaller blocks go to malloc, and so does everything under AddressSanitizer or with BEAA_POOL_OFF=1 set
 * (Valgrind), so that those tools see every block's bounds and lifetime. Thread-safe. */
#ifndef BEAA_POOL_H
#define BEAA_POOL_H
#include <stddef.h>

#define BEAA_POOL_MIN ((size_t)1 << 20)

/* A 64-byte aligned block of at least n bytes. Its contents are zero when *zeroed is set to 1 on
 * return (fresh memory from the OS), unspecified otherwise (zeroed may be NULL: unspecified).
 * NULL when n == 0 or out of memory. */
void *beaa_pool_alloc(size_t n, int *zeroed);
/* Gives a block back (NULL allowed): cached for reuse while the cache is under its limit,
 * returned to the OS otherwise. The caller wipes secrets first. */
void beaa_pool_free(void *p);
/* 1 when large blocks are mapped and cached; 0 under AddressSanitizer or BEAA_POOL_OFF=1. */
int beaa_pool_enabled(void);
/* Usable bytes of a block from beaa_pool_alloc (>= the size asked for). */
size_t beaa_pool_capacity(const void *p);
/* Returns cached blocks to the OS until at most `keep` bytes stay cached. */
void beaa_pool_trim(size_t keep);
/* Most bytes the free list may hold (default 2 GiB); lowering it trims at once. */
void beaa_pool_set_limit(size_t bytes);
/* Most bytes the pool may hold from the OS, live blocks and cached ones together (default
 * SIZE_MAX: no such bound): cached blocks go back to the OS, oldest first, whenever live +
 * cached would exceed it, so the cache fills whatever the live blocks leave of the bound
 * instead of a fixed share. Live blocks are never refused for it (the caller's plan bounds
 * them); lowering it trims at once. */
void beaa_pool_set_total_limit(size_t bytes);

typedef struct beaa_pool_stats {
    size_t live_bytes;      /* in blocks handed out (capacity, large blocks only) */
    size_t cached_bytes;    /* in blocks on the free list */
    size_t peak_bytes;      /* largest live + cached so far (what the pool holds from the OS) */
    size_t os_maps;         /* blocks that took fresh pages from the OS (all or some of them) */
    size_t reuses;          /* requests served by one cached block */
    size_t assembled;       /* requests served by cached pages when no cached block held them */
    size_t grown;           /* of those, by growing a cached block in place */
    size_t moved_bytes;     /* bytes of cached blocks moved into another's place so */
    size_t merged;          /* cached blocks absorbed by a neighbour in the address space as
                             * it was freed (the two parts of a split block, rejoined) */
    size_t refusals;        /* mappings the kernel refused (ENOMEM from mmap, mprotect or mremap:
                             * the address-space limit, or the count of mappings a process may
                             * hold, vm.max_map_count); a request that then fails returns NULL */
} beaa_pool_stats;
void beaa_pool_get_stats(beaa_pool_stats *s);

#endif
