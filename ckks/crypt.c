/* crypt.c - CKKS encryption with the public key (v*pk + (m + e0, e1)) or the secret key
 * ((-a*s + e + m, a), a from a stored seed), and decryption c0 + c1*s (+ c2*s^2), optionally
 * flooded with a wide Gaussian (IND-CPA-D, Li-Micciancio 2020). */
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <string.h>
#include "lib/mem.h"
#include "ckks/context_internal.h"
#include "ckks/crypt.h"
#include "ckks/encoder.h"
#include "ckks/sampler.h"
#include "lib/rng.h"

static beaa_status check_pt(const beaa_ckks_context *c, const beaa_ckks_plaintext *pt)
{
    if (!pt || !pt->data) return BEAA_ERR_ARG;
    if (pt->ctx != c) return BEAA_ERR_PARAMS_MISMATCH;
    if (pt->level > c->L) return BEAA_ERR_LEVEL_EXHAUSTED;
    if (!pt->ntt_form) return BEAA_ERR_ARG;
    return BEAA_OK;
}

/* limb j (prime k) of the small signed polynomial s, in NTT form */
static void small_limb_ntt(const beaa_ckks_context *c, const int8_t *s, unsigned k, uint64_t *o)
{
    const uint64_t q = c->mod[k].q;
    for (size_t i = 0; i < c->n; i++) o[i] = beaa_ckks_small_mod(s[i], q);
    c->kern->ntt_fwd(c->ntt[k], o);
}

