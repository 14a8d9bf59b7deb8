/* modarith.h - scalar modular arithmetic for word-size primes q < 2^61 (portable C).
 * These inline helpers are the reference semantics every SIMD kernel is tested against.
 * Shoup: for a fixed w < q, w' = floor(w * 2^64 / q); then a*w mod q costs two multiplies. */
#ifndef BEAA_MODARITH_H
#define BEAA_MODARITH_H
#include <stdint.h>

typedef unsigned __int128 beaa_u128;

/* A prime modulus with its precomputed constants. */
typedef struct beaa_modulus {
    uint64_t q;          /* the prime, 2 < q < 2^61 */
    uint64_t barrett_hi; /* floor(2^128 / q) >> 64 */
    uint64_t barrett_lo; /* floor(2^128 / q) & (2^64-1) */
    unsigned bits;       /* bit length of q */
} beaa_modulus;

/* Fills m for prime q (2 < q < 2^61). */
void beaa_modulus_init(beaa_modulus *m, uint64_t q);

static inline uint64_t beaa_add_mod(uint64_t a, uint64_t b, uint64_t q)
{
    uint64_t r = a + b; /* a, b < q < 2^63: no overflow */
    return r >= q ? r - q : r;
}
static inline uint64_t beaa_sub_mod(uint64_t a, uint64_t b, uint64_t q)
{
    return a >= b ? a - b : a + q - b;
}
static inline uint64_t beaa_neg_mod(uint64_t a, uint64_t q) { return a ? q - a : 0; }

/* Barrett reduction of a 128-bit value x < q * 2^64 (in fact any x < 2^128 works for q < 2^61). */
static inline uint64_t beaa_reduce128(beaa_u128 x, const beaa_modulus *m)
{
    uint64_t xlo = (uint64_t)x, xhi = (uint64_t)(x >> 64);
    /* quotient estimate floor(x * floor(2^128/q) / 2^128), computed from 64-bit pieces */
    beaa_u128 t = ((beaa_u128)xlo * m->barrett_lo) >> 64;
    beaa_u128 mid1 = (beaa_u128)xlo * m->barrett_hi;
    beaa_u128 mid2 = (beaa_u128)xhi * m->barrett_lo;
    beaa_u128 s = t + (uint64_t)mid1 + (uint64_t)mid2;
    uint64_t qhat = (uint64_t)(s >> 64) + (uint64_t)(mid1 >> 64) + (uint64_t)(mid2 >> 64)
                    + xhi * m->barrett_hi;
    /* qhat is at most 2 below floor(x / q) (floor(2^128/q) and the dropped low product each
     * lose less than 1), so r < 3q: two masked subtractions, no branch on x (constant time) */
    uint64_t r = xlo - qhat * m->q;
    r -= m->q & (0 - (uint64_t)(r >= m->q));
    r -= m->q & (0 - (uint64_t)(r >= m->q));
    return r;
}
static inline uint64_t beaa_reduce64(uint64_t x, const beaa_modulus *m)
{
    return beaa_reduce128((beaa_u128)x, m);
}
/* x mod q like beaa_reduce64, in constant time: the Barrett estimate is at most 2 below the
 * true quotient, so three masked subtractions replace the loop (for secrets: flooding noise). */
static inline uint64_t beaa_reduce64_ct(uint64_t x, const beaa_modulus *m)
{
    beaa_u128 t = ((beaa_u128)x * m->barrett_lo) >> 64;
    beaa_u128 mid = (beaa_u128)x * m->barrett_hi;
    uint64_t qhat = (uint64_t)((t + (uint64_t)mid) >> 64) + (uint64_t)(mid >> 64);
    uint64_t r = x - qhat * m->q;
    for (int i = 0; i < 3; i++) r -= m->q & (0 - (uint64_t)(r >= m->q));
    return r;
}
static inline uint64_t beaa_mul_mod(uint64_t a, uint64_t b, const beaa_modulus *m)
{
    return beaa_reduce128((beaa_u128)a * b, m);
}

/* Shoup precomputation for a constant w < q: floor(w * 2^64 / q). */
static inline uint64_t beaa_shoup(uint64_t w, uint64_t q)
{
    return (uint64_t)(((beaa_u128)w << 64) / q);
}
/* The 52-bit form used by the AVX-512 IFMA kernels (q < 2^50): floor(w * 2^52 / q). */
static inline uint64_t beaa_shoup52(uint64_t w, uint64_t q)
{
    return (uint64_t)(((beaa_u128)w << 52) / q);
}
/* a*w mod q in [0, 2q) for any a < 2^64, w < q, ws = beaa_shoup(w, q). */
static inline uint64_t beaa_mul_shoup_lazy(uint64_t a, uint64_t w, uint64_t ws, uint64_t q)
{
    uint64_t qt = (uint64_t)(((beaa_u128)a * ws) >> 64);
    return a * w - qt * q;
}
/* a*w mod q in [0, q). */
static inline uint64_t beaa_mul_shoup(uint64_t a, uint64_t w, uint64_t ws, uint64_t q)
{
    uint64_t r = beaa_mul_shoup_lazy(a, w, ws, q);
    return r >= q ? r - q : r;
}

/* a^e mod q. */
uint64_t beaa_pow_mod(uint64_t a, uint64_t e, const beaa_modulus *m);
/* a^{-1} mod q for prime q and a != 0 mod q (0 if a == 0). */
uint64_t beaa_inv_mod(uint64_t a, const beaa_modulus *m);

#endif
