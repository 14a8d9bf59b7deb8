/* primes.c - deterministic generation of NTT-friendly primes q = 1 mod 2N.
 * Primes of a requested bit size are found by walking down from 2^bits in steps of 2N and
 * testing with a Miller-Rabin test that is deterministic for 64-bit integers. */
#include "ckks/params.h"

static uint64_t mulmod_u64(uint64_t a, uint64_t b, uint64_t n)
{
    return (uint64_t)(((beaa_u128)a * b) % n);
}

static uint64_t powmod_u64(uint64_t a, uint64_t e, uint64_t n)
{
    uint64_t r = 1 % n;
    a %= n;
    while (e) {
        if (e & 1) r = mulmod_u64(r, a, n);
        a = mulmod_u64(a, a, n);
        e >>= 1;
    }
    return r;
}

int beaa_is_prime_u64(uint64_t n)
{
    static const uint64_t small[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2) return 0;
    for (unsigned i = 0; i < sizeof small / sizeof small[0]; i++) {
        if (n == small[i]) return 1;
        if (n % small[i] == 0) return 0;
    }
    uint64_t d = n - 1;
    unsigned s = 0;
    while ((d & 1) == 0) { d >>= 1; s++; }
    /* these 12 bases are a deterministic witness set for every n < 3.3 * 10^24 */
    for (unsigned i = 0; i < sizeof small / sizeof small[0]; i++) {
        uint64_t x = powmod_u64(small[i], d, n);
        if (x == 1 || x == n - 1) continue;
        int comp = 1;
        for (unsigned r = 1; r < s; r++) {
            x = mulmod_u64(x, x, n);
            if (x == n - 1) { comp = 0; break; }
        }
        if (comp) return 0;
    }
    return 1;
}

beaa_status beaa_ckks_primes_generate(uint64_t *out, unsigned count, unsigned bits, unsigned log_n,
                                      const uint64_t *avoid, unsigned n_avoid)
{
    if ((!out && count) || (!avoid && n_avoid) || bits > 62 || log_n < 1 || log_n > 20
        || bits < log_n + 2)
        return BEAA_ERR_ARG;
    const uint64_t m = (uint64_t)1 << (log_n + 1);
    const uint64_t lo = (uint64_t)1 << (bits - 1);
    /* largest candidate below 2^bits that is 1 mod 2N */
    uint64_t c = ((uint64_t)1 << bits) - m + 1;
    unsigned found = 0;
    while (found < count) {
        if (c <= lo) return BEAA_ERR_NO_PRIMES;
        if (beaa_is_prime_u64(c)) {
            int dup = 0;
            for (unsigned i = 0; i < n_avoid && !dup; i++) dup = (avoid[i] == c);
            for (unsigned i = 0; i < found && !dup; i++) dup = (out[i] == c);
            if (!dup) out[found++] = c;
        }
        c -= m;
    }
    return BEAA_OK;
}
