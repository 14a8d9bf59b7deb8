/* encoder.h - the CKKS encoder: N/2 complex slots <-> an integer polynomial in RNS form
 * (coefficient form, one limb per prime), and per-limb encodings of scalar constants.
 * Takes plain arguments (tables, primes, scale) so the CKKS core can wrap it; slot orientation
 * (rotation = left shift, X -> X^-1 = conjugation) is stated in ckks/fft.h.
 *
 * Layout: a polynomial with L+1 limbs is ONE array of (L+1)*N words, limb i (mod mods[i].q) at
 * out + i*N, coefficient k at out[i*N + k], values in [0, q_i). The core applies the NTT.
 *
 * Precision. Encode: the coefficients are computed by the FFT in double (absolute error about
 * log2(N) * 2^-53 * max|slot|), then multiplied by the scale as an exact two-double product and
 * rounded to the nearest integer (exactly, up to 2^126; ties may go either way), then reduced
 * exactly into every limb. Decode: the centered lift of each coefficient (in (-Q/2, Q/2]) is
 * exact (Garner's mixed radix with balanced digits, no GMP); its value divided by the scale is
 * accumulated in long double (relative error <= about (L+2) * 2^-63) and rounded to double.
 * All functions are reentrant; they allocate at most one scratch buffer per call. */
#ifndef BEAA_ENCODER_H
#define BEAA_ENCODER_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "ckks/modarith.h"
#include "ckks/fft.h"

/* Most limbs any encoder function accepts. */
#define BEAA_ENCODER_MAX_LIMBS 128u

/* Common rules for the arguments `mods, num_limbs` below: 1 <= num_limbs <=
 * BEAA_ENCODER_MAX_LIMBS, each mods[i] initialized by beaa_modulus_init with an odd q in
 * (2, 2^61), all q distinct primes (pairwise coprime): else BEAA_ERR_ARG.
 * `scale` must be finite and > 0: else BEAA_ERR_SCALE_RANGE.
 * A value is "too large" (BEAA_ERR_VALUE) when its scaled, rounded integer x has
 * |x| >= Q/2 (Q = product of the num_limbs primes) or |x| >= 2^126. */

/* Encodes slots re[j] + i*im[j], j < count (im NULL: real), at `scale` into out
 * (num_limbs*N words, see Layout): out = round(scale * m) mod q_i with m the real polynomial of
 * fft.h whose slots are the values (remaining slots 0).
 * Errors: BEAA_ERR_ARG (NULL t/re/mods/out), BEAA_ERR_SLOTS (count > N/2), BEAA_ERR_VALUE (a
 * NaN/inf value or a too-large coefficient), BEAA_ERR_SCALE_RANGE, BEAA_ERR_NOMEM. On error the
 * contents of out are unspecified (but no out-of-range word is read or written). */
BEAA_MUST_CHECK beaa_status beaa_encoder_encode(const beaa_fft_tables *t, const double *re,
                                                const double *im, size_t count, double scale,
                                                const beaa_modulus *mods, size_t num_limbs,
                                                uint64_t *out);
/* beaa_encoder_encode with a small integer noise added to the rounded coefficients:
 * out[i*n + k] = (round(scale * c_k) + noise[k]) mod q_i (NULL noise: none). The error of a
 * secret-key encryption joins the message here, once for all limbs (crypt.c). */
BEAA_MUST_CHECK beaa_status beaa_encoder_encode_noisy(const beaa_fft_tables *t, const double *re,
                                                      const double *im, size_t count, double scale,
                                                      const beaa_modulus *mods, size_t num_limbs,
                                                      const int8_t *noise, uint64_t *out);
/* Real-only convenience: beaa_encoder_encode(t, vals, NULL, ...). */
BEAA_MUST_CHECK beaa_status beaa_encoder_encode_real(const beaa_fft_tables *t, const double *vals,
                                                     size_t count, double scale,
                                                     const beaa_modulus *mods, size_t num_limbs,
                                                     uint64_t *out);