static int thread_count(const beaa_ckks_context *c)
{
#ifdef _OPENMP
    if (c->n >= BEAA_CKKS_PAR_MIN_N) return omp_get_max_threads();
#endif
    (void)c;
    return 1;
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

beaa_status beaa_ckks_encrypt_pk(const beaa_ckks_public_key *pk, const beaa_ckks_plaintext *pt,
                                 beaa_ckks_ciphertext *ct)
{
    if (!pk || !pk->ctx || !ct) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = pk->ctx;
    beaa_status st = check_pt(c, pt);
    if (st != BEAA_OK) return st;
    if (ct->ctx != c) return BEAA_ERR_PARAMS_MISMATCH;
    const unsigned l = pt->level;
    const size_t n = c->n;
    const int nthreads = thread_count(c);
    /* the ephemeral v, e0, e1 are secret: only 3 limbs per thread ever exist in NTT form */
    const size_t scratch_words = (size_t)nthreads * 3 * n;
    int8_t *small = beaa_alloc(3 * n);
    uint64_t *tmp = beaa_alloc(scratch_words * sizeof *tmp);
    beaa_xof x;
    if (!small || !tmp) { st = BEAA_ERR_NOMEM; goto out; }
    st = beaa_xof_init_os(&x, 0xe2);
    if (st != BEAA_OK) goto out;
    beaa_ckks_sample_ternary(&x, small, n);
    beaa_xof_wipe(&x);
    st = beaa_ckks_sample_gauss_os(c, 0xe200, small + n, 2 * n);
    if (st != BEAA_OK) goto out;
    st = beaa_ckks_ciphertext_resize(ct, 2, l);
    if (st != BEAA_OK) goto out;
    {
        const uint64_t *b = pk->data, *a = pk->data + (size_t)(c->L + 1) * n;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (c->n >= BEAA_CKKS_PAR_MIN_N)
        for (int i = 0; i <= (int)l; i++) {
            size_t off = (size_t)i * n;
            uint64_t q = c->mod[i].q;
            uint64_t *tv = tmp + (size_t)thread_id() * 3 * n, *te0 = tv + n, *te1 = te0 + n;
            small_limb_ntt(c, small, (unsigned)i, tv);
            small_limb_ntt(c, small + n, (unsigned)i, te0);
            small_limb_ntt(c, small + 2 * n, (unsigned)i, te1);
            uint64_t *c0 = beaa_ckks_ct_limb(ct, 0, (unsigned)i), *c1 = beaa_ckks_ct_limb(ct, 1, (unsigned)i);
            c->kern->mul_mod(c0, tv, b + off, n, &c->mod[i]);
            c->kern->add_mod(c0, c0, te0, n, q);
            c->kern->add_mod(c0, c0, pt->data + off, n, q);
            c->kern->mul_mod(c1, tv, a + off, n, &c->mod[i]);
            c->kern->add_mod(c1, c1, te1, n, q);
        }
    }
    ct->ntt_form = 1;
    ct->scale = pt->scale;
    ct->has_seed = 0;
out:
    beaa_free_secret(small, 3 * n);
    beaa_free_secret(tmp, scratch_words * sizeof *tmp);
    return st;
}

beaa_status beaa_ckks_encrypt_sk(const beaa_ckks_secret_key *sk, const beaa_ckks_plaintext *pt,
                                 beaa_ckks_ciphertext *ct)
{
    if (!sk || !sk->ctx || !ct) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = sk->ctx;
    beaa_status st = check_pt(c, pt);
    if (st != BEAA_OK) return st;
    if (ct->ctx != c) return BEAA_ERR_PARAMS_MISMATCH;
    const unsigned l = pt->level;
    const size_t n = c->n;
    const int nthreads = thread_count(c);
    const size_t scratch_words = (size_t)nthreads * n;
    int8_t *e8 = beaa_alloc(n);
    uint64_t *tmp = beaa_alloc(scratch_words * sizeof *tmp);
    if (!e8 || !tmp) { st = BEAA_ERR_NOMEM; goto out; }
    st = beaa_ckks_ciphertext_resize(ct, 2, l);
    if (st != BEAA_OK) goto out;
    st = beaa_os_random(ct->seed, sizeof ct->seed);
    if (st != BEAA_OK) goto out;
    st = beaa_ckks_sample_gauss_os(c, 0xe300, e8, n);
    if (st != BEAA_OK) goto out;
    st = beaa_ckks_ciphertext_expand_seed(ct);
    if (st != BEAA_OK) goto out;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)l; i++) {
        size_t off = (size_t)i * n;
        uint64_t q = c->mod[i].q;
        uint64_t *te = tmp + (size_t)thread_id() * n;
        small_limb_ntt(c, e8, (unsigned)i, te);
        uint64_t *c0 = beaa_ckks_ct_limb(ct, 0, (unsigned)i), *c1 = beaa_ckks_ct_limb(ct, 1, (unsigned)i);
        c->kern->mul_mod(c0, c1, sk->data + off, n, &c->mod[i]);
        c->kern->sub_mod(c0, te, c0, n, q);
        c->kern->add_mod(c0, c0, pt->data + off, n, q);
    }
    ct->ntt_form = 1;
    ct->scale = pt->scale;
out:
    beaa_free_secret(e8, n);
    beaa_free_secret(tmp, scratch_words * sizeof *tmp);
    return st;
}

static beaa_status values_check(const beaa_ckks_secret_key *sk, size_t n, double scale,
                               unsigned level, const beaa_ckks_ciphertext *ct)
{
    if (!ct) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = sk->ctx;
    if (ct->ctx != c) return BEAA_ERR_PARAMS_MISMATCH;
    if (level > c->L) return BEAA_ERR_LEVEL_EXHAUSTED;
    if (n > c->n / 2) return BEAA_ERR_SLOTS;
    if (!(scale >= 1.0) || !isfinite(scale) || log2(scale) >= c->log2_q_cum[level] - 1.0)
        return BEAA_ERR_SCALE_RANGE;
    return BEAA_OK;
}

/* The first half of a values encryption: ct gets a fresh seed and c_0 = NTT(m + e) (e8: the
 * error's buffer, N values, wiped by the caller); c_1 is not set yet. */
