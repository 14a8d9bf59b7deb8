/* encoder.c - CKKS encode (slots -> scaled, rounded integer polynomial in RNS limbs) and decode
 * (RNS limbs -> exact centered CRT lift -> doubles / scale -> slots), plus scalar constants.
 * Precision notes are in encoder.h; the FFT and the slot orientation are in fft.c / fft.h. */
#include "ckks/encoder.h"
#include <math.h>
#include <string.h>
#include "lib/mem.h"

typedef unsigned __int128 u128;

/* Round to nearest (ties to even) for |x| < 2^62 as int64, without a libm call when |x| < 2^51
 * (adding and subtracting 1.5 * 2^52 rounds in the current, default, rounding mode). */
static inline int64_t round_small(double x)
{
    if (fabs(x) < 0x1p51) {
        const double m = 0x1.8p52; /* (x + m) - m is not folded without -ffast-math */
        return (int64_t)((x + m) - m);
    }
    return (int64_t)rint(x);
}

/* ---- argument checks ---- */

static beaa_status check_mods(const beaa_modulus *mods, size_t num_limbs)
{
    if (!mods || num_limbs == 0 || num_limbs > BEAA_ENCODER_MAX_LIMBS) return BEAA_ERR_ARG;
    for (size_t i = 0; i < num_limbs; i++) {
        uint64_t q = mods[i].q;
        if (q <= 2 || q >= ((uint64_t)1 << 61) || (q & 1) == 0) return BEAA_ERR_ARG;
        for (size_t j = 0; j < i; j++)
            if (mods[j].q == q) return BEAA_ERR_ARG;
    }
    return BEAA_OK;
}

static beaa_status check_scale(double scale)
{
    return (isfinite(scale) && scale > 0.0) ? BEAA_OK : BEAA_ERR_SCALE_RANGE;
}

/* Largest magnitude an encoded integer may have: min((Q-1)/2, 2^126 - 1) (Q odd). */
static u128 max_magnitude(const beaa_modulus *mods, size_t num_limbs)
{
    const u128 cap = ((u128)1 << 126) - 1;
    u128 Q = 1;
    for (size_t i = 0; i < num_limbs; i++) {
        u128 q = mods[i].q;
        if (Q > (~(u128)0) / q) return cap; /* Q >= 2^128 > 2^127 */
        Q *= q;
    }
    u128 half = (Q - 1) / 2;
    return half < cap ? half : cap;
}

/* ---- exact rounding of a two-double value ---- */

static int is_power_of_two(double x)
{
    int e;
    return frexp(x, &e) == 0.5;
}

/* An integer-valued double 0 <= x < 2^127 as an exact 128-bit integer. */
static u128 u128_from_integral(double x)
{
    if (x < 0x1p64) return (u128)(uint64_t)x;
    int ex;
    double m = frexp(x, &ex); /* x = m * 2^ex, m in [0.5, 1), 64 < ex <= 127 */
    uint64_t mant = (uint64_t)ldexp(m, 53);
    return (u128)mant << (ex - 53);
}

/* Rounding of a two-double value p + e (|e| <= ulp(p)/2, p >= 0) to the nearest integer:
 * rp = rint(p) and f = p - rp are exact. Only an exact tie of p (|f| = 1/2) can be decided by
 * e; for p >= 2^52 the fraction lives in e alone (then rint(e) is exact); otherwise
 * |f| <= 1/2 - ulp(p) and |e| <= ulp(p)/2 cannot cross 1/2. Returns the correction to add to
 * rp: -1, 0, +1, or rint(e) (ties of the exact value may go either way). */
static inline double round_correction(double p, double rp, double e)
{
    double f = p - rp;
    if (f == 0.5) return e > 0 ? 1.0 : 0.0;
    if (f == -0.5) return e < 0 ? -1.0 : 0.0;
    if (p >= 0x1p52) return rint(e);
    return 0.0;
}

/* round(c * scale) exactly, as sign and magnitude. The product is split as p + e with
 * p = fl(c*scale) and e its exact error (zero when scale is a power of two, else by fma).
 * Returns 0 when |p| is not below 2^126 (or NaN/inf), else 1. */
