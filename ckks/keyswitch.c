/* keyswitch.c - hybrid key switching (see keyswitch.h). Noise: with P >= every digit product
 * Q_j, the key-switching error after the division by P is about dnum * N * sigma * Q_j / P plus
 * the rounding of mod-down (<= alpha), far below the scale; see docs/ckks.md. */
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "lib/mem.h"
#include "ckks/context_internal.h"
#include "ckks/keyswitch.h"
#include "ckks/scratch.h"
#include "ckks/kernels/ref/ref.h"

unsigned beaa_ckks_ks_digits(const beaa_ckks_context *c, unsigned level)
{
    return (level + 1 + c->alpha - 1) / c->alpha;
}

size_t beaa_ckks_ks_decomp_words(const beaa_ckks_context *c, unsigned level)
{
    return (size_t)beaa_ckks_ks_digits(c, level) * (level + 1 + c->alpha) * c->n;
}

/* extended prime index of slot t at level l */
static inline unsigned slot_prime(const beaa_ckks_context *c, unsigned l, unsigned t)
{
    return t <= l ? t : c->L + 1 + (t - l - 1);
}

/* digit j of level l covers the data primes [k0, k1) */
static inline void digit_range(const beaa_ckks_context *c, unsigned l, unsigned j, unsigned *k0,
                               unsigned *k1)
{
    *k0 = j * c->alpha;
    *k1 = *k0 + c->alpha > l + 1 ? l + 1 : *k0 + c->alpha;
}

/* y_i = INTT(in_i) * (Q_D / q_i)^{-1} mod q_i (D the digit of i): the inputs of every mod-up.
 * The result lives in this thread's MODUP scratch buffer. Returns NULL when out of memory. */
static uint64_t *modup_prepare(const beaa_ckks_context *c, const uint64_t *in, unsigned l)
{
    const size_t n = c->n;
    uint64_t *y = beaa_ckks_scratch_get(BEAA_SCRATCH_MODUP, (size_t)(l + 1) * n);
    if (!y) return NULL;
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)l; i++) {
        unsigned k0, k1;
        digit_range(c, l, (unsigned)i / c->alpha, &k0, &k1);
        const beaa_modulus *m = &c->mod[i];
        uint64_t h = 1;
        for (unsigned k = k0; k < k1; k++)
            if (k != (unsigned)i) h = beaa_mul_mod(h, c->mod[k].q % m->q, m);
        uint64_t hinv = beaa_inv_mod(h, m);
        uint64_t *yi = y + (size_t)i * n;
        c->kern->ntt_inv_scaled(c->ntt[i], yi, in + (size_t)i * n, hinv, 0);
    }
    return y;
}

/* The constants of raising digit j of level l to extended prime kp: cst[i - k0] = Q_D / q_i
 * mod p for the digit's primes i in [k0, k1), and their limbs of y in x. */
static void digit_consts(const beaa_ckks_context *c, const uint64_t *y, unsigned l, unsigned j,
                         unsigned kp, uint64_t *cst, const uint64_t **x)
{
    unsigned k0, k1;
    digit_range(c, l, j, &k0, &k1);
    const beaa_modulus *m = &c->mod[kp];
    for (unsigned i = k0; i < k1; i++) {
        uint64_t h = 1;
        for (unsigned k = k0; k < k1; k++)
            if (k != i) h = beaa_mul_mod(h, c->mod[k].q % m->q, m);
        cst[i - k0] = h;
        x[i - k0] = y + (size_t)i * c->n;
    }
}

/* o = digit j raised to slot t (t not in the digit): fast basis conversion, then NTT */
static void digit_limb(const beaa_ckks_context *c, const uint64_t *y, unsigned l, unsigned j,
                       unsigned t, uint64_t *o)
{
    unsigned k0, k1, kp = slot_prime(c, l, t);
    digit_range(c, l, j, &k0, &k1);
    uint64_t cst[BEAA_CKKS_MAX_SPECIAL];
    const uint64_t *x[BEAA_CKKS_MAX_SPECIAL];
    digit_consts(c, y, l, j, kp, cst, x);
    c->kern->basis_conv(o, x, cst, k1 - k0, c->n, &c->mod[kp]);
    c->kern->ntt_fwd(c->ntt[kp], o);
}

/* Digit j raised to the slots ts[0..cnt) (those not in the digit), the conversions in one
 * basis_conv_multi pass over the digit's inputs, then an NTT each: digit j of slot ts[e] at
 * out + e * stride. */
