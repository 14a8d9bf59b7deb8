/* keys.c - key generation: secret key (ternary or sparse, OS entropy), public key, and the
 * hybrid key-switching keys behind relinearization (s^2 -> s) and rotations (phi_g(s) -> s).
 * The uniform parts come from a fresh XOF seed stored with the key. */
#include <stdlib.h>
#include <string.h>
#include "lib/ct.h"
#include "lib/mem.h"
#include "ckks/context_internal.h"
#include "ckks/keys.h"
#include "ckks/ntt.h"
#include "ckks/sampler.h"
#include "ckks/serialize.h"
#include "ckks/types.h"

static beaa_status sk_alloc(const beaa_ckks_context *c, beaa_ckks_secret_key **out)
{
    beaa_ckks_secret_key *sk = beaa_calloc(1, sizeof *sk);
    if (!sk) return BEAA_ERR_NOMEM;
    sk->ctx = c;
    sk->coeffs = beaa_calloc(c->n, 1);
    sk->data = beaa_calloc((size_t)c->n_ext * c->n, sizeof *sk->data);
    if (!sk->coeffs || !sk->data) { beaa_ckks_secret_key_free(sk); return BEAA_ERR_NOMEM; }
    *out = sk;
    return BEAA_OK;
}

void beaa_ckks_secret_key_free(beaa_ckks_secret_key *sk)
{
    if (!sk) return;
    if (sk->ctx) {
        beaa_free_secret(sk->coeffs, sk->ctx->n);
        beaa_free_secret(sk->data, (size_t)sk->ctx->n_ext * sk->ctx->n * sizeof *sk->data);
    }
    beaa_free_secret(sk, sizeof *sk);
}

