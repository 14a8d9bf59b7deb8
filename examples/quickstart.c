/* quickstart.c - the smallest complete CKKS round trip (the README's "Using the library"
 * sketch): parameters, keys, encode, encrypt, square, relinearize, rescale, decrypt, decode.
 * Build: make examples (build/examples/quickstart), or against an installed libbeaa with pkg-config. */
#include <stdio.h>
#include "lib/beaa.h"

int main(void)
{
    unsigned bits[5] = {50, 40, 40, 40, 40};           /* q0 + 4 rescale primes */
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    beaa_ckks_secret_key *sk;
    beaa_ckks_public_key *pk;
    beaa_ckks_relin_key *rk;
    beaa_ckks_plaintext *pt;
    beaa_ckks_ciphertext *ct, *sq;
    double x[4] = {0.5, -1.0, 2.0, 0.25}, y[4];
    beaa_status st;

    if ((st = beaa_ckks_params_spec_make(&spec, 14, bits, 5, 2, 50)) != BEAA_OK ||  /* N = 2^14 */
        (st = beaa_ckks_context_new(&spec, &ctx)) != BEAA_OK) {  /* refuses insecure sets */
        fprintf(stderr, "%s\n", beaa_strerror(st));
        return 1;
    }
    unsigned top = beaa_ckks_context_max_level(ctx);
    if ((st = beaa_ckks_secret_key_gen(ctx, &sk)) != BEAA_OK ||            /* client only */
        (st = beaa_ckks_public_key_gen(sk, &pk)) != BEAA_OK ||
        (st = beaa_ckks_relin_key_gen(sk, &rk)) != BEAA_OK ||
        (st = beaa_ckks_plaintext_new(ctx, top, &pt)) != BEAA_OK ||
        (st = beaa_ckks_ciphertext_new(ctx, 2, top, &ct)) != BEAA_OK ||
        (st = beaa_ckks_ciphertext_new(ctx, 2, top, &sq)) != BEAA_OK ||
        (st = beaa_ckks_encode_real(ctx, x, 4, 0x1p40, top, pt)) != BEAA_OK ||
        (st = beaa_ckks_encrypt_pk(pk, pt, ct)) != BEAA_OK ||
        (st = beaa_ckks_mul(ct, ct, sq)) != BEAA_OK ||                      /* x^2, scale 2^80 */
        (st = beaa_ckks_relinearize(sq, rk, sq)) != BEAA_OK ||
        (st = beaa_ckks_rescale(sq, sq)) != BEAA_OK ||                      /* back to ~2^40 */
        (st = beaa_ckks_decrypt(sk, sq, pt)) != BEAA_OK ||
        (st = beaa_ckks_decode_real(pt, y, 4)) != BEAA_OK) {
        fprintf(stderr, "%s\n", beaa_strerror(st));
        return 1;
    }
    for (int i = 0; i < 4; i++) printf("%g^2 = %.6f\n", x[i], y[i]);
    beaa_ckks_ciphertext_free(sq);
    beaa_ckks_ciphertext_free(ct);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(sk);          /* wiped before it is freed */
    beaa_ckks_context_free(ctx);
    return 0;
}
