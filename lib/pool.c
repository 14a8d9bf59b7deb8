/* pool.c - the large-block pool (see pool.h). Every block starts with a 64-byte header (magic,
 * capacity, the mapping it lives in); the caller's pointer is just after it, so it stays 64-byte
 * aligned. Large blocks are mmap()ed at a 2 MiB boundary, so that transparent huge pages can back
 * them where the system hands them out freely; they are requested only on demand (want_huge). */
#include "lib/pool.h"
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define HDR 64
#define MAGIC_MAP 0x626561612d6d6170ull   /* "beaa-map" */
#define MAGIC_MALLOC 0x626561612d6d6c63ull /* "beaa-mlc" */
#define HUGE_ALIGN ((size_t)2 << 20)

typedef struct hdr {
    uint64_t magic;
    size_t cap;       /* usable bytes after the header */
    void *base;       /* start of the mapping (or of the malloc block) */
    size_t len;       /* bytes mapped (0: malloc) */
    size_t resv;      /* address space owned from base (>= len; past len: PROT_NONE) */
    uint32_t single;  /* 1: one kernel mapping (VMA); 0: assembled from moved pieces */
} hdr;

/* A free-list entry repeats the header fields the searches compare: the headers lie in the
 * cached blocks themselves, one page (and TLB entry) each, and reading them made every search
 * a chain of cache misses (1.4% of the main job's time went to the best-fit scan). */
typedef struct freeblk {
    hdr *h;
    size_t cap, len, resv, off; /* h's fields; off: the header's offset into its mapping */
    uint32_t single;
} freeblk;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static freeblk *freelist;
static size_t nfree, capfree;
static size_t limit = (size_t)2 << 30;
static size_t total_limit = SIZE_MAX;
static beaa_pool_stats st;

static hdr *hdr_of(const void *p) { return (hdr *)((unsigned char *)p - HDR); }

/* Entry i of the free list becomes h (the caller holds mu; the list has room for i). */
static void free_set(size_t i, hdr *h)
{
    freelist[i].h = h;
    freelist[i].cap = h->cap;
    freelist[i].len = h->len;
    freelist[i].resv = h->resv;
    freelist[i].off = (size_t)((unsigned char *)h - (unsigned char *)h->base);
    freelist[i].single = h->single;
}

/* Under AddressSanitizer, or with BEAA_POOL_OFF=1 in the environment (Valgrind runs), every
 * block goes through malloc and free: the tools then see each block's bounds and lifetime
 * (mapped and reused blocks would hide overflows and reads of stale data). */
#if defined(__SANITIZE_ADDRESS__)
#define POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif
#ifndef POOL_ASAN
#define POOL_ASAN 0
#endif
static int pool_off(void)
{
    static int off = -1;
    if (off < 0) {
        const char *e = getenv("BEAA_POOL_OFF");
        off = POOL_ASAN || (e && *e && strcmp(e, "0") != 0);
    }
    return off;
}

/* Transparent huge pages only when BEAA_POOL_HUGEPAGES=1. Requesting them (MADV_HUGEPAGE) makes
 * the kernel compact memory on the faulting thread whenever no free 2 MiB page is at hand (the
 * usual `defrag=madvise` setting): measured on a 2-core VM, the main job spent 10.4-13.3 s in
 * the kernel with the request and 3.4-3.7 s without, and the client's encryption took 5.5-7.3 s
 * against 2.5-2.8 s. Where huge pages are free for the taking (`enabled=always` with a relaxed
 * defrag setting) the kernel still backs these 2 MiB aligned mappings with them unasked. */
static int want_huge(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("BEAA_POOL_HUGEPAGES");
        on = e && *e && strcmp(e, "0") != 0;
    }
    return on;
}

/* A mapping the kernel refused (the caller does not hold mu). */
static void note_refusal(void)
{
    pthread_mutex_lock(&mu);
    st.refusals++;
    pthread_mutex_unlock(&mu);
}