static beaa_status values_begin(const beaa_ckks_secret_key *sk, const double *vals, size_t n,
                                double scale, unsigned level, beaa_ckks_ciphertext *ct, int8_t *e8)
{
    const beaa_ckks_context *c = sk->ctx;
    beaa_status st = beaa_ckks_ciphertext_resize(ct, 2, level);
    if (st == BEAA_OK) st = beaa_os_random(ct->seed, sizeof ct->seed);
    if (st == BEAA_OK) st = beaa_ckks_sample_gauss_os(c, 0xe400, e8, c->n);
    /* c0 <- m + e, coefficient form: the error joins the rounded message once for all limbs
     * (the encoder checks the values' range) */
    if (st == BEAA_OK)
        st = beaa_encoder_encode_noisy(c->fft, vals, NULL, n, scale, c->mod, level + 1, e8, ct->data);
    if (st != BEAA_OK) return st;
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)level; i++) c->kern->ntt_fwd(c->ntt[i], beaa_ckks_ct_limb(ct, 0, (unsigned)i));
    ct->scale = scale;
    return BEAA_OK;
}

/* The second half for k begun ciphertexts of one level: c_1 = a from each seed (the k * (l+1)
 * streams in groups of 8 lanes, whatever ciphertext they belong to), then c_0 -= a*s. */
static beaa_status values_finish(const beaa_ckks_secret_key *sk, beaa_ckks_ciphertext *const *cts,
                                 size_t k)
{
    enum { MAXK = BEAA_CKKS_ENCRYPT_GROUP };
    const beaa_ckks_context *c = sk->ctx;
    const unsigned l = cts[0]->level;
    const size_t N = c->n, ns = (size_t)(l + 1) * k;
    const int nthreads = thread_count(c);
    uint64_t *out[MAXK * BEAA_CKKS_MAX_PRIMES], dom[MAXK * BEAA_CKKS_MAX_PRIMES];
    unsigned prime[MAXK * BEAA_CKKS_MAX_PRIMES];
    const uint8_t *seed[MAXK * BEAA_CKKS_MAX_PRIMES];
    if (k > MAXK) return BEAA_ERR_INTERNAL;
    uint64_t *tmp = beaa_alloc((size_t)nthreads * N * sizeof *tmp);
    if (!tmp) return BEAA_ERR_NOMEM;
    for (size_t s = 0; s < ns; s++) {
        const size_t j = s / (l + 1);
        const unsigned i = (unsigned)(s % (l + 1));
        out[s] = beaa_ckks_ct_limb(cts[j], 1, i);
        prime[s] = i;
        dom[s] = BEAA_CKKS_DOMAIN_CT_A + i;
        seed[s] = cts[j]->seed;
    }
    beaa_ckks_sample_uniform_streams(c, out, prime, dom, seed, ns, 1);
    /* per limb: -s once, then c_0 += a * (-s) for each ciphertext (one pass over c_0) */
#pragma omp parallel for schedule(static) num_threads(nthreads) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)l; i++) {
        uint64_t *t = tmp + (size_t)thread_id() * N;
        c->kern->neg_mod(t, sk->data + (size_t)i * N, N, c->mod[i].q);
        for (size_t j = 0; j < k; j++)
            c->kern->mac_mod(beaa_ckks_ct_limb(cts[j], 0, (unsigned)i),
                             beaa_ckks_ct_limb(cts[j], 1, (unsigned)i), t, N, &c->mod[i]);
    }
    for (size_t j = 0; j < k; j++) {
        cts[j]->ntt_form = 1;
        cts[j]->has_seed = 1;
    }
    beaa_free_secret(tmp, (size_t)nthreads * N * sizeof *tmp);
    return BEAA_OK;
}

beaa_status beaa_ckks_encrypt_sk_values(const beaa_ckks_secret_key *sk, const double *vals,
                                        size_t n, double scale, unsigned level,
                                        beaa_ckks_ciphertext *ct)
{
    return beaa_ckks_encrypt_sk_values_many(sk, &vals, n, scale, level, &ct, 1, 0, NULL);
}

