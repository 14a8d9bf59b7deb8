/* fft.h - the "special FFT" of CKKS: the canonical embedding of R = Z[X]/(X^N + 1) restricted
 * to the N/2 slots of the orbit of 5, i.e. real coefficients <-> N/2 complex slot values,
 * O(N log N) with tables precomputed once per ring degree N (opaque beaa_fft_tables).
 *
 * ORIENTATION CONTRACT (the CKKS core and its tests rely on it):
 *   Let zeta = exp(i*pi/N), a primitive 2N-th root of unity. For a real polynomial
 *   m(X) = sum_{k<N} c_k X^k, slot j (0 <= j < N/2) is
 *        slot_j(m) = m(zeta^(5^j mod 2N)),
 *   and the conjugate orbit zeta^(-5^j) holds conj(slot_j): m is real, so nothing is lost.
 *   Consequences:
 *   - the automorphism X -> X^(5^k mod 2N) (rotation by k) maps slot j to slot_{(j+k) mod N/2}
 *     of the input: the slot vector is shifted LEFT by k (new[j] = old[j+k]);
 *   - X -> X^(2N-1) (= X^-1) conjugates every slot (new[j] = conj(old[j]));
 *   - X^(N/2) evaluates to i in every slot (5^j = 1 mod 4), so a complex constant a + b*i in
 *     all slots is the polynomial a + b*X^(N/2).
 *
 * Arrays are plain doubles: complex values are passed as separate real and imaginary arrays.
 * The tables are immutable after creation: one table may be shared by any number of threads. */
#ifndef BEAA_FFT_H
#define BEAA_FFT_H
#include <stddef.h>
#include "lib/status.h"

typedef struct beaa_fft_tables beaa_fft_tables;

/* Smallest and largest supported ring degree N (powers of two). */
#define BEAA_FFT_MIN_N 4u
#define BEAA_FFT_MAX_N 131072u

/* Creates the tables for ring degree n (a power of two in [BEAA_FFT_MIN_N, BEAA_FFT_MAX_N]).
 * Roots are cos/sin of exact multiples of 2*pi/(2n) evaluated in long double and rounded once
 * (exact symmetries: zeta^(N/2) = i exactly). *out is owned by the caller (beaa_fft_tables_free).
 * Errors: BEAA_ERR_ARG (out NULL, n not a supported power of two), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_fft_tables_new(size_t n, beaa_fft_tables **out);
/* Frees the tables (NULL allowed). */
void beaa_fft_tables_free(beaa_fft_tables *t);
/* Ring degree N the tables were made for. */
size_t beaa_fft_tables_degree(const beaa_fft_tables *t);
/* Number of slots N/2. */
size_t beaa_fft_tables_slots(const beaa_fft_tables *t);

/* Slots -> real coefficients ("encode" direction, no scaling, no rounding).
 * re, im: `count` slot values (count <= N/2; im may be NULL meaning all-real; remaining slots
 * are zero). coeffs: N doubles written (it is also the work area; must not alias re/im).
 * The result m satisfies slot_j(m) = re[j] + i*im[j] up to floating-point rounding
 * (about log2(N) * 2^-53 * max|slot| absolute). Preconditions (not checked): t valid,
 * count <= N/2, values finite. */
void beaa_fft_slots_to_coeffs(const beaa_fft_tables *t, const double *re, const double *im,
                              size_t count, double *coeffs);

/* Real coefficients -> slots ("decode" direction, no scaling).
 * coeffs: N doubles, DESTROYED (used as the work area). re, im: the first `count` slots are
 * written (count <= N/2; im may be NULL when imaginary parts are not wanted). */
void beaa_fft_coeffs_to_slots(const beaa_fft_tables *t, double *coeffs, double *re, double *im,
                              size_t count);

#endif
