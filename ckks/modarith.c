/* modarith.c - out-of-line modular helpers (see modarith.h). */
#include "ckks/modarith.h"

void beaa_modulus_init(beaa_modulus *m, uint64_t q)
{
    m->q = q;
    /* floor(2^128 / q) = floor((2^128 - 1) / q) for q not a power of two */
    beaa_u128 all = ~(beaa_u128)0;
    beaa_u128 hi = all / q; /* (2^128-1)/q */
    m->barrett_hi = (uint64_t)(hi >> 64);
    m->barrett_lo = (uint64_t)hi;
    unsigned b = 0;
    while (b < 64 && (q >> b)) b++;
    m->bits = b;
}

uint64_t beaa_pow_mod(uint64_t a, uint64_t e, const beaa_modulus *m)
{
    uint64_t r = 1 % m->q, b = a % m->q;
    while (e) {
        if (e & 1) r = beaa_mul_mod(r, b, m);
        b = beaa_mul_mod(b, b, m);
        e >>= 1;
    }
    return r;
}

uint64_t beaa_inv_mod(uint64_t a, const beaa_modulus *m)
{
    a %= m->q;
    if (a == 0) return 0;
    return beaa_pow_mod(a, m->q - 2, m);
}