beaa_status beaa_ckks_secret_key_gen(const beaa_ckks_context *c, beaa_ckks_secret_key **out)
{
    if (!c || !out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_ckks_secret_key *sk;
    beaa_status st = sk_alloc(c, &sk);
    if (st != BEAA_OK) return st;
    beaa_xof x;
    st = beaa_xof_init_os(&x, 0x5ec);
    if (st != BEAA_OK) { beaa_ckks_secret_key_free(sk); return st; }
    if (c->spec.secret == BEAA_CKKS_SECRET_SPARSE)
        st = beaa_ckks_sample_sparse(&x, sk->coeffs, c->n, c->spec.hamming_weight);
    else
        beaa_ckks_sample_ternary(&x, sk->coeffs, c->n);
    beaa_xof_wipe(&x);
    if (st != BEAA_OK) { beaa_ckks_secret_key_free(sk); return st; }
    beaa_ckks_small_to_ntt(c, sk->coeffs, 0, c->n_ext, sk->data);
    *out = sk;
    return BEAA_OK;
}

beaa_status beaa_ckks_secret_key_from_coeffs(const beaa_ckks_context *c, const int8_t *coeffs,
                                             beaa_ckks_secret_key **out)
{
    if (!c || !coeffs || !out) return BEAA_ERR_ARG;
    *out = NULL;
    unsigned bad = 0; /* no branch on a coefficient: one validity bit at the end */
    for (size_t i = 0; i < c->n; i++) bad |= (unsigned)(uint8_t)(coeffs[i] + 1) > 2;
    if (beaa_ct_public(bad)) return BEAA_ERR_VALUE; /* the verdict is public (lib/ct.h) */
    beaa_ckks_secret_key *sk;
    beaa_status st = sk_alloc(c, &sk);
    if (st != BEAA_OK) return st;
    memcpy(sk->coeffs, coeffs, c->n);
    beaa_ckks_small_to_ntt(c, sk->coeffs, 0, c->n_ext, sk->data);
    *out = sk;
    return BEAA_OK;
}

/* ---- public key ---- */

beaa_status beaa_ckks_public_key_alloc(const beaa_ckks_context *c, beaa_ckks_public_key **out)
{
    if (!c || !out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_ckks_public_key *pk = beaa_calloc(1, sizeof *pk);
    if (!pk) return BEAA_ERR_NOMEM;
    pk->ctx = c;
    pk->data = beaa_calloc((size_t)2 * (c->L + 1) * c->n, sizeof *pk->data);
    if (!pk->data) { beaa_free(pk); return BEAA_ERR_NOMEM; }
    *out = pk;
    return BEAA_OK;
}

void beaa_ckks_public_key_expand_seed(beaa_ckks_public_key *pk)
{
    if (!pk || !pk->ctx || !pk->data) return;
    const beaa_ckks_context *c = pk->ctx;
    uint64_t *a = pk->data + (size_t)(c->L + 1) * c->n;
    uint64_t *out[BEAA_CKKS_MAX_PRIMES], dom[BEAA_CKKS_MAX_PRIMES];
    unsigned prime[BEAA_CKKS_MAX_PRIMES];
    for (unsigned k = 0; k <= c->L; k++) {
        out[k] = a + (size_t)k * c->n;
        prime[k] = k;
        dom[k] = BEAA_CKKS_DOMAIN_PK_A + k;
    }
    beaa_ckks_sample_uniform_seeded_limbs(c, out, prime, dom, c->L + 1, pk->seed, 1);
}

void beaa_ckks_public_key_free(beaa_ckks_public_key *pk)
{
    if (!pk) return;
    beaa_free(pk->data);
    beaa_free(pk);
}

/* b = -a*s + e for limbs [0, count) of the extended primes (a, b, s, e all NTT form). */
static void b_from_a(const beaa_ckks_context *c, uint64_t *b, const uint64_t *a, const uint64_t *s,
                     const uint64_t *e, unsigned count)
{
    const size_t n = c->n;
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int k = 0; k < (int)count; k++) {
        size_t off = (size_t)k * n;
        c->kern->mul_mod(b + off, a + off, s + off, n, &c->mod[k]);
        c->kern->sub_mod(b + off, e + off, b + off, n, c->mod[k].q);
    }
}

beaa_status beaa_ckks_public_key_gen(const beaa_ckks_secret_key *sk, beaa_ckks_public_key **out)
{
    if (!sk || !sk->ctx || !out) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = sk->ctx;
    beaa_ckks_public_key *pk;
    beaa_status st = beaa_ckks_public_key_alloc(c, &pk);
    if (st != BEAA_OK) return st;
    int8_t *e8 = beaa_alloc(c->n);
    uint64_t *e = beaa_alloc((size_t)(c->L + 1) * c->n * sizeof *e);
    beaa_xof x;
    if (!e8 || !e) { st = BEAA_ERR_NOMEM; goto out; }
    st = beaa_os_random(pk->seed, sizeof pk->seed);
    if (st != BEAA_OK) goto out;
    st = beaa_xof_init_os(&x, 0xe0);
    if (st != BEAA_OK) goto out;
    beaa_ckks_sample_gauss(&x, e8, c->n);
    beaa_xof_wipe(&x);
    beaa_ckks_small_to_ntt(c, e8, 0, c->L + 1, e);
    beaa_ckks_public_key_expand_seed(pk);
    b_from_a(c, pk->data, pk->data + (size_t)(c->L + 1) * c->n, sk->data, e, c->L + 1);
out:
    beaa_free_secret(e8, c->n);
    beaa_free_secret(e, (size_t)(c->L + 1) * c->n * sizeof *e);
    if (st != BEAA_OK) { beaa_ckks_public_key_free(pk); pk = NULL; }
    *out = pk;
    return st;
}

/* ---- switching keys ---- */

size_t beaa_ckks_switch_key_words(const beaa_ckks_context *c)
{
    return (size_t)c->dnum * 2 * c->n_ext * c->n;
}

size_t beaa_ckks_switch_key_bytes(const beaa_ckks_context *c)
{
    return (size_t)c->dnum * 2 * beaa_ckks_serial_limbs_bytes(c, 0, c->n_ext);
}

beaa_status beaa_ckks_switch_key_alloc(const beaa_ckks_context *c, beaa_ckks_switch_key *key)
{
    if (!c || !key) return BEAA_ERR_ARG;
    memset(key, 0, sizeof *key);
    key->ctx = c;
    key->dnum = c->dnum;
    key->n_limbs = c->n_ext;
    key->row_bytes = beaa_ckks_serial_limbs_bytes(c, 0, c->n_ext);
    key->data = beaa_calloc(beaa_ckks_switch_key_bytes(c), 1);
    return key->data ? BEAA_OK : BEAA_ERR_NOMEM;
}

static uint8_t *key_row(const beaa_ckks_switch_key *key, unsigned j, unsigned c)
{
    return key->data + (size_t)(j * 2 + c) * key->row_bytes;
}

const uint8_t *beaa_ckks_switch_key_limb(const beaa_ckks_switch_key *key, unsigned j, unsigned c,
                                         unsigned k)
{
    return key_row(key, j, c) + beaa_ckks_serial_limbs_bytes(key->ctx, 0, k);
}

int beaa_ckks_switch_key_get(const beaa_ckks_switch_key *key, unsigned j, unsigned c, unsigned k,
                             uint64_t *out)
{
    return beaa_ckks_serial_unpack_limb(beaa_ckks_switch_key_limb(key, j, c, k), out, key->ctx->n,
                                        &key->ctx->mod[k]);
}

/* a_j of digit j from the key's seed into a (n_limbs limbs of N words), its streams in parallel
 * Keccak lanes. */
static void expand_digit(const beaa_ckks_switch_key *key, unsigned j, uint64_t *a)
{
    const beaa_ckks_context *c = key->ctx;
    uint64_t *out[BEAA_CKKS_MAX_PRIMES + BEAA_CKKS_MAX_SPECIAL], dom[BEAA_CKKS_MAX_PRIMES + BEAA_CKKS_MAX_SPECIAL];
    unsigned prime[BEAA_CKKS_MAX_PRIMES + BEAA_CKKS_MAX_SPECIAL];
    for (unsigned k = 0; k < key->n_limbs; k++) {
        out[k] = a + (size_t)k * c->n;
        prime[k] = k;
        dom[k] = BEAA_CKKS_DOMAIN_SWK_A + (uint64_t)j * 256 + k;
    }
    beaa_ckks_sample_uniform_seeded_limbs(c, out, prime, dom, key->n_limbs, key->seed, 1);
}

beaa_status beaa_ckks_switch_key_expand_seed(beaa_ckks_switch_key *key)
{
    if (!key || !key->ctx || !key->data) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = key->ctx;
    uint64_t *a = beaa_alloc((size_t)key->n_limbs * c->n * sizeof *a);
    if (!a) return BEAA_ERR_NOMEM;
    for (unsigned j = 0; j < key->dnum; j++) {
        expand_digit(key, j, a);
        beaa_ckks_serial_pack_limbs(c, key_row(key, j, 1), a, 0, key->n_limbs);
    }
    beaa_free(a);
    return BEAA_OK;
}

void beaa_ckks_switch_key_clear(beaa_ckks_switch_key *key)
{
    if (!key) return;
    beaa_free(key->data);
    key->data = NULL;
    beaa_free(key->fp);
    key->fp = NULL;
}

/* The one rule for the copy as doubles: the kernel table reads such rows (ks_dot2_fp) and every
 * prime is below 2^50 (the doubles hold residues exactly, and the kernel's products stay exact
 * below that bound). Bytes for `words` residues, 0 where there is no copy. */
static size_t fp_bytes_if(const beaa_kernels *kern, int all_small, size_t words)
{
    return kern && kern->ks_dot2_fp && all_small ? words * sizeof(double) : 0;
}

size_t beaa_ckks_switch_key_fp_bytes(const beaa_ckks_context *c)
{
    if (!c) return 0;
    int small = 1;
    for (unsigned k = 0; k < c->n_ext; k++) small &= c->mod[k].q < BEAA_NTT_SMALL_Q_BOUND;
    return fp_bytes_if(c->kern, small, beaa_ckks_switch_key_words(c));
}

size_t beaa_ckks_switch_key_fp_bytes_spec(const beaa_ckks_params_spec *spec)
{
    if (!spec || spec->n_primes == 0 || spec->n_special == 0 ||
        spec->n_primes > BEAA_CKKS_MAX_PRIMES || spec->n_special > BEAA_CKKS_MAX_SPECIAL ||
        spec->log_n > 30)
        return 0;
    /* a prime of b bits is below 2^b: below 2^50 exactly when b <= 50 */
    int small = 1;
    for (unsigned i = 0; i < spec->n_primes; i++) small &= spec->prime_bits[i] <= 50;
    for (unsigned j = 0; j < spec->n_special; j++) small &= spec->special_bits[j] <= 50;
    const size_t n_ext = (size_t)spec->n_primes + spec->n_special;
    const size_t dnum = (spec->n_primes + spec->n_special - 1) / spec->n_special;
    return fp_bytes_if(beaa_kernels_get(), small, dnum * 2 * n_ext * ((size_t)1 << spec->log_n));
}

beaa_status beaa_ckks_switch_key_make_fp(beaa_ckks_switch_key *key)
{
    if (!key || !key->ctx || !key->data) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = key->ctx;
    const size_t bytes = beaa_ckks_switch_key_fp_bytes(c);
    if (!bytes || key->fp) return BEAA_OK;
    double *fp = beaa_alloc(bytes);
    uint64_t *limb = beaa_alloc(c->n * sizeof *limb);
    if (!fp || !limb) {
        beaa_free(fp);
        beaa_free(limb);
        return BEAA_ERR_NOMEM;
    }
    /* No branch on the key's values: they derive from the secret key (generation runs under
     * the constant-time check, `make ctgrind`). The rows are valid residues, made so by
     * generation or checked by the loaders, so the unpacker's range flag is not consulted, and
     * each residue (< 2^50) becomes a double by the 2^52 bit trick instead of a conversion
     * that branches on the top bit. */
    for (unsigned j = 0; j < key->dnum; j++)
        for (unsigned p = 0; p < 2; p++)
            for (unsigned k = 0; k < key->n_limbs; k++) {
                (void)beaa_ckks_switch_key_get(key, j, p, k, limb);
                double *o = fp + ((size_t)(j * 2 + p) * key->n_limbs + k) * c->n;
                for (size_t i = 0; i < c->n; i++) {
                    const uint64_t bits = limb[i] | UINT64_C(0x4330000000000000); /* 2^52 + r */
                    double v;
                    memcpy(&v, &bits, sizeof v);
                    o[i] = v - 4503599627370496.0; /* exact */
                }
            }
    beaa_free(limb);
    key->fp = fp;
    return BEAA_OK;
}

/* Fills key as a switching key from s' (sp: L+1 data limbs, NTT form) to the secret sec
 * (n_ext limbs, NTT form: sk's own, or for a Galois key an automorphism of it). Digit by
 * digit: a_j from the seed, b_j from it, both packed. */
static beaa_status switch_key_gen(const beaa_ckks_secret_key *sk, const uint64_t *sec,
                                  const uint64_t *sp, beaa_ckks_switch_key *key)
{
    const beaa_ckks_context *c = sk->ctx;
    const size_t n = c->n, limbs = (size_t)c->n_ext * n;
    beaa_status st = beaa_ckks_switch_key_alloc(c, key);
    if (st != BEAA_OK) return st;
    st = beaa_os_random(key->seed, sizeof key->seed);
    if (st != BEAA_OK) { beaa_ckks_switch_key_clear(key); return st; }
    int8_t *e8 = beaa_alloc(n);
    uint64_t *e = beaa_alloc(limbs * sizeof *e), *a = beaa_alloc(limbs * sizeof *a);
    uint64_t *b = beaa_alloc(limbs * sizeof *b);
    beaa_xof x;
    if (!e8 || !e || !a || !b) { st = BEAA_ERR_NOMEM; goto out; }
    st = beaa_xof_init_os(&x, 0xe1);
    if (st != BEAA_OK) goto out;
    for (unsigned j = 0; j < c->dnum; j++) {
        beaa_ckks_sample_gauss(&x, e8, n);
        beaa_ckks_small_to_ntt(c, e8, 0, c->n_ext, e);
        expand_digit(key, j, a);
        b_from_a(c, b, a, sec, e, c->n_ext);
        /* gadget: + (P mod q_i) * s' on the primes of digit j */
        unsigned k0 = j * c->alpha, k1 = k0 + c->alpha;
        if (k1 > c->L + 1) k1 = c->L + 1;
        for (unsigned k = k0; k < k1; k++) {
            uint64_t w = c->p_mod[k], ws = beaa_shoup(w, c->mod[k].q);
            c->kern->mac_const(b + (size_t)k * n, sp + (size_t)k * n, n, w, ws, c->mod[k].q);
        }
        beaa_ckks_serial_pack_limbs(c, key_row(key, j, 0), b, 0, c->n_ext);
        beaa_ckks_serial_pack_limbs(c, key_row(key, j, 1), a, 0, c->n_ext);
    }
    beaa_xof_wipe(&x);
out:
    beaa_free_secret(e8, n);
    beaa_free_secret(e, limbs * sizeof *e);
    beaa_free(a);
    beaa_free(b);
    if (st != BEAA_OK) beaa_ckks_switch_key_clear(key);
    return st;
}

beaa_status beaa_ckks_relin_key_alloc(const beaa_ckks_context *c, beaa_ckks_relin_key **out)
{
    if (!c || !out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_ckks_relin_key *rk = beaa_calloc(1, sizeof *rk);
    if (!rk) return BEAA_ERR_NOMEM;
    beaa_status st = beaa_ckks_switch_key_alloc(c, &rk->key);
    if (st != BEAA_OK) { beaa_free(rk); return st; }
    *out = rk;
    return BEAA_OK;
}

beaa_status beaa_ckks_relin_key_gen(const beaa_ckks_secret_key *sk, beaa_ckks_relin_key **out)
{
    if (!sk || !sk->ctx || !out) return BEAA_ERR_ARG;
    *out = NULL;
    const beaa_ckks_context *c = sk->ctx;
    size_t words = (size_t)(c->L + 1) * c->n;
    uint64_t *s2 = beaa_alloc(words * sizeof *s2);
    beaa_ckks_relin_key *rk = beaa_calloc(1, sizeof *rk);
    beaa_status st = BEAA_ERR_NOMEM;
    if (!s2 || !rk) goto out;
    for (unsigned k = 0; k <= c->L; k++)
        c->kern->mul_mod(s2 + (size_t)k * c->n, sk->data + (size_t)k * c->n,
                         sk->data + (size_t)k * c->n, c->n, &c->mod[k]);
    st = switch_key_gen(sk, sk->data, s2, &rk->key);
    if (st == BEAA_OK) st = beaa_ckks_switch_key_make_fp(&rk->key);
out:
    beaa_free_secret(s2, words * sizeof *s2);
    if (st != BEAA_OK) { beaa_ckks_relin_key_free(rk); rk = NULL; }
    *out = rk;
    return st;
}

void beaa_ckks_relin_key_free(beaa_ckks_relin_key *rk)
{
    if (!rk) return;
    beaa_ckks_switch_key_clear(&rk->key);
    beaa_free(rk);
}

/* ---- Galois keys ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

beaa_status beaa_ckks_galois_keys_alloc(const beaa_ckks_context *c, const uint64_t *elts,
                                        size_t count, beaa_ckks_galois_keys **out)
{
    if (!c || !out || (!elts && count)) return BEAA_ERR_ARG;
    *out = NULL;
    for (size_t i = 0; i < count; i++)
        if ((elts[i] & 1) == 0 || elts[i] >= 2 * (uint64_t)c->n) return BEAA_ERR_ARG;
    beaa_ckks_galois_keys *gk = beaa_calloc(1, sizeof *gk);
    if (!gk) return BEAA_ERR_NOMEM;
    gk->ctx = c;
    gk->elts = beaa_calloc(count ? count : 1, sizeof *gk->elts);
    gk->keys = beaa_calloc(count ? count : 1, sizeof *gk->keys);
    if (!gk->elts || !gk->keys) { beaa_ckks_galois_keys_free(gk); return BEAA_ERR_NOMEM; }
    if (count) memcpy(gk->elts, elts, count * sizeof *elts);
    qsort(gk->elts, count, sizeof *gk->elts, cmp_u64);
    for (size_t i = 0; i < count; i++) {
        if (i && gk->elts[i] == gk->elts[i - 1]) { beaa_ckks_galois_keys_free(gk); return BEAA_ERR_ARG; }
        beaa_status st = beaa_ckks_switch_key_alloc(c, &gk->keys[i]);
        gk->count = i + 1;
        if (st != BEAA_OK) { beaa_ckks_galois_keys_free(gk); return st; }
    }
    *out = gk;
    return BEAA_OK;
}

beaa_status beaa_ckks_galois_keys_gen(const beaa_ckks_secret_key *sk, const int *steps,
                                      size_t n_steps, int conj, beaa_ckks_galois_keys **out)
{
    if (!sk || !sk->ctx || !out || (!steps && n_steps)) return BEAA_ERR_ARG;
    *out = NULL;
    const beaa_ckks_context *c = sk->ctx;
    uint64_t *elts = malloc((n_steps + 1) * sizeof *elts);
    if (!elts) return BEAA_ERR_NOMEM;
    size_t cnt = 0;
    for (size_t i = 0; i <= n_steps; i++) {
        uint64_t g;
        if (i < n_steps) g = beaa_ckks_galois_elt(c, steps[i]);
        else if (conj) g = beaa_ckks_galois_conj(c);
        else break;
        if (g == 1) continue;
        int dup = 0;
        for (size_t k = 0; k < cnt && !dup; k++) dup = elts[k] == g;
        if (!dup) elts[cnt++] = g;
    }
    beaa_ckks_galois_keys *gk = NULL;
    beaa_status st = beaa_ckks_galois_keys_alloc(c, elts, cnt, &gk);
    free(elts);
    if (st != BEAA_OK) return st;
    /* The key for g switches s to phi_g^-1(s) (see keys.h): the rotation then works on the
     * un-permuted digits and permutes only its result. */
    size_t words = (size_t)c->n_ext * c->n;
    uint64_t *sinv = beaa_alloc(words * sizeof *sinv);
    uint32_t *perm = malloc(c->n * sizeof *perm);
    if (!sinv || !perm) { st = BEAA_ERR_NOMEM; goto out; }
    for (size_t i = 0; i < gk->count; i++) {
        st = beaa_ckks_galois_perm(c, beaa_ckks_galois_inverse(c, gk->elts[i]), perm);
        if (st != BEAA_OK) goto out;
        for (unsigned k = 0; k < c->n_ext; k++)
            c->kern->permute(sinv + (size_t)k * c->n, sk->data + (size_t)k * c->n, perm, c->n);
        beaa_ckks_switch_key_clear(&gk->keys[i]);
        st = switch_key_gen(sk, sinv, sk->data, &gk->keys[i]);
        if (st != BEAA_OK) goto out;
    }
out:
    beaa_free_secret(sinv, words * sizeof *sinv);
    free(perm);
    if (st != BEAA_OK) { beaa_ckks_galois_keys_free(gk); gk = NULL; }
    *out = gk;
    return st;
}

const beaa_ckks_switch_key *beaa_ckks_galois_keys_find(const beaa_ckks_galois_keys *gk, uint64_t g)
{
    if (!gk) return NULL;
    size_t lo = 0, hi = gk->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (gk->elts[mid] < g) lo = mid + 1; else hi = mid;
    }
    return (lo < gk->count && gk->elts[lo] == g && gk->keys[lo].data) ? &gk->keys[lo] : NULL;
}

void beaa_ckks_galois_keys_free(beaa_ckks_galois_keys *gk)
{
    if (!gk) return;
    if (gk->keys)
        for (size_t i = 0; i < gk->count; i++) beaa_ckks_switch_key_clear(&gk->keys[i]);
    beaa_free(gk->keys);
    beaa_free(gk->elts);
    beaa_free(gk);
}
