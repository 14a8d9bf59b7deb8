/* check_pool.c - lib/pool.h: alignment and capacity, reuse of freed blocks (no new mapping),
 * splitting a large cached block for a small request (the rest stays cached and serves the next
 * one; the parts rejoin when both are freed), the pages of several cached blocks moved together for a request none of them holds,
 * a cached block grown in place, blocks without reserved address space under RLIMIT_AS, the
 * total limit on live + cached bytes, the cache limit (oldest blocks go first), trim, small blocks through malloc, and many
 * threads allocating and freeing at once (the free list stays consistent: every block is
 * writable and its bytes are its owner's). */
#include <check.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib/pool.h"
#include "tests/test_util.h"

#define MIB ((size_t)1 << 20)

/* A pool block of n bytes, every byte v (fails the test if the pool has none). */
static unsigned char *alloc_filled(size_t n, int v)
{
    unsigned char *p = beaa_pool_alloc(n, NULL);
    ck_assert_ptr_nonnull(p);
    memset(p, v, n);
    return p;
}

/* The bytes of p[0..n) hold v (every 4093rd: one per page and then some). */
static void expect_filled(const unsigned char *p, size_t n, int v)
{
    for (size_t i = 0; i < n; i += 4093) ck_assert_int_eq(p[i], v);
}

START_TEST(test_alloc_reuse)
{
    if (!beaa_pool_enabled()) {
        /* AddressSanitizer / BEAA_POOL_OFF: plain malloc blocks, nothing cached */
        unsigned char *p = beaa_pool_alloc(3 * MIB, NULL);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 64, 0);
        memset(p, 1, 3 * MIB);
        beaa_pool_free(p);
        beaa_pool_stats s;
        beaa_pool_get_stats(&s);
        ck_assert_uint_eq(s.cached_bytes, 0);
        ck_assert_uint_eq(s.os_maps, 0);
        return;
    }
    beaa_pool_trim(0);
    beaa_pool_stats s0, s1;
    beaa_pool_get_stats(&s0);
    int zeroed = -1;
    unsigned char *p = beaa_pool_alloc(3 * MIB + 5, &zeroed);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(zeroed, 1);                  /* fresh from the OS */
    ck_assert_uint_eq((uintptr_t)p % 64, 0);
    ck_assert_uint_ge(beaa_pool_capacity(p), 3 * MIB + 5);
    for (size_t i = 0; i < 3 * MIB + 5; i += 4096) ck_assert_int_eq(p[i], 0);
    memset(p, 0xab, 3 * MIB + 5);
    beaa_pool_free(p);
    unsigned char *q = beaa_pool_alloc(3 * MIB, &zeroed);
    ck_assert_ptr_eq(q, p);                       /* the cached block, not a new mapping */
    ck_assert_int_eq(zeroed, 0);
    beaa_pool_get_stats(&s1);
    ck_assert_uint_eq(s1.os_maps, s0.os_maps + 1);
    ck_assert_uint_eq(s1.reuses, s0.reuses + 1);
    ck_assert_uint_eq(s1.refusals, 0);            /* nothing refused without a limit */
    beaa_pool_free(q);
    beaa_pool_trim(0);
    beaa_pool_get_stats(&s1);
    ck_assert_uint_eq(s1.cached_bytes, 0);
    ck_assert_uint_eq(s1.live_bytes, s0.live_bytes);
}
END_TEST

