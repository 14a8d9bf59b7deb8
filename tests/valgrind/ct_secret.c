/* ct_secret.c - constant-time check of the secret-dependent code, run under Valgrind memcheck
 * (`make ctgrind`; the ctgrind technique, A. Langley 2010): every secret is marked undefined
 * with VALGRIND_MAKE_MEM_UNDEFINED, so memcheck reports each conditional branch and each memory
 * address computed from it ("Conditional jump or move depends on uninitialised value(s)", "Use
 * of uninitialised value of size 8"). The library knows nothing of Valgrind: the secrets are
 * marked at their source from outside -
 *  - OS entropy: this program defines getrandom(), which the library's beaa_os_random calls
 *    (the executable's definition wins at link time); it fills the buffer with the system call
 *    and marks it undefined, so every secret and error drawn from it is undefined;
 *  - the XOF seed handed to the samplers directly, and the bytes of a secret-key file.
 * What is covered: secret (ternary and sparse) and error sampling, the wide Gaussian of
 * flooding, key generation (secret, public, relinearization, Galois), secret-key encryption,
 * decryption (plain and flooded), secret-key serialization and the secret-key file reader.
 * Outputs that are public by design are declassified (VALGRIND_MAKE_MEM_DEFINED) at the point
 * they become public: public keys, switching keys and ciphertexts when their generating call
 * returns (they are sent to the server), the decrypted plaintext when decryption returns (the
 * decryptor's own result), the status a reader returns (whether a file is valid is public).
 * The expansion of public seeds ('a' parts) is public by design and suppressed by name in
 * tests/valgrind/ct.supp (docs/security.md lists each entry and why it is benign).
 * Exit status 0 when every step succeeded; memcheck's --error-exitcode turns reports into
 * failure. With --canary it makes one deliberate secret-dependent branch instead (the check of
 * the check). Run with BEAA_THREADS=1 and BEAA_ARCH=avx2 or ref (Valgrind has no AVX-512). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/memcheck.h>
#include "lib/mem.h"
#include "lib/rng.h"
#include "lib/serial.h"
#include "ckks/ckks.h"
#include "ckks/sampler.h"
#include "ckks/serialize.h"

/* The library's entropy source, defined here so that its output can be marked secret. */
ssize_t getrandom(void *buf, size_t len, unsigned int flags);
ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    long r = syscall(SYS_getrandom, buf, len, flags);
    if (r > 0) VALGRIND_MAKE_MEM_UNDEFINED(buf, (size_t)r);
    return (ssize_t)r;
}

#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

static int g_fail;

static void check(beaa_status st, const char *what)
{
    PUBLIC(&st, sizeof st);
    if (st != BEAA_OK) {
        fprintf(stderr, "ct_secret: %s: %s\n", what, beaa_strerror(st));
        g_fail = 1;
    }
}

static void public_ct(const beaa_ckks_ciphertext *ct)
{
    PUBLIC(ct->data, (size_t)ct->size * (ct->level + 1) * beaa_ckks_context_n(ct->ctx) * 8);
    PUBLIC(ct->seed, sizeof ct->seed);
}

static void public_switch_key(const beaa_ckks_switch_key *k)
{
    PUBLIC(k->data, (size_t)k->dnum * 2 * k->row_bytes);
    PUBLIC(k->seed, sizeof k->seed);
}

static void samplers(size_t n)
{
    uint8_t seed[BEAA_SEED_BYTES];
    memset(seed, 0x5a, sizeof seed);
    VALGRIND_MAKE_MEM_UNDEFINED(seed, sizeof seed);
    beaa_xof x;
    beaa_xof_init(&x, seed, 1);
    int8_t *s = malloc(n);
    int64_t *w = malloc(n * sizeof *w);
    if (!s || !w) { g_fail = 1; free(s); free(w); return; }
    beaa_ckks_sample_ternary(&x, s, n);
    check(beaa_ckks_sample_sparse(&x, s, n, 64), "sparse secret");
    beaa_ckks_sample_gauss(&x, s, n);
    beaa_ckks_sample_gauss_wide(&x, w, n, 0x1p30);
    beaa_xof_wipe(&x);
    free(s);
    free(w);
}

