/* rng.c - OS entropy (getrandom, /dev/urandom fallback) and the seeded XOF of rng.h:
 * SHAKE256 written from the Keccak-f[1600] specification (FIPS 202, sections 3 and 6.2).
 * The XOF input is seed (32 bytes) || domain (8 bytes, little endian) with SHAKE padding. */
#include "lib/rng.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<sys/random.h>)
#include <sys/random.h>
#define BEAA_HAVE_GETRANDOM_WRAPPER 1
#endif
#endif
#if !defined(BEAA_HAVE_GETRANDOM_WRAPPER) && defined(__linux__)
#include <sys/syscall.h>
#endif

/* ---------------------------------------------------------------- OS entropy */

/* getrandom(2): the libc wrapper where the headers have it (glibc >= 2.25; sanitizers such as
 * MSan know that it fills the buffer), else the raw system call; -1 with errno = ENOSYS when the
 * kernel or platform lacks it. */
static long beaa_sys_getrandom(void *buf, size_t n)
{
#if defined(BEAA_HAVE_GETRANDOM_WRAPPER)
    return (long)getrandom(buf, n, 0);
#elif defined(__linux__) && defined(SYS_getrandom)
    return syscall(SYS_getrandom, buf, n, 0);
#else
    (void)buf; (void)n;
    errno = ENOSYS;
    return -1;
#endif
}