/* Scales and rounds n real coefficients into limbs: out[i*n + k] = round(scale*coeffs[k]) mod q_i.
 * (The second half of encode; also usable to encode a polynomial given by its coefficients.)
 * Errors: BEAA_ERR_ARG (NULL, n == 0), BEAA_ERR_VALUE, BEAA_ERR_SCALE_RANGE. */
BEAA_MUST_CHECK beaa_status beaa_encoder_coeffs_encode(const double *coeffs, size_t n, double scale,
                                                       const beaa_modulus *mods, size_t num_limbs,
                                                       uint64_t *out);

/* Decodes a coefficient-form polynomial (num_limbs*N words, see Layout) at `scale`: writes the
 * first `count` slots to re (and im unless NULL). Errors: BEAA_ERR_ARG (NULL t/re/mods/limbs, or
 * a limb word >= its q), BEAA_ERR_SLOTS (count > N/2), BEAA_ERR_SCALE_RANGE, BEAA_ERR_VALUE (a
 * coefficient/scale overflows a double: the input is not a small message), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_encoder_decode(const beaa_fft_tables *t, const uint64_t *limbs,
                                                const beaa_modulus *mods, size_t num_limbs,
                                                double scale, double *re, double *im,
                                                size_t count);
/* Real parts only: beaa_encoder_decode(t, limbs, mods, num_limbs, scale, vals, NULL, count). */
BEAA_MUST_CHECK beaa_status beaa_encoder_decode_real(const beaa_fft_tables *t,
                                                     const uint64_t *limbs,
                                                     const beaa_modulus *mods, size_t num_limbs,
                                                     double scale, double *vals, size_t count);

/* Exact centered CRT lift of n coefficients, divided by scale: out[k] = x_k / scale, x_k the
 * unique integer in (-Q/2, Q/2] with x_k = limbs[i*n + k] mod q_i for all i < num_limbs.
 * Errors: BEAA_ERR_ARG (NULL, n == 0, a word >= its q), BEAA_ERR_SCALE_RANGE, BEAA_ERR_VALUE
 * (a result is not finite as a double; the other outputs are still written), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_encoder_lift_centered(const uint64_t *limbs, size_t n,
                                                       const beaa_modulus *mods, size_t num_limbs,
                                                       double scale, double *out);

/* A real constant at a scale, per limb: out[i] = round(value * scale) mod q_i (num_limbs words).
 * As a polynomial this is the constant `value` in every slot (add it to coefficient 0 in
 * coefficient form, or to every coefficient in NTT form; multiply every coefficient by it for
 * mul_const). Errors: BEAA_ERR_ARG, BEAA_ERR_VALUE (NaN/inf/too large), BEAA_ERR_SCALE_RANGE. */
BEAA_MUST_CHECK beaa_status beaa_encoder_const_encode(double value, double scale,
                                                      const beaa_modulus *mods, size_t num_limbs,
                                                      uint64_t *out);
/* Rounds x to the nearest integer r (exactly, |x| < 2^126) and writes r mod q_i (num_limbs words).
 * Errors: BEAA_ERR_ARG, BEAA_ERR_VALUE (NaN/inf, |r| >= Q/2 or >= 2^126). */
BEAA_MUST_CHECK beaa_status beaa_encoder_round_encode(double x, const beaa_modulus *mods,
                                                      size_t num_limbs, uint64_t *out);
/* An integer per limb: out[i] = v mod q_i (num_limbs words; e.g. an integer weight round(w*2^k)).
 * No size limit relative to Q (v is reduced as is). Errors: BEAA_ERR_ARG. */
BEAA_MUST_CHECK beaa_status beaa_encoder_int_encode(int64_t v, const beaa_modulus *mods,
                                                    size_t num_limbs, uint64_t *out);

#endif
