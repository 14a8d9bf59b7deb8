/* params.c - parameter specs: construction from bit sizes, range checks and the 128-bit
 * security check against the HomomorphicEncryption.org table (ternary secret, sigma 3.2). */
#include <string.h>
#include "ckks/params.h"

unsigned beaa_ckks_security_max_logqp(unsigned log_n)
{
    static const unsigned table[] = {27, 54, 109, 218, 438, 881, 1747};
    if (log_n < 10 || log_n > 16) return 0;
    return table[log_n - 10];
}

beaa_status beaa_ckks_params_spec_make(beaa_ckks_params_spec *spec, unsigned log_n,
                                       const unsigned *prime_bits, unsigned n_primes,
                                       unsigned n_special, unsigned special_bits)
{
    if (!spec || !prime_bits) return BEAA_ERR_ARG;
    memset(spec, 0, sizeof *spec);
    if (n_primes < 1 || n_primes > BEAA_CKKS_MAX_PRIMES || n_special < 1
        || n_special > BEAA_CKKS_MAX_SPECIAL)
        return BEAA_ERR_PARAMS;
    spec->log_n = log_n;
    spec->n_primes = n_primes;
    for (unsigned i = 0; i < n_primes; i++) spec->prime_bits[i] = prime_bits[i];
    spec->n_special = n_special;
    for (unsigned j = 0; j < n_special; j++) spec->special_bits[j] = special_bits;
    spec->secret = BEAA_CKKS_SECRET_TERNARY;
    return beaa_ckks_params_spec_check(spec) == BEAA_ERR_PARAMS ? BEAA_ERR_PARAMS : BEAA_OK;
}

beaa_status beaa_ckks_params_spec_check(const beaa_ckks_params_spec *spec)
{
    if (!spec) return BEAA_ERR_ARG;
    if (spec->log_n < BEAA_CKKS_MIN_LOG_N || spec->log_n > BEAA_CKKS_MAX_LOG_N) return BEAA_ERR_PARAMS;
    if (spec->n_primes < 1 || spec->n_primes > BEAA_CKKS_MAX_PRIMES) return BEAA_ERR_PARAMS;
    if (spec->n_special < 1 || spec->n_special > BEAA_CKKS_MAX_SPECIAL) return BEAA_ERR_PARAMS;
    unsigned total = 0;
    for (unsigned i = 0; i < spec->n_primes; i++) {
        unsigned b = spec->prime_bits[i];
        if (b < BEAA_CKKS_MIN_PRIME_BITS || b > BEAA_CKKS_MAX_PRIME_BITS || b < spec->log_n + 2)
            return BEAA_ERR_PARAMS;
        total += b;
    }
    for (unsigned j = 0; j < spec->n_special; j++) {
        unsigned b = spec->special_bits[j];
        if (b < BEAA_CKKS_MIN_PRIME_BITS || b > BEAA_CKKS_MAX_PRIME_BITS || b < spec->log_n + 2)
            return BEAA_ERR_PARAMS;
        total += b;
    }
    if (spec->secret != BEAA_CKKS_SECRET_TERNARY && spec->secret != BEAA_CKKS_SECRET_SPARSE)
        return BEAA_ERR_PARAMS;
    if (spec->secret == BEAA_CKKS_SECRET_SPARSE
        && (spec->hamming_weight < 1 || spec->hamming_weight > ((unsigned)1 << spec->log_n)))
        return BEAA_ERR_PARAMS;
    /* every prime is below 2^bits, so the sum of requested bits bounds log2(Q*P) from above */
    if (!spec->allow_insecure && total > beaa_ckks_security_max_logqp(spec->log_n))
        return BEAA_ERR_INSECURE;
    return BEAA_OK;
}
