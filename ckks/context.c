/* context.c - builds the immutable CKKS context from a spec: primes, NTT tables, FFT tables,
 * rescale and key-switching constants, the Galois slot map, and the parameter fingerprint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lib/mem.h"
#include "lib/rng.h"
#include "ckks/context_internal.h"

static void put_u64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
}

typedef struct { uint64_t v; uint32_t e; } val_exp;

static int cmp_val_exp(const void *a, const void *b)
{
    uint64_t x = ((const val_exp *)a)->v, y = ((const val_exp *)b)->v;
    return (x > y) - (x < y);
}

/* Finds, for every NTT slot i, the odd exponent e with slot i = evaluation at r^e, using the NTT
 * of the monomial X (so no assumption on the kernel's ordering is needed). */
static beaa_status build_galois_map(beaa_ckks_context *c)
{
    size_t n = c->n, two_n = 2 * n;
    const beaa_modulus *m = &c->mod[0];
    uint64_t *w = beaa_calloc(n, sizeof *w);
    val_exp *tab = malloc(n * sizeof *tab);
    c->exp_of_idx = malloc(n * sizeof *c->exp_of_idx);
    c->idx_of_exp = malloc(two_n * sizeof *c->idx_of_exp);
    beaa_status st = BEAA_ERR_NOMEM;
    if (!w || !tab || !c->exp_of_idx || !c->idx_of_exp) goto out;
    w[1] = 1;
    c->kern->ntt_fwd(c->ntt[0], w);
    uint64_t r = w[0], r2 = beaa_mul_mod(r, r, m), p = r;
    for (size_t k = 0; k < n; k++) { /* odd exponents 2k+1 */
        tab[k].v = p;
        tab[k].e = (uint32_t)(2 * k + 1);
        p = beaa_mul_mod(p, r2, m);
    }
    qsort(tab, n, sizeof *tab, cmp_val_exp);
    for (size_t e = 0; e < two_n; e++) c->idx_of_exp[e] = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (tab[mid].v < w[i]) lo = mid + 1; else hi = mid;
        }
        if (lo >= n || tab[lo].v != w[i]) { st = BEAA_ERR_INTERNAL; goto out; }
        c->exp_of_idx[i] = tab[lo].e;
        c->idx_of_exp[tab[lo].e] = (uint32_t)i;
    }
    st = BEAA_OK;
out:
    beaa_free(w);
    free(tab);
    return st;
}

static void fingerprint(beaa_ckks_context *c)
{
    beaa_xof x;
    uint8_t b[8];
    beaa_shake256_init(&x);
    beaa_shake256_absorb(&x, "libbeaa-ckks-params-v1", 22);
    put_u64(b, c->log_n); beaa_shake256_absorb(&x, b, 8);
    put_u64(b, c->L + 1); beaa_shake256_absorb(&x, b, 8);
    put_u64(b, c->alpha); beaa_shake256_absorb(&x, b, 8);
    for (unsigned k = 0; k < c->n_ext; k++) { put_u64(b, c->mod[k].q); beaa_shake256_absorb(&x, b, 8); }
    put_u64(b, (uint64_t)c->spec.secret); beaa_shake256_absorb(&x, b, 8);
    put_u64(b, c->spec.secret == BEAA_CKKS_SECRET_SPARSE ? c->spec.hamming_weight : 0);
    beaa_shake256_absorb(&x, b, 8);
    beaa_shake256_final(&x);
    beaa_xof_read(&x, c->fingerprint, sizeof c->fingerprint);
}

