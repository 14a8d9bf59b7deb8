/* prng.h - the trainer's seeded pseudo-random generator (xoshiro256**, seeded by splitmix64):
 * shuffling, weight init and augmentation. Not for cryptography (lib/rng.h is). Same seed,
 * same stream on every platform, so trainings are reproducible. */
#ifndef BEAA_TRAIN_PRNG_H
#define BEAA_TRAIN_PRNG_H
#include <stdint.h>

typedef struct beaa_train_rng { uint64_t s[4]; } beaa_train_rng;

void beaa_train_rng_seed(beaa_train_rng *r, uint64_t seed);
uint64_t beaa_train_rng_u64(beaa_train_rng *r);
/* uniform in [0, 1) with 53 random bits */
double beaa_train_rng_uniform(beaa_train_rng *r);
/* uniform integer in [0, n), n >= 1 (rejection sampling, no modulo bias) */
uint64_t beaa_train_rng_below(beaa_train_rng *r, uint64_t n);
/* standard normal (Box-Muller) */
double beaa_train_rng_normal(beaa_train_rng *r);
/* in-place Fisher-Yates shuffle of idx[0..n) */
void beaa_train_rng_shuffle(beaa_train_rng *r, uint32_t *idx, uint32_t n);

#endif