static beaa_status beaa_urandom_fill(unsigned char *p, size_t n)
{
    int fd;
    do {
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return BEAA_ERR_ENTROPY;
    while (n > 0) {
        ssize_t r = read(fd, p, n > 65536 ? 65536 : n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { close(fd); return BEAA_ERR_ENTROPY; }
        p += (size_t)r;
        n -= (size_t)r;
    }
    close(fd);
    return BEAA_OK;
}

/* ---------------------------------------------------------------- reproducible mode */

static uint8_t g_repro_seed[BEAA_SEED_BYTES];
static int g_repro_on;
static _Thread_local beaa_rng_stream_state t_pos;

beaa_status beaa_rng_set_insecure_seed(const uint8_t seed[BEAA_SEED_BYTES])
{
    if (!seed) {
        beaa_memzero(g_repro_seed, sizeof g_repro_seed);
        g_repro_on = 0;
        return BEAA_OK;
    }
    memcpy(g_repro_seed, seed, sizeof g_repro_seed);
    g_repro_on = 1;
    t_pos.stream = 0;
    t_pos.draw = 0;
    return BEAA_OK;
}

int beaa_rng_is_seeded(void)
{
    return g_repro_on;
}

static void put_u64_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* out = SHAKE256("beaa-repro" || seed || stream || draw), then the draw counter advances. */
static void repro_fill(void *out, size_t n)
{
    static const char tag[] = "beaa-repro";
    uint8_t pos[16];
    put_u64_le(pos, t_pos.stream);
    put_u64_le(pos + 8, t_pos.draw);
    t_pos.draw++;
    beaa_xof x;
    beaa_shake256_init(&x);
    beaa_shake256_absorb(&x, tag, sizeof tag - 1);
    beaa_shake256_absorb(&x, g_repro_seed, sizeof g_repro_seed);
    beaa_shake256_absorb(&x, pos, sizeof pos);
    beaa_shake256_final(&x);
    beaa_xof_read(&x, out, n);
    beaa_xof_wipe(&x);
}

uint64_t beaa_rng_fork(void)
{
    if (!g_repro_on) return 0;
    uint64_t base;
    repro_fill(&base, sizeof base);
    return base;
}

void beaa_rng_stream_enter(uint64_t base, uint64_t index, beaa_rng_stream_state *saved)
{
    if (saved) *saved = t_pos;
    if (!g_repro_on) return;
    /* stream id: a 64-bit hash of (base, index); splitmix64's finalizer keeps ids distinct */
    uint64_t z = base + 0x9e3779b97f4a7c15ULL * (index + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    t_pos.stream = z ^ (z >> 31);
    t_pos.draw = 0;
}

void beaa_rng_stream_leave(const beaa_rng_stream_state *saved)
{
    if (saved) t_pos = *saved;
}

beaa_status beaa_os_random(void *buf, size_t n)
{
    if (n == 0) return BEAA_OK;
    if (!buf) return BEAA_ERR_ARG;
    if (g_repro_on) {
        repro_fill(buf, n);
        return BEAA_OK;
    }
    unsigned char *p = (unsigned char *)buf;
    while (n > 0) {
        /* getrandom returns at most 33554431 bytes per call; ask in modest chunks. */
        size_t want = n > 65536 ? 65536 : n;
        long r = beaa_sys_getrandom(p, want);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOSYS) return beaa_urandom_fill(p, n);
            return BEAA_ERR_ENTROPY;
        }
        if (r == 0) return BEAA_ERR_ENTROPY; /* never expected; avoid an endless loop */
        p += (size_t)r;
        n -= (size_t)r;
    }
    return BEAA_OK;
}

/* ---------------------------------------------------------------- Keccak-f[1600] */

#define BEAA_SHAKE256_RATE 136 /* bytes: (1600 - 2*256) / 8 */

/* Round constants RC[i] (FIPS 202, Algorithm 5/6), computed once from the LFSR would also be
 * possible; they are listed here and checked by the test vectors. */
const uint64_t beaa_keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

static inline uint64_t rotl64(uint64_t v, unsigned r)
{
    return r == 0 ? v : (v << r) | (v >> (64 - r));
}

/* One application of Keccak-f[1600] to the state A (lane (x,y) is A[x + 5y]), FIPS 202
 * Algorithm 7, written out lane by lane so the lanes live in registers (a loop version with index
 * arithmetic ran ~10x slower here). Per round: theta (c = column parities, d[x] = c[x-1] ^
 * rot(c[x+1], 1)), then for each output row y' the five rho+pi inputs
 * b[x'] = rot(A[x, y] ^ d[x], r[x, y]) with x' = y, y' = 2x + 3y, then chi along the row, iota.
 * Two rounds per iteration (A -> E -> A) avoid copies. The rho offsets r[x + 5y] are
 * 0 1 62 28 27 / 36 44 6 55 20 / 3 10 43 25 39 / 41 45 15 21 8 / 18 2 61 56 14.
 * Lane complementing (Bertoni et al., "Keccak implementation overview", 2.2): lanes 1, 2, 8, 12,
 * 17, 20 are kept complemented inside the permutation, which turns chi's five NOTs per row into
 * at most one (the ~ and |/& pattern of each row below); they are complemented on entry and exit.
 * Checked by the FIPS 202 / hashlib vectors in tests/check_rng.c. */
static void keccak_f1600(uint64_t A[25])
{
    uint64_t a0 = A[0], a1 = ~A[1], a2 = ~A[2], a3 = A[3], a4 = A[4], a5 = A[5], a6 = A[6], a7 =
             A[7], a8 = ~A[8], a9 = A[9], a10 = A[10], a11 = A[11], a12 = ~A[12], a13 = A[13], a14 =
             A[14], a15 = A[15], a16 = A[16], a17 = ~A[17], a18 = A[18], a19 = A[19], a20 = ~A[20],
             a21 = A[21], a22 = A[22], a23 = A[23], a24 = A[24];
    uint64_t e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17, e18,
             e19, e20, e21, e22, e23, e24;
    uint64_t c0, c1, c2, c3, c4, d0, d1, d2, d3, d4, b0, b1, b2, b3, b4;
    for (int round = 0; round < 24; round += 2) {
        /* round: A -> E */
        c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
        c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
        c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
        c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
        c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
        d0 = c4 ^ rotl64(c1, 1);
        d1 = c0 ^ rotl64(c2, 1);
        d2 = c1 ^ rotl64(c3, 1);
        d3 = c2 ^ rotl64(c4, 1);
        d4 = c3 ^ rotl64(c0, 1);
        b0 = rotl64(a0 ^ d0, 0);
        b1 = rotl64(a6 ^ d1, 44);
        b2 = rotl64(a12 ^ d2, 43);
        b3 = rotl64(a18 ^ d3, 21);
        b4 = rotl64(a24 ^ d4, 14);
        e0 = b0 ^ (b1 | b2);
        e1 = b1 ^ (~b2 | b3);
        e2 = b2 ^ (b3 & b4);
        e3 = b3 ^ (b4 | b0);
        e4 = b4 ^ (b0 & b1);
        b0 = rotl64(a3 ^ d3, 28);
        b1 = rotl64(a9 ^ d4, 20);
        b2 = rotl64(a10 ^ d0, 3);
        b3 = rotl64(a16 ^ d1, 45);
        b4 = rotl64(a22 ^ d2, 61);
        e5 = b0 ^ (b1 | b2);
        e6 = b1 ^ (b2 & b3);
        e7 = b2 ^ (b3 | ~b4);
        e8 = b3 ^ (b4 | b0);
        e9 = b4 ^ (b0 & b1);
        b0 = rotl64(a1 ^ d1, 1);
        b1 = rotl64(a7 ^ d2, 6);
        b2 = rotl64(a13 ^ d3, 25);
        b3 = rotl64(a19 ^ d4, 8);
        b4 = rotl64(a20 ^ d0, 18);
        e10 = b0 ^ (b1 | b2);
        e11 = b1 ^ (b2 & b3);
        e12 = b2 ^ (~b3 & b4);
        e13 = ~b3 ^ (b4 | b0);
        e14 = b4 ^ (b0 & b1);
        b0 = rotl64(a4 ^ d4, 27);
        b1 = rotl64(a5 ^ d0, 36);
        b2 = rotl64(a11 ^ d1, 10);
        b3 = rotl64(a17 ^ d2, 15);
        b4 = rotl64(a23 ^ d3, 56);
        e15 = b0 ^ (b1 & b2);
        e16 = b1 ^ (b2 | b3);
        e17 = b2 ^ (~b3 | b4);
        e18 = ~b3 ^ (b4 & b0);
        e19 = b4 ^ (b0 | b1);
        b0 = rotl64(a2 ^ d2, 62);
        b1 = rotl64(a8 ^ d3, 55);
        b2 = rotl64(a14 ^ d4, 39);
        b3 = rotl64(a15 ^ d0, 41);
        b4 = rotl64(a21 ^ d1, 2);
        e20 = b0 ^ (~b1 & b2);
        e21 = ~b1 ^ (b2 | b3);
        e22 = b2 ^ (b3 & b4);
        e23 = b3 ^ (b4 | b0);
        e24 = b4 ^ (b0 & b1);
        e0 ^= beaa_keccak_rc[round];
        /* round: E -> A */
        c0 = e0 ^ e5 ^ e10 ^ e15 ^ e20;
        c1 = e1 ^ e6 ^ e11 ^ e16 ^ e21;
        c2 = e2 ^ e7 ^ e12 ^ e17 ^ e22;
        c3 = e3 ^ e8 ^ e13 ^ e18 ^ e23;
        c4 = e4 ^ e9 ^ e14 ^ e19 ^ e24;
        d0 = c4 ^ rotl64(c1, 1);
        d1 = c0 ^ rotl64(c2, 1);
        d2 = c1 ^ rotl64(c3, 1);
        d3 = c2 ^ rotl64(c4, 1);
        d4 = c3 ^ rotl64(c0, 1);
        b0 = rotl64(e0 ^ d0, 0);
        b1 = rotl64(e6 ^ d1, 44);
        b2 = rotl64(e12 ^ d2, 43);
        b3 = rotl64(e18 ^ d3, 21);
        b4 = rotl64(e24 ^ d4, 14);
        a0 = b0 ^ (b1 | b2);
        a1 = b1 ^ (~b2 | b3);
        a2 = b2 ^ (b3 & b4);
        a3 = b3 ^ (b4 | b0);
        a4 = b4 ^ (b0 & b1);
        b0 = rotl64(e3 ^ d3, 28);
        b1 = rotl64(e9 ^ d4, 20);
        b2 = rotl64(e10 ^ d0, 3);
        b3 = rotl64(e16 ^ d1, 45);
        b4 = rotl64(e22 ^ d2, 61);
        a5 = b0 ^ (b1 | b2);
        a6 = b1 ^ (b2 & b3);
        a7 = b2 ^ (b3 | ~b4);
        a8 = b3 ^ (b4 | b0);
        a9 = b4 ^ (b0 & b1);
        b0 = rotl64(e1 ^ d1, 1);
        b1 = rotl64(e7 ^ d2, 6);
        b2 = rotl64(e13 ^ d3, 25);
        b3 = rotl64(e19 ^ d4, 8);
        b4 = rotl64(e20 ^ d0, 18);
        a10 = b0 ^ (b1 | b2);
        a11 = b1 ^ (b2 & b3);
        a12 = b2 ^ (~b3 & b4);
        a13 = ~b3 ^ (b4 | b0);
        a14 = b4 ^ (b0 & b1);
        b0 = rotl64(e4 ^ d4, 27);
        b1 = rotl64(e5 ^ d0, 36);
        b2 = rotl64(e11 ^ d1, 10);
        b3 = rotl64(e17 ^ d2, 15);
        b4 = rotl64(e23 ^ d3, 56);
        a15 = b0 ^ (b1 & b2);
        a16 = b1 ^ (b2 | b3);
        a17 = b2 ^ (~b3 | b4);
        a18 = ~b3 ^ (b4 & b0);
        a19 = b4 ^ (b0 | b1);
        b0 = rotl64(e2 ^ d2, 62);
        b1 = rotl64(e8 ^ d3, 55);
        b2 = rotl64(e14 ^ d4, 39);
        b3 = rotl64(e15 ^ d0, 41);
        b4 = rotl64(e21 ^ d1, 2);
        a20 = b0 ^ (~b1 & b2);
        a21 = ~b1 ^ (b2 | b3);
        a22 = b2 ^ (b3 & b4);
        a23 = b3 ^ (b4 | b0);
        a24 = b4 ^ (b0 & b1);
        a0 ^= beaa_keccak_rc[round + 1];
    }
    A[0] = a0;
    A[1] = ~a1;
    A[2] = ~a2;
    A[3] = a3;
    A[4] = a4;
    A[5] = a5;
    A[6] = a6;
    A[7] = a7;
    A[8] = ~a8;
    A[9] = a9;
    A[10] = a10;
    A[11] = a11;
    A[12] = ~a12;
    A[13] = a13;
    A[14] = a14;
    A[15] = a15;
    A[16] = a16;
    A[17] = ~a17;
    A[18] = a18;
    A[19] = a19;
    A[20] = ~a20;
    A[21] = a21;
    A[22] = a22;
    A[23] = a23;
    A[24] = a24;
}

static inline uint64_t load64_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline void store64_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Squeezes the next rate-sized block into x->buf (permutation first, per the sponge). */
static void xof_squeeze_block(beaa_xof *x)
{
    keccak_f1600(x->st);
    for (int i = 0; i < BEAA_SHAKE256_RATE / 8; i++)
        store64_le(x->buf + 8 * i, x->st[i]);
    x->pos = 0;
}

/* Absorbing phase: x->buf collects input bytes, x->pos counts them (< rate); a full block is
 * XORed into the state and permuted. */
void beaa_shake256_init(beaa_xof *x)
{
    memset(x->st, 0, sizeof x->st);
    memset(x->buf, 0, sizeof x->buf);
    x->pos = 0;
}

static void xof_absorb_block(beaa_xof *x)
{
    for (int i = 0; i < BEAA_SHAKE256_RATE / 8; i++)
        x->st[i] ^= load64_le(x->buf + 8 * i);
    keccak_f1600(x->st);
    x->pos = 0;
}

void beaa_shake256_absorb(beaa_xof *x, const void *in, size_t n)
{
    const uint8_t *p = (const uint8_t *)in;
    while (n > 0) {
        size_t take = BEAA_SHAKE256_RATE - x->pos;
        if (take > n) take = n;
        memcpy(x->buf + x->pos, p, take);
        x->pos += take;
        p += take;
        n -= take;
        if (x->pos == BEAA_SHAKE256_RATE) xof_absorb_block(x);
    }
}

void beaa_shake256_final(beaa_xof *x)
{
    /* SHAKE padding: suffix bits 1111 then pad10*1, i.e. 0x1F at the first free byte and 0x80
     * in the last byte of the block (both in one byte, 0x9F, when only one is free). */
    memset(x->buf + x->pos, 0, BEAA_SHAKE256_RATE - x->pos);
    x->buf[x->pos] ^= 0x1F;
    x->buf[BEAA_SHAKE256_RATE - 1] ^= 0x80;
    for (int i = 0; i < BEAA_SHAKE256_RATE / 8; i++)
        x->st[i] ^= load64_le(x->buf + 8 * i);
    /* First output block: the squeeze permutes before extracting. */
    xof_squeeze_block(x);
}

void beaa_shake256(void *out, size_t outlen, const void *in, size_t inlen)
{
    beaa_xof x;
    beaa_shake256_init(&x);
    if (inlen > 0) beaa_shake256_absorb(&x, in, inlen);
    beaa_shake256_final(&x);
    beaa_xof_read(&x, out, outlen);
    beaa_xof_wipe(&x);
}

void beaa_xof_init(beaa_xof *x, const uint8_t seed[BEAA_SEED_BYTES], uint64_t domain)
{
    uint8_t d[8];
    store64_le(d, domain);
    beaa_shake256_init(x);
    beaa_shake256_absorb(x, seed, BEAA_SEED_BYTES);
    beaa_shake256_absorb(x, d, sizeof d);
    beaa_shake256_final(x);
}

void beaa_xof_read(beaa_xof *x, void *out, size_t n)
{
    uint8_t *o = (uint8_t *)out;
    while (n > 0) {
        if (x->pos >= BEAA_SHAKE256_RATE) xof_squeeze_block(x);
        size_t take = BEAA_SHAKE256_RATE - x->pos;
        if (take > n) take = n;
        memcpy(o, x->buf + x->pos, take);
        x->pos += take;
        o += take;
        n -= take;
    }
}

uint64_t beaa_xof_u64(beaa_xof *x)
{
    if (x->pos + 8 <= BEAA_SHAKE256_RATE) { /* fast path: 8 bytes left in the block */
        uint64_t v = load64_le(x->buf + x->pos);
        x->pos += 8;
        return v;
    }
    uint8_t b[8];
    beaa_xof_read(x, b, 8);
    return load64_le(b);
}

uint64_t beaa_xof_uniform_mask(uint64_t bound)
{
    uint64_t mask = bound - 1;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    return mask;
}

uint64_t beaa_xof_uniform(beaa_xof *x, uint64_t bound)
{
    if (bound <= 1) return 0;
    /* Smallest all-ones mask covering bound-1: each draw is accepted with probability > 1/2,
     * and accepted values are exactly uniform on [0, bound). */
    const uint64_t mask = beaa_xof_uniform_mask(bound);
    for (;;) {
        uint64_t v = beaa_xof_u64(x) & mask;
        if (v < bound) return v;
    }
}

void beaa_xof_wipe(beaa_xof *x)
{
    if (x) beaa_memzero(x, sizeof *x);
}

beaa_status beaa_xof_init_os(beaa_xof *x, uint64_t domain)
{
    if (!x) return BEAA_ERR_ARG;
    uint8_t seed[BEAA_SEED_BYTES];
    beaa_status s = beaa_os_random(seed, sizeof seed);
    if (s != BEAA_OK) {
        beaa_memzero(seed, sizeof seed);
        return s;
    }
    beaa_xof_init(x, seed, domain);
    beaa_memzero(seed, sizeof seed);
    return BEAA_OK;
}