static void note_peak(void)
{
    if (st.live_bytes + st.cached_bytes > st.peak_bytes) st.peak_bytes = st.live_bytes + st.cached_bytes;
}

/* Cache colouring: blocks start at one of COLORS offsets of COLOR_STEP bytes (a page and a
 * line) into their 2 MiB aligned mapping. Without it, limb i of every ciphertext sits at the
 * same offset in a 2 MiB page, hence in the same L1/L2 cache sets: the linear maps read the same
 * limb of ~150 ciphertexts at once and evicted each other's lines (measured: 30% of lin_dot's
 * time on the first load of each input). */
#define COLORS 32
#define COLOR_STEP (4096 + 64)
static unsigned next_color;

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

static size_t page_size(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    return pg > 0 ? (size_t)pg : 4096;
}

/* Address space reserved behind every mapped block (PROT_NONE: no memory, no commit charge), so
 * that a cached block can grow in place when a larger request finds no block that holds it
 * (assemble): only the missing part is then moved or faulted in, not the whole block. Where the
 * address space is limited (RLIMIT_AS, which counts reservations too), blocks go without. */
#define GROW_RESV ((size_t)8 << 20)

static int reserve_ok(void)
{
    struct rlimit r;
    return getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY;
}

/* A new mapping for a block of at least n usable bytes at colour offset *off, 2 MiB aligned;
 * its pages untouched; up to GROW_RESV of reserved address space behind it. Returns the start
 * (NULL: out of memory or address space), *len the bytes mapped, *resv the bytes owned. */
