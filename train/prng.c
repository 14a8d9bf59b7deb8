/* prng.c - xoshiro256** (Blackman-Vigna) seeded with splitmix64, plus uniform, bounded,
 * normal and shuffle helpers for the trainer. */
#include "train/prng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void beaa_train_rng_seed(beaa_train_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t beaa_train_rng_u64(beaa_train_rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

double beaa_train_rng_uniform(beaa_train_rng *r)
{
    return (double)(beaa_train_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t beaa_train_rng_below(beaa_train_rng *r, uint64_t n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do v = beaa_train_rng_u64(r); while (v >= lim);
    return v % n;
}

double beaa_train_rng_normal(beaa_train_rng *r)
{
    double u1 = beaa_train_rng_uniform(r), u2 = beaa_train_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void beaa_train_rng_shuffle(beaa_train_rng *r, uint32_t *idx, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)beaa_train_rng_below(r, i);
        uint32_t t = idx[i - 1]; idx[i - 1] = idx[j]; idx[j] = t;
    }
}