START_TEST(test_split)
{
    if (!beaa_pool_enabled()) return; /* nothing to split without the cache */
    beaa_pool_trim(0);
    beaa_pool_stats s0, s1;
    unsigned char *big = alloc_filled(12 * MIB, 1);
    beaa_pool_free(big);
    beaa_pool_get_stats(&s0);
    /* a 4 MiB request takes the last part of the 12 MiB block; the first 8 MiB stay cached */
    unsigned char *a = beaa_pool_alloc(4 * MIB, NULL);
    ck_assert(a > big && a + 4 * MIB <= big + 12 * MIB + 2 * 4096);
    ck_assert_uint_lt(beaa_pool_capacity(a), 5 * MIB);
    unsigned char *b = beaa_pool_alloc(7 * MIB, NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert(b >= big && b + 7 * MIB <= a);      /* carved from the same mapping */
    beaa_pool_get_stats(&s1);
    ck_assert_uint_eq(s1.os_maps, s0.os_maps);    /* no new memory from the OS */
    memset(a, 2, 4 * MIB);
    memset(b, 3, 7 * MIB);
    expect_filled(a, 4 * MIB, 2);
    /* the parts rejoin as they come back: b with the cached rest before it, then with a after
     * it; an 11 MiB request is then one cached block (no move, no fresh memory) */
    beaa_pool_free(a);
    beaa_pool_free(b);
    beaa_pool_stats s2;
    beaa_pool_get_stats(&s2);
    ck_assert_uint_eq(s2.merged, s1.merged + 2);
    int zeroed = -1;
    unsigned char *c = beaa_pool_alloc(11 * MIB, &zeroed);
    ck_assert_ptr_nonnull(c);
    ck_assert(c >= big && c + 11 * MIB <= big + 12 * MIB + 2 * 4096);
    ck_assert_int_eq(zeroed, 0);
    expect_filled(c + 11 * MIB - 4 * MIB + 4096, 2 * MIB, 2); /* a's bytes, where a was */
    memset(c, 6, 11 * MIB);
    beaa_pool_stats s3;
    beaa_pool_get_stats(&s3);
    ck_assert_uint_eq(s3.os_maps, s2.os_maps);
    ck_assert_uint_eq(s3.assembled, s2.assembled);
    ck_assert_uint_eq(s3.reuses, s2.reuses + 1);
    beaa_pool_free(c);
    beaa_pool_trim(0);
}
END_TEST

/* A request no cached block holds is assembled from the pages of several cached blocks: no
 * fresh memory, and touching it takes (almost) no page faults. */
START_TEST(test_assemble)
{
    if (!beaa_pool_enabled()) return;
    beaa_pool_trim(0);
    beaa_pool_stats s0, s1;
    unsigned char *p[3];
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(p[i] = beaa_pool_alloc(2 * MIB, NULL));
        memset(p[i], 0x5a, 2 * MIB);
    }
    for (int i = 0; i < 3; i++) beaa_pool_free(p[i]);
    beaa_pool_get_stats(&s0);
    ck_assert_uint_ge(s0.cached_bytes, 6 * MIB);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    int zeroed = -1;
    unsigned char *q = beaa_pool_alloc(5 * MIB, &zeroed);
    ck_assert_ptr_nonnull(q);
    beaa_pool_get_stats(&s1);
    if (s1.assembled == s0.assembled) {
        /* the kernel refused to move the pages: fresh memory, still correct */
        ck_assert_uint_eq(s1.os_maps, s0.os_maps + 1);
    } else {
        ck_assert_uint_eq(s1.assembled, s0.assembled + 1);
        /* the largest cached block (2 MiB) grew in place; the other 3 MiB moved in behind it */
        ck_assert_uint_eq(s1.grown, s0.grown + 1);
        ck_assert_uint_ge(s1.moved_bytes - s0.moved_bytes, 3 * MIB);
        ck_assert_uint_lt(s1.moved_bytes - s0.moved_bytes, 4 * MIB);
        ck_assert_uint_eq(s1.os_maps, s0.os_maps);   /* every page came from the cache */
        ck_assert_int_eq(zeroed, 0);
        ck_assert_uint_lt(s1.cached_bytes, s0.cached_bytes); /* taken from the cache */
    }
    memset(q, 0x33, 5 * MIB);
    getrusage(RUSAGE_SELF, &r1);
    if (s1.assembled != s0.assembled) ck_assert_int_lt(r1.ru_minflt - r0.ru_minflt, 64);
    expect_filled(q, 5 * MIB, 0x33);
    /* freed and asked for again at another size: served from the cache, contents its own */
    beaa_pool_free(q);
    unsigned char *r = alloc_filled(3 * MIB, 0x44);
    unsigned char *t = alloc_filled(3 * MIB, 0x55);
    expect_filled(r, 3 * MIB, 0x44);
    beaa_pool_free(r);
    beaa_pool_free(t);
    beaa_pool_trim(0);
    beaa_pool_get_stats(&s1);
    ck_assert_uint_eq(s1.cached_bytes, 0);
}
END_TEST

/* One cached block and a larger request: the block grows in place (its pages stay, no move);
 * only the difference is fresh memory. */
