/* ntt.c - builds the negacyclic NTT tables for one prime q = 1 mod 2n (see ntt.h, kernels.h):
 * finds a primitive 2n-th root psi, then stores psi^brv(k) and psi^-brv(k) with their Shoup forms
 * in the layouts the ref, AVX2 (doubles) and AVX-512 IFMA (52-bit Shoup) kernels read. */
#include "ckks/ntt.h"
#include "ckks/kernels/kernels.h"
#include "lib/cpu.h"
#include "lib/mem.h"

/* Deterministic Miller-Rabin for 64-bit integers (these bases are exact below 3.3e24). */
static int is_prime_u64(uint64_t q)
{
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (q < 2) return 0;
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (q == bases[i]) return 1;
        if (q % bases[i] == 0) return 0;
    }
    beaa_modulus m;
    beaa_modulus_init(&m, q);
    uint64_t d = q - 1;
    unsigned s = 0;
    while ((d & 1) == 0) {
        d >>= 1;
        s++;
    }
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        uint64_t x = beaa_pow_mod(bases[i], d, &m);
        if (x == 1 || x == q - 1) continue;
        int composite = 1;
        for (unsigned r = 1; r < s; r++) {
            x = beaa_mul_mod(x, x, &m);
            if (x == q - 1) {
                composite = 0;
                break;
            }
        }
        if (composite) return 0;
    }
    return 1;
}

/* psi = a^((q-1)/2n) for the smallest a >= 2 for which this has order exactly 2n
 * (order 2n <=> psi^n = -1). Returns 0 if none is found (cannot happen for a prime q). */
static uint64_t find_psi(const beaa_modulus *m, size_t n)
{
    uint64_t q = m->q, e = (q - 1) / (2 * (uint64_t)n);
    for (uint64_t a = 2; a < q && a < 100000; a++) {
        uint64_t psi = beaa_pow_mod(a, e, m);
        if (beaa_pow_mod(psi, n, m) == q - 1) return psi;
    }
    return 0;
}

void beaa_ntt_tables_free(beaa_ntt_tables *t)
{
    if (!t) return;
    beaa_free(t->fw);
    beaa_free(t->fw_shoup);
    beaa_free(t->iv);
    beaa_free(t->iv_shoup);
    beaa_free(t->fw_shoup52);
    beaa_free(t->iv_shoup52);
    beaa_free(t->fw_d);
    beaa_free(t->fw_dq);
    beaa_free(t->iv_d);
    beaa_free(t->iv_dq);
    beaa_free(t->fw_d2);
    beaa_free(t->iv_d2);
    beaa_free(t);
}

/* The 52-bit Shoup forms of the twiddles tw in the layout of ntt.h: the last stage's in the
 * lane order of the IFMA pass, the others at their index. */
static void shoup52_fill(uint64_t *out, const uint64_t *tw, size_t n, uint64_t q)
{
    static const unsigned d1[8] = {0, 1, 4, 5, 2, 3, 6, 7};
    for (size_t k = 0; k < n / 2; k++) out[k] = beaa_shoup52(tw[k], q);
    for (size_t k = n / 2; k < n; k += 8)
        for (unsigned l = 0; l < 8; l++) out[k + l] = beaa_shoup52(tw[k + d1[l]], q);
}

int beaa_ntt_tables_add_ifma52(beaa_ntt_tables *t)
{
    const size_t n = t->n;
    const uint64_t q = t->mod.q;
    if (q >= BEAA_NTT_SMALL_Q_BOUND || n < 16) return -1;
    if (t->fw_shoup52) return 0;
    uint64_t *fs = beaa_alloc(n * sizeof(uint64_t)), *is = beaa_alloc(n * sizeof(uint64_t));
    if (!fs || !is) {
        beaa_free(fs);
        beaa_free(is);
        return -1;
    }
    shoup52_fill(fs, t->fw, n, q);
    shoup52_fill(is, t->iv, n, q);
    t->fw_shoup52 = fs;
    t->iv_shoup52 = is;
    t->n_inv_shoup52 = beaa_shoup52(t->n_inv, q);
    t->n_inv_w_shoup52 = beaa_shoup52(t->n_inv_w, q);
    return 0;
}

