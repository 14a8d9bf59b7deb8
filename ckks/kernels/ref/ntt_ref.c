/* ntt_ref.c - portable negacyclic NTT (the oracle for the SIMD kernels).
 * Forward: Cooley-Tukey, natural -> bit-reversed; inverse: Gentleman-Sande, bit-reversed ->
 * natural with n^-1 merged into the last stage. Harvey lazy butterflies with Shoup twiddles. */
#include <string.h>
#include "ckks/kernels/ref/ref.h"
#include "ckks/ntt.h"

/* Input in [0, 4q), output in [0, 4q). Butterfly: X <- X mod 2q, T = w*Y in [0, 2q),
 * (X, Y) <- (X + T, X - T + 2q). Needs 4q < 2^64. */
void beaa_ntt_fwd_lazy_ref(const beaa_ntt_tables *t, uint64_t *a)
{
    const uint64_t q = t->mod.q, two_q = 2 * q;
    const size_t n = t->n;
    size_t gap = n;
    for (size_t m = 1; m < n; m <<= 1) {
        gap >>= 1;
        for (size_t i = 0; i < m; i++) {
            const uint64_t w = t->fw[m + i], ws = t->fw_shoup[m + i];
            uint64_t *x = a + 2 * i * gap, *y = x + gap;
            for (size_t j = 0; j < gap; j++) {
                uint64_t X = x[j];
                X -= (X >= two_q) ? two_q : 0;
                uint64_t T = beaa_mul_shoup_lazy(y[j], w, ws, q);
                x[j] = X + T;
                y[j] = X - T + two_q;
            }
        }
    }
}

void beaa_ntt_fwd_ref(const beaa_ntt_tables *t, uint64_t *a)
{
    const uint64_t q = t->mod.q, two_q = 2 * q;
    beaa_ntt_fwd_lazy_ref(t, a);
    for (size_t j = 0; j < t->n; j++) {
        uint64_t v = a[j];
        v -= (v >= two_q) ? two_q : 0;
        v -= (v >= q) ? q : 0;
        a[j] = v;
    }
}

/* Input in [0, 2q), output in [0, 2q). Butterfly: (U, V) <- ((U + V) mod 2q, w*(U - V + 2q)),
 * the last stage multiplies both outputs by ni (ni * iv[1] = nw for the second; nis, nws their
 * Shoup forms): n^-1, or n^-1 times the scaled kernel's constant. */
static void inv_lazy(const beaa_ntt_tables *t, uint64_t *a, uint64_t ni, uint64_t nis,
                     uint64_t nw, uint64_t nws)
{
    const uint64_t q = t->mod.q, two_q = 2 * q;
    const size_t n = t->n;
    size_t gap = 1;
    for (size_t m = n >> 1; m > 1; m >>= 1) {
        for (size_t i = 0; i < m; i++) {
            const uint64_t w = t->iv[m + i], ws = t->iv_shoup[m + i];
            uint64_t *x = a + 2 * i * gap, *y = x + gap;
            for (size_t j = 0; j < gap; j++) {
                uint64_t U = x[j], V = y[j];
                uint64_t S = U + V;
                S -= (S >= two_q) ? two_q : 0;
                x[j] = S;
                y[j] = beaa_mul_shoup_lazy(U - V + two_q, w, ws, q);
            }
        }
        gap <<= 1;
    }
    /* last stage: one group, gap n/2 */
    uint64_t *x = a, *y = a + gap;
    for (size_t j = 0; j < gap; j++) {
        uint64_t U = x[j], V = y[j];
        x[j] = beaa_mul_shoup_lazy(U + V, ni, nis, q);
        y[j] = beaa_mul_shoup_lazy(U - V + two_q, nw, nws, q);
    }
}

void beaa_ntt_inv_lazy_ref(const beaa_ntt_tables *t, uint64_t *a)
{
    inv_lazy(t, a, t->n_inv, t->n_inv_shoup, t->n_inv_w, t->n_inv_w_shoup);
}

void beaa_ntt_inv_ref(const beaa_ntt_tables *t, uint64_t *a)
{
    const uint64_t q = t->mod.q;
    inv_lazy(t, a, t->n_inv, t->n_inv_shoup, t->n_inv_w, t->n_inv_w_shoup);
    for (size_t j = 0; j < t->n; j++) a[j] -= (a[j] >= q) ? q : 0;
}

void beaa_ntt_inv_scaled_ref(const beaa_ntt_tables *t, uint64_t *r, const uint64_t *a,
                             uint64_t w, uint64_t c)
{
    const uint64_t q = t->mod.q;
    if (r != a) memcpy(r, a, t->n * sizeof *r);
    const uint64_t ni = beaa_mul_mod(t->n_inv, w, &t->mod);
    const uint64_t nw = beaa_mul_mod(t->n_inv_w, w, &t->mod);
    inv_lazy(t, r, ni, beaa_shoup(ni, q), nw, beaa_shoup(nw, q));
    for (size_t j = 0; j < t->n; j++) r[j] = beaa_add_mod(r[j] - ((r[j] >= q) ? q : 0), c, q);
}