beaa_status beaa_ckks_encrypt_sk_values_many(const beaa_ckks_secret_key *sk,
                                             const double *const *vals, size_t n, double scale,
                                             unsigned level, beaa_ckks_ciphertext *const *cts,
                                             size_t k, uint64_t stream_base, const uint64_t *stream)
{
    if (!sk || !sk->ctx || !vals || !cts) return BEAA_ERR_ARG;
    for (size_t j = 0; j < k; j++) {
        if (!vals[j] && n > 0) return BEAA_ERR_ARG;
        beaa_status st = values_check(sk, n, scale, level, cts[j]);
        if (st != BEAA_OK) return st;
        for (size_t i = 0; i < j; i++)
            if (cts[i] == cts[j]) return BEAA_ERR_ARG;
    }
    const size_t N = sk->ctx->n;
    int8_t *e8 = beaa_alloc(N);
    beaa_status st = e8 ? BEAA_OK : BEAA_ERR_NOMEM;
    for (size_t j0 = 0; j0 < k && st == BEAA_OK; j0 += BEAA_CKKS_ENCRYPT_GROUP) {
        const size_t kk = k - j0 < BEAA_CKKS_ENCRYPT_GROUP ? k - j0 : BEAA_CKKS_ENCRYPT_GROUP;
        for (size_t j = j0; j < j0 + kk && st == BEAA_OK; j++) {
            beaa_rng_stream_state saved;
            if (stream) beaa_rng_stream_enter(stream_base, stream[j], &saved);
            st = values_begin(sk, vals[j], n, scale, level, cts[j], e8);
            if (stream) beaa_rng_stream_leave(&saved);
        }
        if (st == BEAA_OK) st = values_finish(sk, cts + j0, kk);
        if (st != BEAA_OK) /* a begun c_0 is m + e in the clear: wipe the group */
            for (size_t j = j0; j < j0 + kk; j++)
                if (cts[j]->data && cts[j]->size == 2 && cts[j]->level == level)
                    beaa_memzero(cts[j]->data, (size_t)2 * (level + 1) * N * sizeof(uint64_t));
    }
    beaa_free_secret(e8, N);
    return st;
}

beaa_status beaa_ckks_decrypt(const beaa_ckks_secret_key *sk, const beaa_ckks_ciphertext *ct,
                              beaa_ckks_plaintext *pt)
{
    if (!sk || !sk->ctx || !ct || !ct->data || !pt) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = sk->ctx;
    if (ct->ctx != c || pt->ctx != c) return BEAA_ERR_PARAMS_MISMATCH;
    if (ct->size != 2 && ct->size != 3) return BEAA_ERR_SIZE;
    if (ct->level > c->L) return BEAA_ERR_LEVEL_EXHAUSTED;
    if (!ct->ntt_form) return BEAA_ERR_ARG;
    beaa_status st = beaa_ckks_plaintext_resize(pt, ct->level);
    if (st != BEAA_OK) return st;
    const size_t n = c->n;
    const unsigned size = ct->size;
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)ct->level; i++) {
        const beaa_modulus *m = &c->mod[i];
        uint64_t *r = pt->data + (size_t)i * n;
        const uint64_t *s = sk->data + (size_t)i * n;
        /* Horner: ((c2 * s) + c1) * s + c0 */
        memcpy(r, beaa_ckks_ct_limb(ct, size - 1, (unsigned)i), n * sizeof *r);
        for (int k = (int)size - 2; k >= 0; k--) {
            c->kern->mul_mod(r, r, s, n, m);
            c->kern->add_mod(r, r, beaa_ckks_ct_limb(ct, (unsigned)k, (unsigned)i), n, m->q);
        }
    }
    pt->ntt_form = 1;
    pt->scale = ct->scale;
    return BEAA_OK;
}