static void digit_limbs(const beaa_ckks_context *c, const uint64_t *y, unsigned l, unsigned j,
                        const unsigned *ts, unsigned cnt, uint64_t *out, size_t stride)
{
    unsigned k0, k1, no = 0, kp[BEAA_CONV_MULTI_MAX];
    digit_range(c, l, j, &k0, &k1);
    uint64_t cst[BEAA_CONV_MULTI_MAX][BEAA_CKKS_MAX_SPECIAL], *r[BEAA_CONV_MULTI_MAX];
    const uint64_t *x[BEAA_CKKS_MAX_SPECIAL], *cp[BEAA_CONV_MULTI_MAX];
    const beaa_modulus *pm[BEAA_CONV_MULTI_MAX];
    for (unsigned e = 0; e < cnt; e++) {
        if (ts[e] >= k0 && ts[e] < k1) continue;
        kp[no] = slot_prime(c, l, ts[e]);
        digit_consts(c, y, l, j, kp[no], cst[no], x);
        cp[no] = cst[no];
        pm[no] = &c->mod[kp[no]];
        r[no] = out + (size_t)e * stride;
        no++;
    }
    if (!no) return;
    c->kern->basis_conv_multi(r, x, cp, k1 - k0, c->n, pm, no);
    for (unsigned o = 0; o < no; o++) c->kern->ntt_fwd(c->ntt[kp[o]], r[o]);
}

/* r0/r1 = (c0, c1) * w + sum_j d[j] * (b_j, a_j) on extended prime kp (c0, c1 NULL: no first
 * term; ks_dot2 in kernels.h, the key's limbs bit-packed), 128-bit lazy accumulation:
 * products < 2^122 and at most 48 digits, so the sums cannot overflow; one reduction each.
 * For q < 2^54 the sums (< 49 q^2 < 2^(b+62)) take the one-multiplication sum_reduce, else the
 * general beaa_reduce128. */
static void inner_slot(const beaa_ckks_context *c, const uint64_t *const *d, unsigned nd,
                       const beaa_ckks_switch_key *key, unsigned kp, uint64_t *r0, uint64_t *r1,
                       const uint64_t *c0, const uint64_t *c1, uint64_t w)
{
    const size_t n = c->n;
    const beaa_modulus *m = &c->mod[kp];
    if (key->fp && c->kern->ks_dot2_fp) {
        /* the key's rows as doubles (keys.h; AVX2: no unpacking, 26-30% less time) */
        const double *fb[BEAA_CKKS_MAX_PRIMES], *fa[BEAA_CKKS_MAX_PRIMES];
        for (unsigned j = 0; j < nd; j++) {
            fb[j] = key->fp + ((size_t)(j * 2) * key->n_limbs + kp) * n;
            fa[j] = fb[j] + (size_t)key->n_limbs * n;
        }
        c->kern->ks_dot2_fp(r0, r1, d, fb, fa, nd, n, m, c0, c1, w);
        return;
    }
    const uint8_t *kb[BEAA_CKKS_MAX_PRIMES], *ka[BEAA_CKKS_MAX_PRIMES];
    for (unsigned j = 0; j < nd; j++) {
        kb[j] = beaa_ckks_switch_key_limb(key, j, 0, kp);
        ka[j] = beaa_ckks_switch_key_limb(key, j, 1, kp);
    }
    if (c->kern->ks_dot2 != beaa_kernels_ref.ks_dot2) {
        /* SIMD kernel (AVX2 FMA for q < 2^50: about 1.5x the scalar loop below) */
        c->kern->ks_dot2(r0, r1, d, kb, ka, nd, n, m, c0, c1, w);
        return;
    }
    /* the ref table: this scalar loop, faster than the generic ref kernel (one-multiplication
     * reduction), a group of 8 residues of each key row at a time */
    beaa_ckks_sum_reducer rd;
    const int fast = beaa_ckks_sum_reducer_init(&rd, m->q);
    for (size_t i = 0; i < n; i += 8) {
        beaa_u128 s0[8], s1[8];
        beaa_ks_sums8_ref(s0, s1, d, kb, ka, nd, i, m->bits, c0, c1, w);
        for (size_t t = 0; t < 8; t++) {
            r0[i + t] = fast ? beaa_ckks_sum_reduce(s0[t], &rd) : beaa_reduce128(s0[t], m);
            r1[i + t] = fast ? beaa_ckks_sum_reduce(s1[t], &rd) : beaa_reduce128(s1[t], m);
        }
    }
}