static int scaled_round(double c, double scale, int scale_pow2, int *neg, u128 *mag)
{
    double p = c * scale;
    if (!(fabs(p) < 0x1p126)) return 0;
    double e = scale_pow2 ? 0.0 : fma(c, scale, -p);
    *neg = 0;
    if (p < 0 || (p == 0 && e < 0)) {
        p = -p;
        e = -e;
        *neg = 1;
    }
    double rp = rint(p);
    double rd = round_correction(p, rp, e);
    u128 r = u128_from_integral(rp);
    if (rd >= 0) r += u128_from_integral(rd);
    else r -= u128_from_integral(-rd);
    *mag = r;
    return 1;
}

/* x mod q for x < 2^64, with mu = floor(2^64 / q) (= m->barrett_hi). */
static inline uint64_t reduce_u64(uint64_t x, uint64_t q, uint64_t mu)
{
    uint64_t qh = (uint64_t)(((u128)x * mu) >> 64);
    uint64_t r = x - qh * q; /* in [0, 2q) */
    return r >= q ? r - q : r;
}

/* (neg ? -mag : mag) mod q, any mag < 2^128. */
static inline uint64_t reduce_signed(int neg, u128 mag, const beaa_modulus *m)
{
    uint64_t r = beaa_reduce128(mag, m);
    return neg ? beaa_neg_mod(r, m->q) : r;
}

/* ---- encode ---- */

/* Pass 1, fast case: scale a power of two (products exact) and every |c*scale| < 2^51.
 * Rounds to nearest-even without branches or libm calls: the bits of (p + 1.5*2^52) minus
 * those of 1.5*2^52 are the integer round(p). Returns 0 (and leaves the rest) if some
 * |c*scale| is too large or NaN, else 1 with *maxabs = max |round(c*scale)|. */
static int round_pow2_small(const double *restrict c, size_t n, double scale,
                            int64_t *restrict ints, uint64_t *maxabs)
{
    const double M = 0x1.8p52;
    uint64_t mbits;
    memcpy(&mbits, &M, sizeof mbits);
    double maxp = 0.0;
    for (size_t k = 0; k < n; k++) {
        double p = c[k] * scale, ap = fabs(p);
        if (!(ap < 0x1p51)) return 0;
        maxp = ap > maxp ? ap : maxp;
        double y = p + M;
        uint64_t b;
        memcpy(&b, &y, sizeof b);
        ints[k] = (int64_t)(b - mbits);
    }
    *maxabs = (uint64_t)round_small(maxp); /* round is monotone and odd: max |round(p)| */
    return 1;
}

/* Pass 1, general case: any positive scale, |c*scale| < 2^62, exact two-product rounding.
 * Returns 0 if some |c*scale| >= 2^62 or NaN, else 1 with *maxabs. */
static int round_general_small(const double *c, size_t n, double scale, int pow2,
                               int64_t *ints, uint64_t *maxabs)
{
    uint64_t mx = 0;
    for (size_t k = 0; k < n; k++) {
        double p = c[k] * scale;
        if (!(fabs(p) < 0x1p62)) return 0;
        double e = pow2 ? 0.0 : fma(c[k], scale, -p), ap = fabs(p), rp = rint(ap);
        int64_t m = (int64_t)rp + (int64_t)round_correction(ap, rp, p < 0 ? -e : e);
        uint64_t a = (uint64_t)m;
        mx = a > mx ? a : mx;
        ints[k] = p < 0 ? -m : m;
    }
    *maxabs = mx;
    return 1;
}

/* Pass 2: signed integers |r| <= maxabs < 2^63 into limb i. */
static void reduce_ints(const int64_t *restrict ints, size_t n, uint64_t maxabs,
                        const beaa_modulus *m, uint64_t *restrict o)
{
    const uint64_t q = m->q, mu = m->barrett_hi;
    if (maxabs < q) {
        for (size_t k = 0; k < n; k++) {
            uint64_t u = (uint64_t)ints[k];
            o[k] = u + (q & ((uint64_t)0 - (u >> 63))); /* r < 0: r + q */
        }
    } else {
        for (size_t k = 0; k < n; k++) {
            uint64_t u = (uint64_t)ints[k], s = u >> 63;
            uint64_t a = (u ^ ((uint64_t)0 - s)) + s; /* |r| */
            uint64_t v = reduce_u64(a, q, mu);
            uint64_t nv = (q - v) & ((uint64_t)0 - (uint64_t)(v != 0));
            o[k] = s ? nv : v;
        }
    }
}