static void scheme(const beaa_ckks_context *ctx)
{
    const size_t n = beaa_ckks_context_n(ctx);
    beaa_ckks_secret_key *sk = NULL, *sk2 = NULL;
    beaa_ckks_public_key *pk = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_ckks_galois_keys *gk = NULL;
    beaa_ckks_plaintext *pt = NULL, *dec = NULL;
    beaa_ckks_ciphertext *ct = NULL, *ct2 = NULL;
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    const int step = 1;
    double v[8] = {0.5, -1.0, 2.0, 0.25, 3.0, -0.125, 1.5, -2.5}, out[8];

    check(beaa_ckks_secret_key_gen(ctx, &sk), "secret key");
    if (g_fail) return;
    check(beaa_ckks_public_key_gen(sk, &pk), "public key");
    if (pk) {
        PUBLIC(pk->data, (size_t)2 * (beaa_ckks_context_max_level(ctx) + 1) * n * 8);
        PUBLIC(pk->seed, sizeof pk->seed);
    }
    check(beaa_ckks_relin_key_gen(sk, &rk), "relinearization key");
    if (rk) public_switch_key(&rk->key);
    check(beaa_ckks_galois_keys_gen(sk, &step, 1, 0, &gk), "Galois keys");
    for (size_t i = 0; gk && i < gk->count; i++) public_switch_key(&gk->keys[i]);

    unsigned top = beaa_ckks_context_max_level(ctx);
    check(beaa_ckks_plaintext_new(ctx, top, &pt), "plaintext");
    check(beaa_ckks_plaintext_new(ctx, top, &dec), "plaintext");
    check(beaa_ckks_encode_real(ctx, v, 8, 0x1p20, top, pt), "encode");
    check(beaa_ckks_ciphertext_new(ctx, 2, top, &ct), "ciphertext");
    check(beaa_ckks_ciphertext_new(ctx, 2, top, &ct2), "ciphertext");
    if (g_fail) goto out;
    check(beaa_ckks_encrypt_sk(sk, pt, ct), "encrypt (secret key)");
    public_ct(ct);
    check(beaa_ckks_encrypt_sk_values(sk, v, 8, 0x1p20, top, ct2), "encrypt values (secret key)");
    public_ct(ct2);
    check(beaa_ckks_encrypt_pk(pk, pt, ct2), "encrypt (public key)");
    public_ct(ct2);
    check(beaa_ckks_decrypt(sk, ct, dec), "decrypt");
    PUBLIC(dec->data, (size_t)(dec->level + 1) * n * 8);
    check(beaa_ckks_decode_real(dec, out, 8), "decode");
    check(beaa_ckks_decrypt_flooded(sk, ct, 20.0, dec), "decrypt, flooded");
    PUBLIC(dec->data, (size_t)(dec->level + 1) * n * 8);

    /* the secret-key file: written, then read back with its bytes secret */
    check(beaa_ckks_secret_key_serialize(sk, &w), "secret key serialize");
    if (!g_fail) {
        uint8_t *file = malloc(w.len);
        if (!file) { g_fail = 1; goto out; }
        memcpy(file, w.buf, w.len);
        /* the 2-bit coefficient codes and the checksum over them; header, ring size and
         * encoding fields are public */
        VALGRIND_MAKE_MEM_UNDEFINED(file + BEAA_SERIAL_HEADER_BYTES + 8, w.len - BEAA_SERIAL_HEADER_BYTES - 8);
        check(beaa_ckks_secret_key_deserialize(ctx, file, w.len, &sk2), "secret key file reader");
        beaa_memzero(file, w.len);
        free(file);
    }
out:
    beaa_serial_writer_free_secret(&w);
    beaa_ckks_ciphertext_free(ct);
    beaa_ckks_ciphertext_free(ct2);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_plaintext_free(dec);
    beaa_ckks_galois_keys_free(gk);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(sk2);
    beaa_ckks_secret_key_free(sk);
}

/* --canary: one branch on a secret byte on purpose; scripts/ctgrind.sh requires memcheck to
 * report it (exit 99), which shows the marking and the report path work. */
static int canary(void)
{
    uint8_t b = 0;
    if (beaa_os_random(&b, 1) != BEAA_OK) return 1;
    volatile int r = 0;
    if (b & 1) r = 1; /* the deliberate secret-dependent branch */
    return r & 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--canary") == 0) return canary();
    beaa_ckks_params_spec sp;
    const unsigned bits[3] = {45, 30, 30};
    beaa_ckks_context *ctx = NULL;
    check(beaa_ckks_params_spec_make(&sp, 10, bits, 3, 2, 45), "spec");
    sp.allow_insecure = 1;
    check(beaa_ckks_context_new(&sp, &ctx), "context");
    if (g_fail) return 1;
    samplers(beaa_ckks_context_n(ctx));
    scheme(ctx);
    beaa_ckks_context_free(ctx);
    /* a sparse secret: its sampler and key generation */
    sp.secret = BEAA_CKKS_SECRET_SPARSE;
    sp.hamming_weight = 64;
    check(beaa_ckks_context_new(&sp, &ctx), "sparse context");
    if (!g_fail) {
        beaa_ckks_secret_key *sk = NULL;
        check(beaa_ckks_secret_key_gen(ctx, &sk), "sparse secret key");
        beaa_ckks_secret_key_free(sk);
        beaa_ckks_context_free(ctx);
    }
    printf("ct_secret: %s\n", g_fail ? "FAILED" : "every step ran (memcheck reports, if any, are above)");
    return g_fail;
}