beaa_status beaa_ckks_ks_decompose(const beaa_ckks_context *c, const uint64_t *in, unsigned l,
                                   uint64_t *out)
{
    const size_t n = c->n;
    const unsigned nd = beaa_ckks_ks_digits(c, l), ns = l + 1 + c->alpha;
    uint64_t *y = modup_prepare(c, in, l);
    if (!y) return BEAA_ERR_NOMEM;
    /* each (digit, slot): copy if the slot's prime is in the digit, else basis-convert + NTT */
    const int total = (int)(nd * ns);
#pragma omp parallel for schedule(dynamic, 1) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int w = 0; w < total; w++) {
        unsigned j = (unsigned)w / ns, t = (unsigned)w % ns, k0, k1;
        digit_range(c, l, j, &k0, &k1);
        uint64_t *o = out + ((size_t)j * ns + t) * n;
        if (t >= k0 && t < k1) memcpy(o, in + (size_t)t * n, n * sizeof *o);
        else digit_limb(c, y, l, j, t, o);
    }
    return BEAA_OK;
}

void beaa_ckks_ks_inner(const beaa_ckks_context *c, const uint64_t *dec, unsigned l,
                        const beaa_ckks_switch_key *key, uint64_t *acc0, uint64_t *acc1)
{
    const size_t n = c->n;
    const unsigned nd = beaa_ckks_ks_digits(c, l), ns = l + 1 + c->alpha;
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int t = 0; t < (int)ns; t++) {
        const uint64_t *d[BEAA_CKKS_MAX_PRIMES];
        for (unsigned j = 0; j < nd; j++) d[j] = dec + ((size_t)j * ns + (unsigned)t) * n;
        inner_slot(c, d, nd, key, slot_prime(c, l, (unsigned)t), acc0 + (size_t)t * n,
                   acc1 + (size_t)t * n, NULL, NULL, 0);
    }
}

/* Slots raised together per pass over the mod-up inputs (digit_limbs): 2 when the inputs of a
 * level (l+1 limbs) do not fit in a 2 MiB L2 next to the streaming key, so each slot read them
 * from L3 (mul+relin+rescale at N=2^15, 16 limbs: -8% on an Emerald Rapids Xeon; at 2^14, 8
 * limbs, no change), and when there are at least 4 groups per thread left to balance the
 * dynamic schedule. */
#define KS_GROUP 2

beaa_status beaa_ckks_ks_product(const beaa_ckks_context *c, const uint64_t *in, unsigned l,
                                 const beaa_ckks_switch_key *key, uint64_t *acc0, uint64_t *acc1,
                                 const uint64_t *add0, const uint64_t *add1, int times_p)
{
    const size_t n = c->n;
    const unsigned nd = beaa_ckks_ks_digits(c, l), ns = l + 1 + c->alpha;
    int nthreads = 1;
#ifdef _OPENMP
    if (n >= BEAA_CKKS_PAR_MIN_N) nthreads = omp_get_max_threads();
#endif
    const unsigned G = (ns / KS_GROUP >= 4 * (unsigned)nthreads &&
                        (size_t)(l + 1) * n * sizeof(uint64_t) > ((size_t)1 << 20)) ? KS_GROUP : 1;
    const unsigned ng = (ns + G - 1) / G;
    uint64_t *y = modup_prepare(c, in, l);
    uint64_t *scratch = beaa_ckks_scratch_get(BEAA_SCRATCH_DIGITS, (size_t)nthreads * G * nd * n);
    if (!y || !scratch) return BEAA_ERR_NOMEM;
    /* by groups of G slots: the digits raised to them live only in this thread's scratch (slot
     * e of the group, digit j at sc + (e * nd + j) * n). The special slots (one more digit to
     * raise each) go first, so the dynamic schedule ends on small items */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int g = 0; g < (int)ng; g++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        uint64_t *sc = scratch + (size_t)tid * G * nd * n;
        unsigned ts[KS_GROUP], cnt = 0;
        for (unsigned e = 0; e < G && g * G + e < ns; e++) ts[cnt++] = ns - 1 - (g * G + e);
        for (unsigned j = 0; j < nd; j++) digit_limbs(c, y, l, j, ts, cnt, sc + (size_t)j * n, nd * n);
        for (unsigned e = 0; e < cnt; e++) {
            const unsigned t = ts[e];
            const uint64_t *d[BEAA_CKKS_MAX_PRIMES];
            for (unsigned j = 0; j < nd; j++) {
                unsigned k0, k1;
                digit_range(c, l, j, &k0, &k1);
                d[j] = t >= k0 && t < k1 ? in + (size_t)t * n : sc + ((size_t)e * nd + j) * n;
            }
            /* the data slots add add0/add1 (times P mod q_t with times_p) in the same pass */
            const int data = add0 && t <= l;
            inner_slot(c, d, nd, key, slot_prime(c, l, t), acc0 + (size_t)t * n,
                       acc1 + (size_t)t * n, data ? add0 + (size_t)t * n : NULL,
                       data ? add1 + (size_t)t * n : NULL, times_p ? c->p_mod[t] : 1);
        }
    }
    return BEAA_OK;
}