START_TEST(test_grow)
{
    if (!beaa_pool_enabled()) return;
    beaa_pool_trim(0);
    unsigned char *p = alloc_filled(2 * MIB, 0x5a);
    beaa_pool_free(p);
    beaa_pool_stats s0, s1;
    beaa_pool_get_stats(&s0);
    int zeroed = -1;
    unsigned char *q = beaa_pool_alloc(7 * MIB, &zeroed);
    ck_assert_ptr_nonnull(q);
    beaa_pool_get_stats(&s1);
    ck_assert_ptr_eq(q, p);                          /* same place: grown, not moved */
    ck_assert_int_eq(zeroed, 0);
    ck_assert_uint_eq(s1.grown, s0.grown + 1);
    ck_assert_uint_eq(s1.moved_bytes, s0.moved_bytes);
    ck_assert_uint_eq(s1.os_maps, s0.os_maps + 1);   /* the other 5 MiB are fresh */
    ck_assert_uint_eq(s1.cached_bytes, 0);
    ck_assert_uint_ge(beaa_pool_capacity(q), 7 * MIB);
    expect_filled(q, 2 * MIB, 0x5a);
    memset(q, 0x33, 7 * MIB);
    /* split again by a smaller request: the tail keeps the address space behind the block */
    beaa_pool_free(q);
    unsigned char *r = beaa_pool_alloc(2 * MIB, NULL), *t = beaa_pool_alloc(4 * MIB, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(t);
    memset(r, 0x44, 2 * MIB);
    memset(t, 0x55, 4 * MIB);
    beaa_pool_free(t);
    unsigned char *u = alloc_filled(9 * MIB, 0x66);
    expect_filled(r, 2 * MIB, 0x44);
    beaa_pool_free(r);
    beaa_pool_free(u);
    beaa_pool_trim(0);
    beaa_pool_get_stats(&s1);
    ck_assert_uint_eq(s1.cached_bytes, 0);
    ck_assert_uint_eq(s1.live_bytes, 0);
}
END_TEST

/* Under an address-space limit (which counts reserved address space), blocks are mapped without
 * reservations behind them: a limit that the blocks' memory fits is enough (in a child process,
 * so that the limit stays there). */
START_TEST(test_rlimit_as)
{
    if (!beaa_pool_enabled()) return;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        unsigned long vm = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%lu", &vm) != 1) _exit(2);
        fclose(f);
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)vm * (rlim_t)sysconf(_SC_PAGESIZE) + 48 * MIB;
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
        unsigned char *p[5];
        for (int i = 0; i < 5; i++) {
            /* 30 MiB live in all: with 8 MiB reserved behind each, 5 blocks would not fit */
            if (!(p[i] = beaa_pool_alloc(6 * MIB, NULL))) _exit(4);
            memset(p[i], i + 1, 6 * MIB);
        }
        for (int i = 0; i < 5; i++)
            for (size_t k = 0; k < 6 * MIB; k += 4093)
                if (p[i][k] != i + 1) _exit(5);
        for (int i = 0; i < 5; i++) beaa_pool_free(p[i]);
        /* a larger request from the cached blocks, none of which can grow */
        unsigned char *q = beaa_pool_alloc(9 * MIB, NULL);
        if (!q) _exit(6);
        memset(q, 7, 9 * MIB);
        beaa_pool_free(q);
        /* more than the limit leaves: refused (NULL), nothing else unmapped (a page of ours at a
         * low address, where a failed mapping's address would wrap to), the pool usable */
        unsigned char *low = mmap((void *)(16 * MIB), 4096, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (low != MAP_FAILED) low[0] = 42;
        beaa_pool_stats s0, s1;
        beaa_pool_get_stats(&s0);
        if (beaa_pool_alloc(256 * MIB, NULL)) _exit(7);
        if (low != MAP_FAILED && low[0] != 42) _exit(9);
        /* counted as refused by the kernel (what the tools' out-of-memory hint reads) */
        beaa_pool_get_stats(&s1);
        if (s1.refusals <= s0.refusals) _exit(10);
        q = beaa_pool_alloc(6 * MIB, NULL);
        if (!q) _exit(8);
        memset(q, 9, 6 * MIB);
        beaa_pool_free(q);
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* The total limit: live and cached blocks together; freed blocks beyond it go back to the OS,
 * the oldest first, and the cache refills as live blocks go. */
START_TEST(test_total_limit)
{
    if (!beaa_pool_enabled()) return;
    beaa_pool_trim(0);
    beaa_pool_stats s;
    beaa_pool_get_stats(&s);
    const size_t live0 = s.live_bytes;
    beaa_pool_set_total_limit(live0 + 5 * MIB);
    unsigned char *p[3];
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(p[i] = beaa_pool_alloc(2 * MIB, NULL)); /* live blocks: never refused */
        memset(p[i], i + 1, 2 * MIB);
    }
    beaa_pool_free(p[0]); /* 4 MiB live + 2 cached > 5: back to the OS */
    beaa_pool_get_stats(&s);
    ck_assert_uint_eq(s.cached_bytes, 0);
    beaa_pool_free(p[1]); /* 2 live + 2 cached: kept */
    beaa_pool_get_stats(&s);
    ck_assert_uint_ge(s.cached_bytes, 2 * MIB);
    beaa_pool_free(p[2]);
    beaa_pool_get_stats(&s);
    ck_assert_uint_ge(s.cached_bytes, 4 * MIB);
    ck_assert_uint_le(s.cached_bytes + s.live_bytes, live0 + 5 * MIB);
    /* lowering the bound trims at once */
    beaa_pool_set_total_limit(live0 + 3 * MIB);
    beaa_pool_get_stats(&s);
    ck_assert_uint_le(s.cached_bytes + s.live_bytes, live0 + 3 * MIB);
    /* a fresh block that goes over: the cache gives way */
    unsigned char *q = alloc_filled(7 * MIB, 9);
    beaa_pool_get_stats(&s);
    ck_assert_uint_eq(s.cached_bytes, 0);
    beaa_pool_free(q);
    beaa_pool_set_total_limit(SIZE_MAX);
    beaa_pool_trim(0);
}
END_TEST

START_TEST(test_limit_and_small)
{
    beaa_pool_trim(0);
    beaa_pool_set_limit(5 * MIB);
    unsigned char *p[3];
    for (int i = 0; i < 3; i++) ck_assert_ptr_nonnull(p[i] = beaa_pool_alloc(2 * MIB, NULL));
    for (int i = 0; i < 3; i++) beaa_pool_free(p[i]);
    beaa_pool_stats s;
    beaa_pool_get_stats(&s);
    ck_assert_uint_le(s.cached_bytes, 5 * MIB);   /* the oldest went back to the OS */
    if (beaa_pool_enabled()) {
        ck_assert_uint_ge(s.cached_bytes, 2 * MIB);
        /* the newest block is the one kept first */
        unsigned char *r = beaa_pool_alloc(2 * MIB, NULL);
        ck_assert(r == p[2] || r == p[1]);
        beaa_pool_free(r);
    }
    beaa_pool_set_limit((size_t)1 << 30);
    beaa_pool_trim(0);
    /* small blocks: malloc, 64-byte aligned, not counted */
    beaa_pool_get_stats(&s);
    unsigned char *m = beaa_pool_alloc(1000, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq((uintptr_t)m % 64, 0);
    ck_assert_uint_ge(beaa_pool_capacity(m), 1000);
    memset(m, 7, 1000);
    beaa_pool_stats s2;
    beaa_pool_get_stats(&s2);
    ck_assert_uint_eq(s2.os_maps, s.os_maps);
    beaa_pool_free(m);
    beaa_pool_free(NULL);
    ck_assert_ptr_null(beaa_pool_alloc(0, NULL));
}
END_TEST

START_TEST(test_threads)
{
    int bad = 0;
#pragma omp parallel num_threads(4) reduction(+ : bad)
    {
        uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(1 + omp_get_thread_num());
        unsigned char *held[4] = { 0 };
        size_t sz[4] = { 0 };
        for (int it = 0; it < 400; it++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            int k = (int)(x % 4);
            if (held[k]) {
                for (size_t i = 0; i < sz[k]; i += 65536) bad += held[k][i] != (unsigned char)(k + 1);
                beaa_pool_free(held[k]);
                held[k] = NULL;
            } else {
                sz[k] = MIB + (x >> 20) % (3 * MIB);
                held[k] = beaa_pool_alloc(sz[k], NULL);
                if (!held[k]) { bad++; continue; }
                memset(held[k], k + 1, sz[k]);
            }
        }
        for (int k = 0; k < 4; k++) beaa_pool_free(held[k]);
    }
    ck_assert_int_eq(bad, 0);
    beaa_pool_stats s;
    beaa_pool_get_stats(&s);
    ck_assert_uint_eq(s.live_bytes, 0);
    beaa_pool_trim(0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_add_test(tc, test_alloc_reuse);
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_assemble);
    tcase_add_test(tc, test_grow);
    tcase_add_test(tc, test_rlimit_as);
    tcase_add_test(tc, test_total_limit);
    tcase_add_test(tc, test_limit_and_small);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 1);
}