/* Scaled rounding of n coefficients into limbs, plus noise[k] (NULL: none); ints is scratch of
 * n words. */
static beaa_status coeffs_encode_scratch(const double *coeffs, size_t n, double scale,
                                         const beaa_modulus *mods, size_t num_limbs,
                                         const int8_t *noise, uint64_t *out, int64_t *ints)
{
    const int pow2 = is_power_of_two(scale);
    const u128 lim = max_magnitude(mods, num_limbs);
    uint64_t maxabs = 0;
    int small = (pow2 && round_pow2_small(coeffs, n, scale, ints, &maxabs)) ||
                round_general_small(coeffs, n, scale, pow2, ints, &maxabs);
    if (small) {
        if ((u128)maxabs > lim) return BEAA_ERR_VALUE;
        if (noise) { /* |round| < 2^62: the sum stays an int64 */
            for (size_t k = 0; k < n; k++) ints[k] += noise[k];
            maxabs += 128;
        }
        for (size_t i = 0; i < num_limbs; i++) reduce_ints(ints, n, maxabs, &mods[i], out + i * n);
        return BEAA_OK;
    }

    /* large coefficients (>= 2^62): 128-bit rounding and reduction per coefficient */
    for (size_t k = 0; k < n; k++) {
        int neg;
        u128 mag;
        if (!scaled_round(coeffs[k], scale, pow2, &neg, &mag) || mag > lim) return BEAA_ERR_VALUE;
        for (size_t i = 0; i < num_limbs; i++) {
            uint64_t r = reduce_signed(neg, mag, &mods[i]), q = mods[i].q;
            if (noise) { /* + noise[k] mod q, |noise| < q, without a branch on the (secret) noise */
                uint64_t v = (uint64_t)(int64_t)noise[k];
                uint64_t e = v + (q & ((uint64_t)0 - (v >> 63)));
                r += e;
                r -= q & ((uint64_t)0 - (uint64_t)(r >= q));
            }
            out[i * n + k] = r;
        }
    }
    return BEAA_OK;
}

beaa_status beaa_encoder_coeffs_encode(const double *coeffs, size_t n, double scale,
                                       const beaa_modulus *mods, size_t num_limbs, uint64_t *out)
{
    if (!coeffs || !out || n == 0) return BEAA_ERR_ARG;
    beaa_status st = check_mods(mods, num_limbs);
    if (st != BEAA_OK) return st;
    if ((st = check_scale(scale)) != BEAA_OK) return st;
    int64_t *ints = beaa_alloc(n * sizeof(int64_t));
    if (!ints) return BEAA_ERR_NOMEM;
    st = coeffs_encode_scratch(coeffs, n, scale, mods, num_limbs, NULL, out, ints);
    beaa_free_secret(ints, n * sizeof(int64_t));
    return st;
}

beaa_status beaa_encoder_encode(const beaa_fft_tables *t, const double *re, const double *im,
                                size_t count, double scale, const beaa_modulus *mods,
                                size_t num_limbs, uint64_t *out)
{
    return beaa_encoder_encode_noisy(t, re, im, count, scale, mods, num_limbs, NULL, out);
}

