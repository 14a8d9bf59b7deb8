/* pack.c - element-wise packing: encode + encrypt a batch, decrypt + decode the logits. */
#include "nn/pack.h"
#include "nn/pack_internal.h"
#include <string.h>
#include "lib/mem.h"
#include "lib/rng.h"

beaa_status beaa_nn_pack_encrypt_each(const beaa_ckks_secret_key *sk, const double *x, size_t n,
                                      size_t el, unsigned level, double scale,
                                      beaa_nn_pack_sink sink, void *user)
{
    if (!sk || !x || !sink || n == 0 || el == 0) return BEAA_ERR_ARG;
    const beaa_ckks_context *ctx = sk->ctx;
    if (n > beaa_ckks_context_slots(ctx)) return BEAA_ERR_SLOTS;
    if (level > beaa_ckks_context_max_level(ctx)) return BEAA_ERR_LEVEL_EXHAUSTED;
    beaa_status err = BEAA_OK;
    /* position e draws its randomness from sub-stream (base, e): reproducible under an insecure
     * experiment seed whatever thread encrypts it (lib/rng.h); no effect otherwise */
    const uint64_t base = beaa_rng_fork();
    enum { G = BEAA_CKKS_ENCRYPT_GROUP };
    const size_t nchunk = (el + G - 1) / G;
#pragma omp parallel
    {
        /* the client's pixels of G positions (wiped below), and the ciphertexts the sink left */
        double *v = beaa_alloc(sizeof(double) * n * G);
        beaa_ckks_ciphertext *ct[G] = {NULL};
        beaa_status st = v ? BEAA_OK : BEAA_ERR_NOMEM;
        /* G positions at a time: their c_1 expansions share the Keccak lanes */
#pragma omp for schedule(dynamic, 1)
        for (size_t ch = 0; ch < nchunk; ch++) {
            if (st != BEAA_OK) continue;
            const size_t e0 = ch * G, k = el - e0 < G ? el - e0 : G;
            const double *vp[G];
            uint64_t idx[G];
            for (size_t j = 0; j < k && st == BEAA_OK; j++) {
                double *vj = v + j * n;
                for (size_t i = 0; i < n; i++) vj[i] = x[i * el + e0 + j];
                vp[j] = vj;
                idx[j] = e0 + j;
                if (!ct[j]) st = beaa_ckks_ciphertext_new_uninit(ctx, 2, level, &ct[j]);
            }
            if (st == BEAA_OK)
                st = beaa_ckks_encrypt_sk_values_many(sk, vp, n, scale, level, ct, k, base, idx);
            for (size_t j = 0; j < k && st == BEAA_OK; j++) st = sink(user, e0 + j, &ct[j]);
        }
        if (st != BEAA_OK) {
#pragma omp critical(beaa_nn_pack_err)
            if (err == BEAA_OK) err = st;
        }
        for (size_t j = 0; j < G; j++) beaa_ckks_ciphertext_free(ct[j]);
        beaa_free_secret(v, sizeof(double) * n * G);
    }
    return err;
}

/* beaa_nn_pack_encrypt's sink: every ciphertext goes to out[e] as it is */
static beaa_status sink_store(void *user, size_t e, beaa_ckks_ciphertext **ct)
{
    ((beaa_ckks_ciphertext **)user)[e] = *ct;
    *ct = NULL;
    return BEAA_OK;
}

beaa_status beaa_nn_pack_encrypt(const beaa_ckks_secret_key *sk, const double *x, size_t n,
                                 size_t el, unsigned level, double scale,
                                 beaa_ckks_ciphertext **out)
{
    if (!sk || !x || !out || n == 0 || el == 0) return BEAA_ERR_ARG;
    for (size_t e = 0; e < el; e++) out[e] = NULL;
    beaa_status err = beaa_nn_pack_encrypt_each(sk, x, n, el, level, scale, sink_store, out);
    if (err != BEAA_OK)
        for (size_t e = 0; e < el; e++) { beaa_ckks_ciphertext_free(out[e]); out[e] = NULL; }
    return err;
}

/* log2_sigma < 0: no flooding */
static beaa_status pack_decrypt(const beaa_ckks_secret_key *sk, beaa_ckks_ciphertext *const *cts,
                                size_t nc, size_t n, double log2_sigma, double *logits)
{
    if (!sk || !cts || !logits || nc == 0) return BEAA_ERR_ARG;
    if (n > beaa_ckks_context_slots(sk->ctx)) return BEAA_ERR_SLOTS;
    for (size_t k = 0; k < nc; k++) {
        if (!cts[k]) return BEAA_ERR_ARG;
        if (cts[k]->ctx != sk->ctx) return BEAA_ERR_PARAMS_MISMATCH;
    }
    size_t vn = n ? n : 1;
    double *v = beaa_alloc(sizeof(double) * vn); /* decrypted logits: wiped below */
    beaa_ckks_plaintext *pt = NULL;
    beaa_status st = v ? beaa_ckks_plaintext_new(sk->ctx, 0, &pt) : BEAA_ERR_NOMEM;
    for (size_t k = 0; k < nc && st == BEAA_OK; k++) {
        st = log2_sigma < 0 ? beaa_ckks_decrypt(sk, cts[k], pt)
                            : beaa_ckks_decrypt_flooded(sk, cts[k], log2_sigma, pt);
        if (st == BEAA_OK) st = beaa_ckks_decode_real(pt, v, n);
        if (st == BEAA_OK)
            for (size_t i = 0; i < n; i++) logits[i * nc + k] = v[i];
    }
    beaa_ckks_plaintext_free(pt);
    beaa_free_secret(v, sizeof(double) * vn);
    return st;
}

beaa_status beaa_nn_pack_decrypt(const beaa_ckks_secret_key *sk, beaa_ckks_ciphertext *const *cts,
                                 size_t nc, size_t n, double *logits)
{
    return pack_decrypt(sk, cts, nc, n, -1.0, logits);
}

beaa_status beaa_nn_pack_decrypt_flooded(const beaa_ckks_secret_key *sk,
                                         beaa_ckks_ciphertext *const *cts, size_t nc, size_t n,
                                         double log2_sigma, double *logits)
{
    if (!(log2_sigma >= 0.0 && log2_sigma <= 50.0)) return BEAA_ERR_ARG;
    return pack_decrypt(sk, cts, nc, n, log2_sigma, logits);
}