beaa_status beaa_ckks_decrypt_flooded(const beaa_ckks_secret_key *sk, const beaa_ckks_ciphertext *ct,
                                      double log2_sigma, beaa_ckks_plaintext *pt)
{
    if (!(log2_sigma >= 0.0 && log2_sigma <= 50.0)) return BEAA_ERR_ARG;
    beaa_status st = beaa_ckks_decrypt(sk, ct, pt);
    if (st != BEAA_OK) return st;
    const beaa_ckks_context *c = sk->ctx;
    const size_t n = c->n;
    int64_t *noise = beaa_alloc(n * sizeof *noise);
    uint64_t *limb = beaa_alloc(((size_t)pt->level + 1) * n * sizeof *limb);
    beaa_xof x;
    if (!noise || !limb) { st = BEAA_ERR_NOMEM; goto out; }
    st = beaa_xof_init_os(&x, 0xf1);
    if (st != BEAA_OK) goto out;
    beaa_ckks_sample_gauss_wide(&x, noise, n, exp2(log2_sigma));
    beaa_xof_wipe(&x);
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)pt->level; i++) {
        const beaa_modulus *m = &c->mod[i];
        uint64_t *t = limb + (size_t)i * n;
        for (size_t k = 0; k < n; k++) { /* v mod q without a branch on the noise */
            const uint64_t v = (uint64_t)noise[k], neg = 0 - (v >> 63);
            const uint64_t a = beaa_reduce64_ct((v ^ neg) - neg, m); /* |v| mod q */
            const uint64_t na = m->q - a - (m->q & (0 - (uint64_t)(a == 0)));
            t[k] = (a & ~neg) | (na & neg);
        }
        c->kern->ntt_fwd(c->ntt[i], t);
        c->kern->add_mod(pt->data + (size_t)i * n, pt->data + (size_t)i * n, t, n, m->q);
    }
out:
    /* Never leave an un-flooded decryption behind for a caller who ignores the status: it is
     * exactly what an IND-CPA-D attacker needs. */
    if (st != BEAA_OK) beaa_memzero(pt->data, ((size_t)pt->level + 1) * n * sizeof *pt->data);
    beaa_free_secret(noise, n * sizeof *noise);
    beaa_free_secret(limb, ((size_t)pt->level + 1) * n * sizeof *limb);
    return st;
}

double beaa_ckks_flood_log2_sigma(const beaa_ckks_context *ctx, double log2_noise,
                                  unsigned stat_sec, double log2_queries)
{
    if (!ctx || !(log2_queries >= 0.0) || !isfinite(log2_noise)) return -1.0;
    return log2_noise + (double)stat_sec - 1.0 + 0.5 * (log2_queries + (double)ctx->log_n);
}

beaa_status beaa_ckks_noise_measure(const beaa_ckks_secret_key *sk, const beaa_ckks_ciphertext *ct,
                                    const double *values, size_t n, double *log2_inf)
{
    if (!sk || !sk->ctx || !ct || !log2_inf || (!values && n)) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = sk->ctx;
    beaa_ckks_plaintext *dec = NULL, *ref = NULL;
    beaa_status st = beaa_ckks_plaintext_new(c, ct->level, &dec);
    if (st == BEAA_OK) st = beaa_ckks_plaintext_new(c, ct->level, &ref);
    if (st == BEAA_OK) st = beaa_ckks_decrypt(sk, ct, dec);
    if (st == BEAA_OK) st = beaa_ckks_encode_real(c, values, n, ct->scale, ct->level, ref);
    if (st == BEAA_OK) {
        /* the difference is small (far below q_0 / 2): its limb mod q_0, centred, is exact */
        const beaa_modulus *m = &c->mod[0];
        uint64_t *d = dec->data;
        c->kern->sub_mod(d, d, ref->data, c->n, m->q);
        c->kern->ntt_inv(c->ntt[0], d);
        uint64_t worst = 0;
        for (size_t i = 0; i < c->n; i++) {
            uint64_t a = d[i] > m->q / 2 ? m->q - d[i] : d[i];
            if (a > worst) worst = a;
        }
        *log2_inf = worst ? log2((double)worst) : -INFINITY;
    }
    beaa_ckks_plaintext_free(dec);
    beaa_ckks_plaintext_free(ref);
    return st;
}
