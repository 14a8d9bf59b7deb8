/* sample_ref.c - portable seeded uniform sampling (uniform_seeded, kernels.h) and 8-message
 * SHAKE256 (shake256_x8): one SHAKE256 stream after the other with lib/rng's scalar Keccak; the
 * oracle of the multi-lane versions. */
#include "ckks/kernels/ref/ref.h"
#include "lib/rng.h"

void beaa_uniform_seeded_ref(uint64_t *const *out, const uint64_t *q, const uint64_t *domain,
                             size_t count, size_t n, const uint8_t *const *seed)
{
    for (size_t s = 0; s < count; s++) {
        beaa_xof x;
        beaa_xof_init(&x, seed[s], domain[s]);
        if (q[s] == 0)
            for (size_t i = 0; i < n; i++) out[s][i] = beaa_xof_u64(&x);
        else
            for (size_t i = 0; i < n; i++) out[s][i] = beaa_xof_uniform(&x, q[s]);
        beaa_xof_wipe(&x);
    }
}

void beaa_shake256_x8_ref(uint8_t *const *out, size_t outlen, const uint8_t *const *in, size_t len)
{
    for (int j = 0; j < 8; j++) beaa_shake256(out[j], outlen, in[j], len);
}