static unsigned char *map_region(size_t n, size_t *off, size_t *len, size_t *resv)
{
    size_t page = page_size();
    if (n > SIZE_MAX - HDR - 2 * HUGE_ALIGN - GROW_RESV - page - COLORS * COLOR_STEP) return NULL;
    *off = (size_t)(__atomic_fetch_add(&next_color, 1, __ATOMIC_RELAXED) % COLORS) * COLOR_STEP;
    *len = round_up(n + HDR + *off, page);
    *resv = reserve_ok() ? round_up(*len, HUGE_ALIGN) + GROW_RESV : *len;
    size_t want = *resv + HUGE_ALIGN;
    unsigned char *m = mmap(NULL, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED && *resv > *len) {
        *resv = *len;
        want = *len + HUGE_ALIGN;
        m = mmap(NULL, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (m == MAP_FAILED) { /* (without a reservation to drop, the first refusal) */
        note_refusal();
        return NULL;
    }
    /* keep the 2 MiB aligned part, give the rest back */
    unsigned char *start = (unsigned char *)(((uintptr_t)m + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
    if (start > m) munmap(m, (size_t)(start - m));
    size_t tail = (size_t)(m + want - (start + *resv));
    if (tail) munmap(start + *resv, tail);
    if (mprotect(start, *len, PROT_READ | PROT_WRITE) != 0) {
        munmap(start, *resv);
        note_refusal();
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    if (want_huge()) madvise(start, *len, MADV_HUGEPAGE);
#endif
    return start;
}

static hdr *hdr_init(unsigned char *start, size_t off, size_t len, size_t resv, uint32_t single)
{
    hdr *h = (hdr *)(start + off);
    h->magic = MAGIC_MAP;
    h->cap = len - off - HDR;
    h->base = start;
    h->len = len;
    h->resv = resv;
    h->single = single;
    return h;
}

/* Faults in [p, p + n) at once (MADV_POPULATE_WRITE, Linux 5.14): the callers write every byte
 * of a block, and one call costs the kernel 0.30-0.36 s per GiB against 0.49-0.55 s for a fault
 * per page (measured on the build machine's VM). Older kernels refuse: the pages then fault as
 * they are written. */
static void populate(unsigned char *p, size_t n)
{
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
    if (n) (void)madvise(p, n, MADV_POPULATE_WRITE);
}

/* A new mapping of at least n usable bytes, 2 MiB aligned, the block at its colour's offset;
 * its pages from the header's on faulted in. */
static hdr *map_block(size_t n)
{
    size_t off, len, resv;
    unsigned char *start = map_region(n, &off, &len, &resv);
    if (!start) return NULL;
    size_t from = off / page_size() * page_size();
    populate(start + from, len - from);
    return hdr_init(start, off, len, resv, 1);
}

static void unmap_block(hdr *h)
{
    h->magic = 0;
    munmap(h->base, h->resv);
}

/* Removes free-list entry i (the caller holds mu). */
static void free_remove(size_t i)
{
    st.cached_bytes -= freelist[i].cap;
    memmove(&freelist[i], &freelist[i + 1], (nfree - i - 1) * sizeof *freelist);
    nfree--;
}

/* Cached blocks serve requests of any size. When none holds n bytes, the largest cached block
 * whose reserved address space holds the request grows in place (else a new mapping is
 * reserved), and the pages of other cached blocks are moved in behind it (mremap: the page-table
 * entries move, the pages keep their contents and are neither faulted nor zeroed again), the
 * largest first, the last one's tail only if it is larger than what is missing. Memory freed at
 * one ciphertext size thus serves the next stage's, and the pool holds what the pass needs at
 * its peak rather than every stage's working set side by side; growing in place moves only the
 * difference between the sizes. What the cache cannot cover stays fresh pages. Moving a block
 * made of moved pieces (several kernel mappings) needs Linux 6.17; where the kernel refuses,
 * such blocks are not moved again (moves_multi = 0). */
#define MAX_PIECES 64
#define PIECE_MIN ((size_t)64 << 10)
static int moves_multi = 1;

typedef struct piece {
    unsigned char *src;
    size_t len;
    hdr *whole;      /* the block when all of it moves (to give back on failure), else NULL */
    uint32_t single; /* the block it comes from is one kernel mapping */
    unsigned char *rel; /* address space of the source to release after the move */
    size_t rel_len;
} piece;

/* Takes the pieces for [got, len) from the free list, largest blocks first (the caller holds mu).
 * Returns the count. */
static size_t take_pieces(piece *pc, size_t got, size_t len)
{
    size_t page = page_size(), np = 0;
    while (got < len && np < MAX_PIECES) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < nfree; i++) {
            const freeblk *f = &freelist[i];
            if (!f->single && !__atomic_load_n(&moves_multi, __ATOMIC_RELAXED)) continue;
            if (best == SIZE_MAX || f->len > freelist[best].len) best = i;
        }
        if (best == SIZE_MAX) break;
        hdr *f = freelist[best].h;
        size_t need = len - got;
        pc[np].single = f->single;
        /* a block larger than what is missing gives its first pages, keeping 64 KiB, and its
         * header moves behind the piece: the block keeps the address space reserved behind it */
        size_t foff = (size_t)((unsigned char *)f - (unsigned char *)f->base);
        if (f->len > need && f->len - need >= round_up(foff + HDR + PIECE_MIN, page)) {
            pc[np].src = f->base;
            pc[np].len = need;
            pc[np].whole = NULL;
            pc[np].rel_len = 0;
            free_set(best, hdr_init((unsigned char *)f->base + need, foff, f->len - need,
                                    f->resv - need, f->single));
            st.cached_bytes -= need;
        } else {
            free_remove(best);
            pc[np].src = f->base;
            pc[np].len = f->len < need ? f->len : need;
            pc[np].whole = f->len <= need ? f : NULL;
            pc[np].rel = (unsigned char *)f->base + pc[np].len;
            pc[np].rel_len = f->resv - pc[np].len;
            if (!pc[np].whole) {
                /* larger than needed but too small to split: the rest goes back to the OS */
                munmap(pc[np].rel, pc[np].rel_len);
                pc[np].rel_len = 0;
            }
        }
        got += pc[np].len;
        np++;
    }
    return np;
}

static hdr *assemble(size_t n, size_t *moved, size_t *kept)
{
    *moved = *kept = 0;
    size_t page = page_size();
    size_t off = 0, len = 0, resv = 0, got = 0;
    unsigned char *start = NULL;
    uint32_t single = 1;
    pthread_mutex_lock(&mu);
    size_t bi = SIZE_MAX;
    for (size_t i = 0; i < nfree; i++) {
        const freeblk *f = &freelist[i];
        if (f->resv >= round_up(f->off + HDR + n, page) &&
            (bi == SIZE_MAX || f->len > freelist[bi].len))
            bi = i;
    }
    if (bi != SIZE_MAX) {
        /* grow this block in place: its pages stay where they are */
        hdr *f = freelist[bi].h;
        free_remove(bi);
        start = f->base;
        off = (size_t)((unsigned char *)f - start);
        len = round_up(off + HDR + n, page);
        resv = f->resv;
        got = f->len;
        single = f->single;
    } else {
        pthread_mutex_unlock(&mu);
        start = map_region(n, &off, &len, &resv);
        if (!start) return NULL;
        pthread_mutex_lock(&mu);
    }
    piece pc[MAX_PIECES];
    size_t np = take_pieces(pc, got, len);
    pthread_mutex_unlock(&mu);
    size_t at = got, i = 0;
    for (; i < np; i++) {
        void *r = mremap(pc[i].src, pc[i].len, pc[i].len, MREMAP_MAYMOVE | MREMAP_FIXED, start + at);
        if (r == MAP_FAILED) break;
        if (pc[i].rel_len) munmap(pc[i].rel, pc[i].rel_len);
        at += pc[i].len;
    }
    int failed = 0;
    if (i < np) {
        /* refused (an older kernel and a piece of several mappings, or the mapping count): the
         * rest of the block gets fresh pages (a refused move may already have unmapped its
         * target), the pieces not moved go back or to the OS */
        if (!pc[i].single) __atomic_store_n(&moves_multi, 0, __ATOMIC_RELAXED);
        if (errno == ENOMEM) note_refusal();
        failed = mmap(start + at, len - at, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED;
        for (; i < np; i++) {
            if (pc[i].whole) {
                /* back on the free list: counted live for the moment beaa_pool_free uncounts */
                pthread_mutex_lock(&mu);
                st.live_bytes += pc[i].whole->cap;
                pthread_mutex_unlock(&mu);
                beaa_pool_free((unsigned char *)pc[i].whole + HDR);
            } else {
                munmap(pc[i].src, pc[i].len);
                if (pc[i].rel_len) munmap(pc[i].rel, pc[i].rel_len);
            }
        }
    } else if (at < len && got) {
        /* the grown block's reserved address space becomes memory */
        failed = mprotect(start + at, len - at, PROT_READ | PROT_WRITE) != 0;
    }
    if (failed) {
        munmap(start, resv);
        note_refusal();
        return NULL;
    }
    *moved = at - got;
    *kept = got;
    size_t from = at > off / page * page ? at : off / page * page;
    if (from < len) populate(start + from, len - from); /* the part no cached page filled */
    return hdr_init(start, off, len, resv, single && np == 0);
}

void *beaa_pool_alloc(size_t n, int *zeroed)
{
    if (zeroed) *zeroed = 0;
    if (n == 0) return NULL;
    if (n < BEAA_POOL_MIN || pool_off()) {
        if (n > SIZE_MAX - 2 * HDR) return NULL;
        unsigned char *b = aligned_alloc(HDR, (n + 2 * HDR - 1) / HDR * HDR);
        if (!b) return NULL;
        hdr *h = (hdr *)b;
        h->magic = MAGIC_MALLOC;
        h->cap = (n + HDR - 1) / HDR * HDR;
        h->base = b;
        h->len = 0;
        return b + HDR;
    }
    size_t page = page_size();
    pthread_mutex_lock(&mu);
    /* best fit among the cached blocks: the smallest one that holds n; the part beyond n is
     * split off as a block of its own (its pages stay: no fresh zeroed memory either way) */
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < nfree; i++) {
        size_t c = freelist[i].cap;
        if (c >= n && (best == SIZE_MAX || c < freelist[best].cap)) best = i;
    }
    if (best != SIZE_MAX) {
        hdr *h = freelist[best].h;
        free_remove(best);
        size_t off = (size_t)((unsigned char *)h - (unsigned char *)h->base); /* its colour */
        size_t toff = (size_t)(__atomic_fetch_add(&next_color, 1, __ATOMIC_RELAXED) % COLORS) * COLOR_STEP;
        size_t ulen = round_up(toff + HDR + n, page);
        if (h->len > ulen && h->len - ulen >= round_up(off + HDR + PIECE_MIN, page)) {
            /* the caller gets the last part, at a colour of its own, with the address space
             * reserved behind the block (a block freed by its user is what grows best); the
             * first part stays cached */
            hdr *u = hdr_init((unsigned char *)h->base + h->len - ulen, toff, ulen,
                              h->resv - (h->len - ulen), h->single);
            h->len -= ulen;
            h->resv = h->len;
            h->cap = h->len - off - HDR;
            free_set(nfree++, h); /* room: h's slot was just freed */
            st.cached_bytes += h->cap;
            h = u;
        }
        st.live_bytes += h->cap;
        st.reuses++;
        pthread_mutex_unlock(&mu);
        return (unsigned char *)h + HDR;
    }
    int any = nfree > 0;
    pthread_mutex_unlock(&mu);
    size_t moved = 0, kept = 0;
    hdr *h = any ? assemble(n, &moved, &kept) : map_block(n);
    if (!h) {
        /* out of address space or memory: give the cache back and try once more */
        beaa_pool_trim(0);
        h = map_block(n);
        if (!h) return NULL;
        moved = kept = 0;
    }
    pthread_mutex_lock(&mu);
    st.live_bytes += h->cap;
    if (moved || kept) st.assembled++;
    if (kept) st.grown++;
    st.moved_bytes += moved;
    if (moved + kept < h->len) st.os_maps++;
    note_peak();
    size_t keep = st.live_bytes < total_limit ? total_limit - st.live_bytes : 0;
    int over = st.cached_bytes > keep;
    pthread_mutex_unlock(&mu);
    if (over) beaa_pool_trim(keep); /* fresh pages went over the total: cached blocks go back */
    if (zeroed) *zeroed = moved + kept == 0;
    return (unsigned char *)h + HDR;
}

int beaa_pool_enabled(void) { return !pool_off(); }

size_t beaa_pool_capacity(const void *p) { return p ? hdr_of(p)->cap : 0; }

/* A block being cached absorbs the cached blocks right next to it in the address space (the
 * caller holds mu). Splitting leaves the first part of a block cached and hands out the last
 * part, so when that part comes back the two are one block again: no syscall, only headers.
 * Without this, the remnants of splits piled up as small blocks and larger requests were
 * assembled from many of them, one mremap (and a TLB shootdown on the other core) per piece:
 * the main job made 15,000 moves, now 4,500. Only neighbours without reserved address space
 * between them merge (the first one's reservation is its length); the result may span several
 * kernel mappings (single = 0). Returns the block to cache (h or the merged one). */
static hdr *merge_neighbours(hdr *h)
{
    for (int side = 0; side < 2; side++) {
        unsigned char *hb = h->base;
        size_t j = SIZE_MAX;
        for (size_t i = 0; i < nfree && j == SIZE_MAX; i++) {
            const freeblk *f = &freelist[i];
            unsigned char *fb = (unsigned char *)f->h - f->off;
            if ((f->resv == f->len && fb + f->len == hb) || (h->resv == h->len && hb + h->len == fb))
                j = i;
        }
        if (j == SIZE_MAX) break;
        freeblk f = freelist[j];
        free_remove(j);
        unsigned char *fb = (unsigned char *)f.h - f.off;
        if (fb + f.len == hb) { /* f, then h */
            h->magic = 0;
            h = hdr_init(fb, f.off, f.len + h->len, f.len + h->resv, 0);
        } else {                /* h, then f */
            f.h->magic = 0;
            h = hdr_init(hb, (size_t)((unsigned char *)h - hb), h->len + f.len, h->len + f.resv, 0);
        }
        st.merged++;
    }
    return h;
}

void beaa_pool_free(void *p)
{
    if (!p) return;
    hdr *h = hdr_of(p);
    if (h->magic == MAGIC_MALLOC) {
        h->magic = 0;
        free(h->base);
        return;
    }
    if (h->magic != MAGIC_MAP) abort(); /* not a pool block: memory corruption in the caller */
    /* cache it as the newest block; when the cache is over its limit, the oldest blocks go back
     * to the OS (their sizes belong to work that has moved on: the next stage's levels) */
    hdr *drop[16];
    size_t ndrop = 0;
    pthread_mutex_lock(&mu);
    st.live_bytes -= h->cap;
    if (nfree == capfree) {
        size_t nc = capfree ? 2 * capfree : 64;
        freeblk *f = realloc(freelist, nc * sizeof *f);
        if (f) { freelist = f; capfree = nc; }
    }
    if (h->cap <= limit && nfree < capfree) {
        h = merge_neighbours(h); /* frees list entries: room for h stays */
        free_set(nfree++, h);
        st.cached_bytes += h->cap;
        h = NULL;
        while ((st.cached_bytes > limit || st.cached_bytes + st.live_bytes > total_limit) && nfree > 0 &&
               ndrop < sizeof drop / sizeof *drop) {
            drop[ndrop] = freelist[0].h;
            st.cached_bytes -= drop[ndrop++]->cap;
            memmove(&freelist[0], &freelist[1], (nfree - 1) * sizeof *freelist);
            nfree--;
        }
    }
    size_t keep = st.live_bytes < total_limit ? total_limit - st.live_bytes : 0;
    int over = st.cached_bytes > keep;
    pthread_mutex_unlock(&mu);
    if (h) unmap_block(h);
    for (size_t i = 0; i < ndrop; i++) unmap_block(drop[i]);
    if (over) beaa_pool_trim(keep); /* more to give back than one call drops */
}

void beaa_pool_trim(size_t keep)
{
    for (;;) {
        pthread_mutex_lock(&mu);
        if (st.cached_bytes <= keep || nfree == 0) {
            pthread_mutex_unlock(&mu);
            return;
        }
        /* oldest first */
        hdr *h = freelist[0].h;
        memmove(&freelist[0], &freelist[1], (nfree - 1) * sizeof *freelist);
        nfree--;
        st.cached_bytes -= h->cap;
        pthread_mutex_unlock(&mu);
        unmap_block(h);
    }
}

void beaa_pool_set_limit(size_t bytes)
{
    pthread_mutex_lock(&mu);
    limit = bytes;
    pthread_mutex_unlock(&mu);
    beaa_pool_trim(bytes);
}

void beaa_pool_set_total_limit(size_t bytes)
{
    pthread_mutex_lock(&mu);
    total_limit = bytes;
    size_t keep = st.live_bytes < bytes ? bytes - st.live_bytes : 0;
    pthread_mutex_unlock(&mu);
    beaa_pool_trim(keep);
}

void beaa_pool_get_stats(beaa_pool_stats *s)
{
    pthread_mutex_lock(&mu);
    *s = st;
    pthread_mutex_unlock(&mu);
}