beaa_status beaa_encoder_encode_noisy(const beaa_fft_tables *t, const double *re, const double *im,
                                      size_t count, double scale, const beaa_modulus *mods,
                                      size_t num_limbs, const int8_t *noise, uint64_t *out)
{
    if (!t || !out || (!re && count > 0)) return BEAA_ERR_ARG;
    beaa_status st = check_mods(mods, num_limbs);
    if (st != BEAA_OK) return st;
    if ((st = check_scale(scale)) != BEAA_OK) return st;
    const size_t n = beaa_fft_tables_degree(t);
    if (count > n / 2) return BEAA_ERR_SLOTS;
    for (size_t j = 0; j < count; j++)
        if (!isfinite(re[j]) || (im && !isfinite(im[j]))) return BEAA_ERR_VALUE;

    /* scratch: n doubles (FFT work, then the real coefficients) + n int64 (rounded) */
    unsigned char *scratch = beaa_alloc(2 * n * sizeof(double));
    if (!scratch) return BEAA_ERR_NOMEM;
    double *coeffs = (double *)(void *)scratch;
    int64_t *ints = (int64_t *)(void *)(scratch + n * sizeof(double));
    beaa_fft_slots_to_coeffs(t, re, im, count, coeffs);
    st = coeffs_encode_scratch(coeffs, n, scale, mods, num_limbs, noise, out, ints);
    beaa_free_secret(scratch, 2 * n * sizeof(double)); /* the message is private */
    return st;
}

beaa_status beaa_encoder_encode_real(const beaa_fft_tables *t, const double *vals, size_t count,
                                     double scale, const beaa_modulus *mods, size_t num_limbs,
                                     uint64_t *out)
{
    return beaa_encoder_encode(t, vals, NULL, count, scale, mods, num_limbs, out);
}

/* ---- decode: exact centered CRT lift ---- */

/* Garner constants for the basis mods[0..L): for i >= 1, pj[i*L + j] = (q_0*...*q_{j-1}) mod q_i
 * (j < i; pj[i*L] = 1) and pinv[i] = (q_0*...*q_{i-1})^{-1} mod q_i. */
static void garner_constants(const beaa_modulus *mods, size_t L, uint64_t *pj, uint64_t *pinv)
{
    for (size_t i = 1; i < L; i++) {
        const beaa_modulus *m = &mods[i];
        uint64_t prod = 1 % m->q;
        for (size_t j = 0; j < i; j++) {
            pj[i * L + j] = prod;
            prod = beaa_mul_mod(prod, beaa_reduce64(mods[j].q, m), m);
        }
        pinv[i] = beaa_inv_mod(prod, m);
    }
}