beaa_status beaa_ckks_ks_divide2(const beaa_ckks_context *c, uint64_t *const *x, unsigned np,
                                 unsigned nk, const unsigned *drop, unsigned nd, uint64_t *const *out)
{
    return beaa_ckks_ks_divide2_ex(c, x, np, nk, drop, nd, NULL, NULL, out);
}

beaa_status beaa_ckks_ks_divide2_ex(const beaa_ckks_context *c, uint64_t *const *x, unsigned np,
                                    unsigned nk, const unsigned *drop, unsigned nd,
                                    const uint64_t *const *add, const uint32_t *perm,
                                    uint64_t *const *out)
{
    /* round(x / D), D = prod of the dropped primes m_j: with z = x + (D-1)/2 on the dropped limbs
     * and y_j = [z_j (D/m_j)^{-1}]_{m_j}, the fast conversion sum_j y_j (D/m_j) equals (z mod D)
     * plus u*D with u = floor(sum_j y_j/m_j) (found in double precision); subtracting it exactly
     * gives floor((x + (D-1)/2) / D). All polynomials go through each step in one parallel loop
     * (np*nd inverse NTTs, then np*nk limbs), so two threads stay busy. */
    if (nd < 1 || nd > BEAA_CKKS_MAX_SPECIAL + 1 || nk < 1 || np < 1 || np > 2) return BEAA_ERR_INTERNAL;
    const size_t n = c->n;
    uint64_t dhat_inv[BEAA_CKKS_MAX_SPECIAL + 1];
    double recip[BEAA_CKKS_MAX_SPECIAL + 1];
    for (unsigned j = 0; j < nd; j++) {
        const beaa_modulus *m = &c->mod[drop[j]];
        uint64_t h = 1;
        for (unsigned jj = 0; jj < nd; jj++)
            if (jj != j) h = beaa_mul_mod(h, c->mod[drop[jj]].q % m->q, m);
        dhat_inv[j] = beaa_inv_mod(h, m);
        recip[j] = 1.0 / (double)m->q;
    }
    /* per data limb i: dhat[i][j] = D/m_j mod q_i, corr[i][u] = u*D + (D-1)/2 mod q_i, D^{-1} */
    uint64_t dhat[BEAA_CKKS_MAX_PRIMES][BEAA_CKKS_MAX_SPECIAL + 1];
    uint64_t corr[BEAA_CKKS_MAX_PRIMES][BEAA_CKKS_MAX_SPECIAL + 2], dinv[BEAA_CKKS_MAX_PRIMES];
    if (nk > BEAA_CKKS_MAX_PRIMES) return BEAA_ERR_INTERNAL;
    for (unsigned i = 0; i < nk; i++) {
        const beaa_modulus *m = &c->mod[i];
        const uint64_t q = m->q;
        uint64_t dm = 1;
        for (unsigned j = 0; j < nd; j++) {
            dm = beaa_mul_mod(dm, c->mod[drop[j]].q % q, m);
            uint64_t h = 1;
            for (unsigned jj = 0; jj < nd; jj++)
                if (jj != j) h = beaa_mul_mod(h, c->mod[drop[jj]].q % q, m);
            dhat[i][j] = h;
        }
        uint64_t half = beaa_mul_mod(beaa_sub_mod(dm, 1, q), (q + 1) / 2, m);
        for (unsigned uu = 0; uu <= nd; uu++) corr[i][uu] = beaa_add_mod(beaa_mul_mod(uu, dm, m), half, q);
        dinv[i] = beaa_inv_mod(dm, m);
    }
    int nthreads = 1;
#ifdef _OPENMP
    if (n >= BEAA_CKKS_PAR_MIN_N) nthreads = omp_get_max_threads();
#endif
    uint64_t *v = beaa_ckks_scratch_get(BEAA_SCRATCH_DIVIDE, (size_t)nthreads * n); /* a limb per thread */
    uint8_t *u = (uint8_t *)beaa_ckks_scratch_get(BEAA_SCRATCH_DIVIDE_U, (np * n + 7) / 8);
    if (!v || !u) return BEAA_ERR_NOMEM;
    const int nchunk = (int)((n + 1023) / 1024);
#pragma omp parallel num_threads(nthreads) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
#pragma omp for schedule(static)
        for (int w = 0; w < (int)(np * nd); w++) {
            unsigned p = (unsigned)w / nd, j = (unsigned)w % nd, kp = drop[j];
            const beaa_modulus *m = &c->mod[kp];
            uint64_t *z = x[p] + ((size_t)nk + j) * n, h = (m->q - 1) / 2; /* (D-1)/2 mod m_j */
            /* y_j = (z + h) * dhat_inv_j = INTT(z) * dhat_inv_j + h * dhat_inv_j */
            c->kern->ntt_inv_scaled(c->ntt[kp], z, z, dhat_inv[j], beaa_mul_mod(h, dhat_inv[j], m));
        }
#pragma omp for schedule(static)
        for (int w = 0; w < (int)np * nchunk; w++) {
            unsigned p = (unsigned)w / (unsigned)nchunk;
            size_t k0 = (size_t)(w % nchunk) * 1024, k1 = k0 + 1024 > n ? n : k0 + 1024;
            const uint64_t *zs[BEAA_CKKS_MAX_SPECIAL + 1];
            for (unsigned j = 0; j < nd; j++) zs[j] = x[p] + ((size_t)nk + j) * n + k0;
            /* u = floor(sum_j y_j / m_j), 0 <= u < nd */
            c->kern->conv_overflow(u + (size_t)p * n + k0, zs, recip, nd, k1 - k0);
        }
#pragma omp for schedule(static)
        for (int w = 0; w < (int)(np * nk); w++) {
            unsigned p = (unsigned)w / nk, i = (unsigned)w % nk;
            const beaa_modulus *m = &c->mod[i];
            const uint64_t q = m->q;
            const uint64_t *xs[BEAA_CKKS_MAX_SPECIAL + 1];
            for (unsigned j = 0; j < nd; j++) xs[j] = x[p] + ((size_t)nk + j) * n;
            uint64_t *vi = v + (size_t)tid * n;
            const uint64_t *xi = x[p] + (size_t)i * n;
            c->kern->basis_conv_sub(vi, xs, dhat[i], nd, n, m, u + (size_t)p * n, corr[i]);
            c->kern->ntt_fwd(c->ntt[i], vi);
            uint64_t *oi = out[p] + (size_t)i * n;
            if (!perm && !(add && add[p])) {
                c->kern->sub_mul_const(oi, xi, vi, n, dinv[i], beaa_shoup(dinv[i], q), q);
                continue;
            }
            /* finish in the thread's (cached) buffer, then add and permute into out */
            c->kern->sub_mul_const(vi, xi, vi, n, dinv[i], beaa_shoup(dinv[i], q), q);
            if (add && add[p]) c->kern->add_mod(perm ? vi : oi, vi, add[p] + (size_t)i * n, n, q);
            if (perm) c->kern->permute(oi, vi, perm, n);
        }
    }
    return BEAA_OK;
}

beaa_status beaa_ckks_ks_divide(const beaa_ckks_context *c, uint64_t *x, unsigned nk,
                                const unsigned *drop, unsigned nd)
{
    uint64_t *xs[1] = {x};
    return beaa_ckks_ks_divide2(c, xs, 1, nk, drop, nd, xs);
}

beaa_status beaa_ckks_ks_moddown(const beaa_ckks_context *c, uint64_t *acc, unsigned l)
{
    unsigned drop[BEAA_CKKS_MAX_SPECIAL];
    for (unsigned j = 0; j < c->alpha; j++) drop[j] = c->L + 1 + j;
    return beaa_ckks_ks_divide(c, acc, l + 1, drop, c->alpha);
}

beaa_status beaa_ckks_ks_moddown2(const beaa_ckks_context *c, uint64_t *acc0, uint64_t *acc1, unsigned l)
{
    unsigned drop[BEAA_CKKS_MAX_SPECIAL];
    for (unsigned j = 0; j < c->alpha; j++) drop[j] = c->L + 1 + j;
    uint64_t *xs[2] = {acc0, acc1};
    return beaa_ckks_ks_divide2(c, xs, 2, l + 1, drop, c->alpha, xs);
}