beaa_status beaa_ckks_context_new(const beaa_ckks_params_spec *spec, beaa_ckks_context **out)
{
    if (!spec || !out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_status st = beaa_ckks_params_spec_check(spec);
    if (st != BEAA_OK) return st;
    /* BEAA_ARCH naming an ISA this CPU lacks (or an unknown one) is refused here rather than
     * silently running other kernels than the user asked for. */
    st = beaa_kernels_init();
    if (st != BEAA_OK) return st;
    beaa_ckks_context *c = calloc(1, sizeof *c);
    if (!c) return BEAA_ERR_NOMEM;
    c->spec = *spec;
    c->log_n = spec->log_n;
    c->n = (size_t)1 << spec->log_n;
    c->L = spec->n_primes - 1;
    c->alpha = spec->n_special;
    c->dnum = (spec->n_primes + c->alpha - 1) / c->alpha;
    c->n_ext = spec->n_primes + c->alpha;
    c->kern = beaa_kernels_get();

    /* primes: each in order, distinct from all earlier ones */
    uint64_t primes[BEAA_CKKS_MAX_EXT];
    for (unsigned k = 0; k < c->n_ext; k++) {
        unsigned bits = k <= c->L ? spec->prime_bits[k] : spec->special_bits[k - c->L - 1];
        st = beaa_ckks_primes_generate(&primes[k], 1, bits, c->log_n, primes, k);
        if (st != BEAA_OK) goto fail;
        beaa_modulus_init(&c->mod[k], primes[k]);
    }
    for (unsigned k = 0; k < c->n_ext; k++) {
        c->ntt[k] = beaa_ntt_tables_new(primes[k], c->log_n);
        if (!c->ntt[k]) { st = BEAA_ERR_NOMEM; goto fail; }
    }
    st = beaa_fft_tables_new(c->n, &c->fft);
    if (st != BEAA_OK) goto fail;

    /* rescale constants */
    size_t l1 = c->L + 1;
    c->rs_inv = calloc(l1 * l1, sizeof *c->rs_inv);
    c->rs_inv_shoup = calloc(l1 * l1, sizeof *c->rs_inv_shoup);
    if (!c->rs_inv || !c->rs_inv_shoup) { st = BEAA_ERR_NOMEM; goto fail; }
    for (unsigned l = 1; l <= c->L; l++)
        for (unsigned i = 0; i < l; i++) {
            uint64_t v = beaa_inv_mod(primes[l] % primes[i], &c->mod[i]);
            c->rs_inv[l * l1 + i] = v;
            c->rs_inv_shoup[l * l1 + i] = beaa_shoup(v, primes[i]);
        }
    /* gadget factor P mod q_i */
    for (unsigned i = 0; i <= c->L; i++) {
        const beaa_modulus *m = &c->mod[i];
        uint64_t pm = 1;
        for (unsigned j = 0; j < c->alpha; j++) pm = beaa_mul_mod(pm, primes[c->L + 1 + j] % m->q, m);
        c->p_mod[i] = pm;
    }
    double acc = 0;
    for (unsigned i = 0; i <= c->L; i++) {
        acc += log2((double)primes[i]);
        c->log2_q_cum[i] = acc;
    }
    for (unsigned j = 0; j < c->alpha; j++) acc += log2((double)primes[c->L + 1 + j]);
    c->log2_qp = acc;
    st = build_galois_map(c);
    if (st != BEAA_OK) goto fail;
    fingerprint(c);
    *out = c;
    return BEAA_OK;
fail:
    beaa_ckks_context_free(c);
    return st;
}

void beaa_ckks_context_free(beaa_ckks_context *c)
{
    if (!c) return;
    for (unsigned k = 0; k < BEAA_CKKS_MAX_EXT; k++) beaa_ntt_tables_free(c->ntt[k]);
    beaa_fft_tables_free(c->fft);
    free(c->rs_inv);
    free(c->rs_inv_shoup);
    free(c->exp_of_idx);
    free(c->idx_of_exp);
    free(c);
}

const beaa_ckks_params_spec *beaa_ckks_context_spec(const beaa_ckks_context *c) { return &c->spec; }
unsigned beaa_ckks_context_log_n(const beaa_ckks_context *c) { return c->log_n; }
size_t beaa_ckks_context_n(const beaa_ckks_context *c) { return c->n; }
size_t beaa_ckks_context_slots(const beaa_ckks_context *c) { return c->n / 2; }
unsigned beaa_ckks_context_max_level(const beaa_ckks_context *c) { return c->L; }
unsigned beaa_ckks_context_n_special(const beaa_ckks_context *c) { return c->alpha; }
unsigned beaa_ckks_context_dnum(const beaa_ckks_context *c) { return c->dnum; }
const beaa_modulus *beaa_ckks_context_q(const beaa_ckks_context *c, unsigned i)
{
    return i <= c->L ? &c->mod[i] : NULL;
}
const beaa_modulus *beaa_ckks_context_p(const beaa_ckks_context *c, unsigned j)
{
    return j < c->alpha ? &c->mod[c->L + 1 + j] : NULL;
}
const beaa_modulus *beaa_ckks_context_prime(const beaa_ckks_context *c, unsigned k)
{
    return k < c->n_ext ? &c->mod[k] : NULL;
}
const beaa_ntt_tables *beaa_ckks_context_ntt(const beaa_ckks_context *c, unsigned k)
{
    return k < c->n_ext ? c->ntt[k] : NULL;
}
const beaa_kernels *beaa_ckks_context_kernels(const beaa_ckks_context *c) { return c->kern; }
double beaa_ckks_context_log2_q(const beaa_ckks_context *c, unsigned level)
{
    return level <= c->L ? c->log2_q_cum[level] : 0.0;
}
double beaa_ckks_context_log2_qp(const beaa_ckks_context *c) { return c->log2_qp; }
const uint8_t *beaa_ckks_context_fingerprint(const beaa_ckks_context *c) { return c->fingerprint; }

uint64_t beaa_ckks_galois_elt(const beaa_ckks_context *c, int step)
{
    uint64_t two_n = 2 * (uint64_t)c->n, half = c->n / 2;
    int64_t s = (int64_t)step % (int64_t)half;
    if (s < 0) s += (int64_t)half;
    uint64_t g = 1, b = 5; /* 5^s mod 2N by squaring (2N <= 2^17: products fit in 64 bits) */
    for (uint64_t e = (uint64_t)s; e; e >>= 1) {
        if (e & 1) g = (g * b) % two_n;
        b = (b * b) % two_n;
    }
    return g;
}

uint64_t beaa_ckks_galois_conj(const beaa_ckks_context *c) { return 2 * (uint64_t)c->n - 1; }

uint64_t beaa_ckks_galois_inverse(const beaa_ckks_context *c, uint64_t g)
{
    /* Newton's iteration for the inverse mod 2^64 of an odd g (each step doubles the correct
     * low bits: 3 -> 6 -> 12 -> 24 -> 48 -> 96), then reduced mod 2N, a power of two */
    uint64_t x = g;
    for (int i = 0; i < 5; i++) x *= 2 - g * x;
    return x & (2 * (uint64_t)c->n - 1);
}

beaa_status beaa_ckks_galois_perm(const beaa_ckks_context *c, uint64_t g, uint32_t *perm)
{
    if (!c || !perm) return BEAA_ERR_ARG;
    uint64_t two_n = 2 * (uint64_t)c->n;
    if ((g & 1) == 0 || g >= two_n) return BEAA_ERR_ARG;
    /* a(X^g) evaluated at r^e equals a evaluated at r^{g e} (2n is a power of two) */
    for (size_t i = 0; i < c->n; i++)
        perm[i] = c->idx_of_exp[(g * c->exp_of_idx[i]) & (two_n - 1)];
    return BEAA_OK;
}