static beaa_status lift_centered_impl(const uint64_t *limbs, size_t n, const beaa_modulus *mods,
                                      size_t L, double scale, double *out)
{
    /* every word must be reduced */
    for (size_t i = 0; i < L; i++) {
        const uint64_t q = mods[i].q, *x = limbs + i * n;
        uint64_t bad = 0;
        for (size_t k = 0; k < n; k++) bad |= (uint64_t)(x[k] >= q);
        if (bad) return BEAA_ERR_ARG;
    }
    const int pow2 = is_power_of_two(scale);
    const double inv_scale = 1.0 / scale; /* exact when scale is a power of two (and normal) */
    const int inv_exact = pow2 && isfinite(inv_scale) && isnormal(inv_scale);
    int finite = 1;

    if (L == 1) {
        const uint64_t q = mods[0].q, halfq = (q - 1) / 2;
        for (size_t k = 0; k < n; k++) {
            uint64_t x = limbs[k];
            int64_t v = x > halfq ? -(int64_t)(q - x) : (int64_t)x;
            double d = inv_exact ? (double)v * inv_scale : (double)((long double)v / scale);
            finite &= isfinite(d);
            out[k] = d;
        }
        return finite ? BEAA_OK : BEAA_ERR_VALUE;
    }

    uint64_t *pj = beaa_alloc((L * L + L) * sizeof(uint64_t));
    if (!pj) return BEAA_ERR_NOMEM;
    uint64_t *pinv = pj + L * L;
    garner_constants(mods, L, pj, pinv);
    const long double lscale = (long double)scale;

    /* Fast window: the centered lift X of (x_0, x_1) mod q_0*q_1 (exact, 128 bits). If X also
     * matches every other limb, then X = x mod Q and |X| < q_0*q_1/2 < Q/2, so X IS the
     * centered lift; this is the common case (a decrypted message is small) and costs O(L).
     * Otherwise the full O(L^2) Garner below is used for that coefficient. */
    const beaa_modulus *m1 = &mods[1];
    const u128 q01 = (u128)mods[0].q * m1->q, half01 = (q01 - 1) / 2;
    const uint64_t inv01 = pinv[1], inv01s = beaa_shoup(inv01, m1->q);

    uint64_t u[BEAA_ENCODER_MAX_LIMBS]; /* mixed-radix digits, u_i in [0, q_i) */
    int64_t a[BEAA_ENCODER_MAX_LIMBS];  /* balanced digits, |a_i| <= (q_i - 1)/2 */
    for (size_t k = 0; k < n; k++) {
        uint64_t x0 = limbs[k];
        uint64_t d1 = beaa_sub_mod(limbs[n + k], reduce_u64(x0, m1->q, m1->barrett_hi), m1->q);
        uint64_t u1 = beaa_mul_shoup(d1, inv01, inv01s, m1->q);
        u128 X = (u128)x0 + (u128)u1 * mods[0].q;
        /* branch-free: the sign of a decrypted message is random */
        const int neg = X > half01;
        const u128 nmask = (u128)0 - (u128)neg;
        const u128 mag = ((q01 - X) & nmask) | (X & ~nmask);
        const uint64_t nm64 = (uint64_t)nmask;
        int match = 1;
        for (size_t i = 2; i < L && match; i++) {
            const beaa_modulus *m = &mods[i];
            uint64_t r = (mag >> 64) ? beaa_reduce128(mag, m) : reduce_u64((uint64_t)mag, m->q,
                                                                             m->barrett_hi);
            /* neg: q - r, or 0 when r == 0 */
            uint64_t nr = (m->q - r) & ((uint64_t)0 - (uint64_t)(r != 0));
            r = (nr & nm64) | (r & ~nm64);
            match = (r == limbs[i * n + k]);
        }
        long double v;
        if (match && inv_exact && (mag >> 63) == 0) {
            /* one rounding (int64 -> double), then an exact power-of-two scaling */
            uint64_t m64 = (uint64_t)mag;
            int64_t sv = (int64_t)((m64 ^ nm64) - nm64); /* +-mag */
            double d = (double)sv * inv_scale;
            finite &= isfinite(d);
            out[k] = d;
            continue;
        }
        if (match) {
            v = (long double)(uint64_t)(mag >> 64) * 0x1p64L + (long double)(uint64_t)mag;
            if (neg) v = -v;
        } else {
            /* Garner: x = sum_i u_i * P_i, P_i = q_0...q_{i-1}; u_i = (x_i - sum_{j<i} u_j P_j)
             * * P_i^{-1} mod q_i; products < 2^122, summed lazily in 128 bits (<= 32 at a
             * time). */
            u[0] = x0;
            u[1] = u1;
            for (size_t i = 2; i < L; i++) {
                const beaa_modulus *m = &mods[i];
                const uint64_t *c = pj + i * L;
                uint64_t acc_red = 0;
                u128 acc = 0;
                for (size_t j = 0; j < i; j++) {
                    acc += (u128)u[j] * c[j];
                    if ((j & 31) == 31) {
                        acc_red = beaa_add_mod(acc_red, beaa_reduce128(acc, m), m->q);
                        acc = 0;
                    }
                }
                acc_red = beaa_add_mod(acc_red, beaa_reduce128(acc, m), m->q);
                uint64_t diff = beaa_sub_mod(limbs[i * n + k], acc_red, m->q);
                u[i] = beaa_mul_mod(diff, pinv[i], m);
            }
            /* balanced digits with carry: the sum of balanced digits covers exactly the
             * centered range [-(Q-1)/2, (Q-1)/2]; a final carry is a multiple of Q, dropped */
            uint64_t carry = 0;
            for (size_t i = 0; i < L; i++) {
                uint64_t q = mods[i].q, w = u[i] + carry; /* <= q */
                if (w > (q - 1) / 2) {
                    a[i] = -(int64_t)(q - w);
                    carry = 1;
                } else {
                    a[i] = (int64_t)w;
                    carry = 0;
                }
            }
            /* Horner from the top digit in long double */
            v = (long double)a[L - 1];
            for (size_t i = L - 1; i-- > 0;) v = v * (long double)mods[i].q + (long double)a[i];
        }
        double d = (double)(v / lscale);
        finite &= isfinite(d);
        out[k] = d;
    }
    beaa_memzero(u, sizeof u);
    beaa_memzero(a, sizeof a);
    beaa_free(pj);
    return finite ? BEAA_OK : BEAA_ERR_VALUE;
}