beaa_ntt_tables *beaa_ntt_tables_new(uint64_t q, unsigned log_n)
{
    if (log_n < 1 || log_n > 17) return NULL;
    size_t n = (size_t)1 << log_n;
    if (q <= 2 || q >= (UINT64_C(1) << 61) || (q - 1) % (2 * (uint64_t)n) != 0) return NULL;
    if (!is_prime_u64(q)) return NULL;

    beaa_ntt_tables *t = beaa_calloc(1, sizeof *t);
    if (!t) return NULL;
    beaa_modulus_init(&t->mod, q);
    t->n = n;
    t->log_n = log_n;
    t->psi = find_psi(&t->mod, n);
    if (t->psi == 0) goto fail;
    t->psi_inv = beaa_inv_mod(t->psi, &t->mod);

    size_t bytes = n * sizeof(uint64_t);
    t->fw = beaa_alloc(bytes);
    t->fw_shoup = beaa_alloc(bytes);
    t->iv = beaa_alloc(bytes);
    t->iv_shoup = beaa_alloc(bytes);
    if (!t->fw || !t->fw_shoup || !t->iv || !t->iv_shoup) goto fail;

    /* powers in natural order first (fw/iv used as scratch), then scattered bit-reversed */
    uint64_t *pw = t->fw_shoup, *ipw = t->iv_shoup;
    pw[0] = 1;
    ipw[0] = 1;
    for (size_t k = 1; k < n; k++) {
        pw[k] = beaa_mul_mod(pw[k - 1], t->psi, &t->mod);
        ipw[k] = beaa_mul_mod(ipw[k - 1], t->psi_inv, &t->mod);
    }
    for (size_t k = 0; k < n; k++) {
        size_t r = beaa_ntt_bitrev(k, log_n);
        t->fw[k] = pw[r];
        t->iv[k] = ipw[r];
    }
    for (size_t k = 0; k < n; k++) {
        t->fw_shoup[k] = beaa_shoup(t->fw[k], q);
        t->iv_shoup[k] = beaa_shoup(t->iv[k], q);
    }
    t->n_inv = beaa_inv_mod((uint64_t)n % q, &t->mod);
    t->n_inv_shoup = beaa_shoup(t->n_inv, q);
    t->n_inv_w = beaa_mul_mod(t->n_inv, t->iv[1], &t->mod);
    t->n_inv_w_shoup = beaa_shoup(t->n_inv_w, q);

    if (q < BEAA_NTT_SMALL_Q_BOUND && n >= 16 && beaa_cpu_supports(BEAA_ISA_AVX512) &&
        beaa_ntt_tables_add_ifma52(t) != 0)
        goto fail;
    if (q < BEAA_NTT_SMALL_Q_BOUND && beaa_cpu_supports(BEAA_ISA_AVX2)) {
        size_t dbytes = n * sizeof(double);
        t->fw_d = beaa_alloc(dbytes);
        t->fw_dq = beaa_alloc(dbytes);
        t->iv_d = beaa_alloc(dbytes);
        t->iv_dq = beaa_alloc(dbytes);
        t->fw_d2 = beaa_alloc(dbytes);
        t->iv_d2 = beaa_alloc(dbytes);
        if (!t->fw_d || !t->fw_dq || !t->iv_d || !t->iv_dq || !t->fw_d2 || !t->iv_d2) goto fail;
        double qd = (double)q;
        for (size_t k = 0; k < n; k++) {
            t->fw_d[k] = (double)t->fw[k]; /* exact: < 2^50 */
            t->fw_dq[k] = (double)t->fw[k] / qd;
            t->iv_d[k] = (double)t->iv[k];
            t->iv_dq[k] = (double)t->iv[k] / qd;
        }
        for (size_t b = 0; b < n / 8; b++) {
            for (size_t r = 0; r < 4; r++) {
                size_t e = n / 4 + 2 * b + r / 2; /* lanes 0,1: group 2B; lanes 2,3: 2B + 1 */
                t->fw_d2[8 * b + r] = t->fw_d[e];
                t->fw_d2[8 * b + 4 + r] = t->fw_dq[e];
                t->iv_d2[8 * b + r] = t->iv_d[e];
                t->iv_d2[8 * b + 4 + r] = t->iv_dq[e];
            }
        }
        t->n_inv_d = (double)t->n_inv;
        t->n_inv_dq = (double)t->n_inv / qd;
        t->n_inv_w_d = (double)t->n_inv_w;
        t->n_inv_w_dq = (double)t->n_inv_w / qd;
    }
    return t;
fail:
    beaa_ntt_tables_free(t);
    return NULL;
}

const beaa_modulus *beaa_ntt_tables_modulus(const beaa_ntt_tables *t)
{
    return t ? &t->mod : NULL;
}

size_t beaa_ntt_tables_n(const beaa_ntt_tables *t) { return t ? t->n : 0; }