beaa_status beaa_encoder_lift_centered(const uint64_t *limbs, size_t n, const beaa_modulus *mods,
                                       size_t num_limbs, double scale, double *out)
{
    if (!limbs || !out || n == 0) return BEAA_ERR_ARG;
    beaa_status st = check_mods(mods, num_limbs);
    if (st != BEAA_OK) return st;
    if ((st = check_scale(scale)) != BEAA_OK) return st;
    return lift_centered_impl(limbs, n, mods, num_limbs, scale, out);
}

beaa_status beaa_encoder_decode(const beaa_fft_tables *t, const uint64_t *limbs,
                                const beaa_modulus *mods, size_t num_limbs, double scale,
                                double *re, double *im, size_t count)
{
    if (!t || !limbs || !re) return BEAA_ERR_ARG;
    beaa_status st = check_mods(mods, num_limbs);
    if (st != BEAA_OK) return st;
    if ((st = check_scale(scale)) != BEAA_OK) return st;
    const size_t n = beaa_fft_tables_degree(t);
    if (count > n / 2) return BEAA_ERR_SLOTS;
    double *coeffs = beaa_alloc(n * sizeof(double));
    if (!coeffs) return BEAA_ERR_NOMEM;
    st = lift_centered_impl(limbs, n, mods, num_limbs, scale, coeffs);
    if (st == BEAA_OK) beaa_fft_coeffs_to_slots(t, coeffs, re, im, count);
    beaa_free_secret(coeffs, n * sizeof(double));
    return st;
}

beaa_status beaa_encoder_decode_real(const beaa_fft_tables *t, const uint64_t *limbs,
                                     const beaa_modulus *mods, size_t num_limbs, double scale,
                                     double *vals, size_t count)
{
    return beaa_encoder_decode(t, limbs, mods, num_limbs, scale, vals, NULL, count);
}

/* ---- scalar constants ---- */

beaa_status beaa_encoder_round_encode(double x, const beaa_modulus *mods, size_t num_limbs,
                                      uint64_t *out)
{
    if (!out) return BEAA_ERR_ARG;
    beaa_status st = check_mods(mods, num_limbs);
    if (st != BEAA_OK) return st;
    int neg;
    u128 mag;
    if (!scaled_round(x, 1.0, 1, &neg, &mag) || mag > max_magnitude(mods, num_limbs))
        return BEAA_ERR_VALUE;
    for (size_t i = 0; i < num_limbs; i++) out[i] = reduce_signed(neg, mag, &mods[i]);
    return BEAA_OK;
}

beaa_status beaa_encoder_const_encode(double value, double scale, const beaa_modulus *mods,
                                      size_t num_limbs, uint64_t *out)
{
    if (!out) return BEAA_ERR_ARG;
    beaa_status st = check_mods(mods, num_limbs);
    if (st != BEAA_OK) return st;
    if ((st = check_scale(scale)) != BEAA_OK) return st;
    if (!isfinite(value)) return BEAA_ERR_VALUE;
    int neg;
    u128 mag;
    if (!scaled_round(value, scale, is_power_of_two(scale), &neg, &mag) ||
        mag > max_magnitude(mods, num_limbs))
        return BEAA_ERR_VALUE;
    for (size_t i = 0; i < num_limbs; i++) out[i] = reduce_signed(neg, mag, &mods[i]);
    return BEAA_OK;
}

beaa_status beaa_encoder_int_encode(int64_t v, const beaa_modulus *mods, size_t num_limbs,
                                    uint64_t *out)
{
    if (!out) return BEAA_ERR_ARG;
    beaa_status st = check_mods(mods, num_limbs);
    if (st != BEAA_OK) return st;
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    for (size_t i = 0; i < num_limbs; i++) out[i] = reduce_signed(v < 0, (u128)a, &mods[i]);
    return BEAA_OK;
}
