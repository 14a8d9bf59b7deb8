/* files_client_server.c - the file workflow of libbeaa: a client makes keys and encrypts a batch
 * into a stream file; a "server" that loads only the parameter set, the relinearization key and
 * the ciphertexts squares every value and writes a result stream; the client decrypts it. Shows
 * sizes (seed compression, bit packing), the no-clobber rule and what a corrupted file gives.
 * Build: make examples; run: build/examples/files_client_server [directory] (default /tmp). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/beaa.h"

#define TRY(x)                                                                  \
    do {                                                                        \
        beaa_status s_ = (x);                                                   \
        if (s_ != BEAA_OK) {                                                    \
            fprintf(stderr, "%s failed: %s\n", #x, beaa_strerror(s_));           \
            return 1;                                                           \
        }                                                                       \
    } while (0)

#define COUNT 4 /* ciphertexts in the batch, e.g. 4 pixels of every image */

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* The server: sees the parameter set, the relinearization key and the input stream only. */
static int server(const char *params, const char *rkey, const char *in, const char *out)
{
    beaa_ckks_context *ctx;
    beaa_ckks_relin_key *rk;
    TRY(beaa_ckks_params_load(params, 0, &ctx));
    TRY(beaa_ckks_relin_key_load(ctx, rkey, &rk));
    beaa_stream_reader *r;
    beaa_stream_writer *w;
    TRY(beaa_stream_reader_open(in, BEAA_OBJ_CIPHERTEXT, beaa_ckks_context_fingerprint(ctx),
                                beaa_ckks_ciphertext_max_bytes(ctx), &r));
    TRY(beaa_stream_writer_open(out, 1, BEAA_OBJ_CIPHERTEXT, beaa_ckks_context_fingerprint(ctx),
                                NULL, 0, &w));
    beaa_ckks_ciphertext *ct;
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 0, &ct));
    beaa_serial_writer buf; /* one buffer reused for every object: memory is one ciphertext */
    beaa_serial_writer_init(&buf, 0);
    for (uint64_t i = 0; i < beaa_stream_reader_count(r); i++) {
        const uint8_t *obj;
        size_t len;
        TRY(beaa_stream_reader_next(r, &obj, &len));
        TRY(beaa_ckks_ciphertext_deserialize_into(obj, len, ct));
        TRY(beaa_ckks_mul_relin(ct, ct, rk, ct)); /* x^2 */
        TRY(beaa_ckks_rescale(ct, ct));
        beaa_serial_writer_reset(&buf);
        TRY(beaa_ckks_ciphertext_serialize(ct, &buf));
        TRY(beaa_stream_writer_append(w, buf.buf, buf.len));
    }
    TRY(beaa_stream_writer_close(w)); /* the result file appears only now, complete */
    beaa_stream_reader_close(r);
    beaa_serial_writer_free(&buf);
    beaa_ckks_ciphertext_free(ct);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_context_free(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char params[512], skey[512], rkey[512], in[512], out[512];
    snprintf(params, sizeof params, "%s/beaa_example_%d.params", dir, (int)getpid());
    snprintf(skey, sizeof skey, "%s/beaa_example_%d.secret", dir, (int)getpid());
    snprintf(rkey, sizeof rkey, "%s/beaa_example_%d.relin", dir, (int)getpid());
    snprintf(in, sizeof in, "%s/beaa_example_%d.in", dir, (int)getpid());
    snprintf(out, sizeof out, "%s/beaa_example_%d.out", dir, (int)getpid());

    /* Client, 1: parameters (N = 2^13, 40 + 30 bits of data primes, one 40-bit special prime:
     * 110 <= 218 bits, secure) and keys, saved. */
    unsigned bits[2] = {40, 30};
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    beaa_ckks_secret_key *sk;
    beaa_ckks_relin_key *rk;
    TRY(beaa_ckks_params_spec_make(&spec, 13, bits, 2, 1, 40));
    TRY(beaa_ckks_context_new(&spec, &ctx));
    TRY(beaa_ckks_secret_key_gen(ctx, &sk));
    TRY(beaa_ckks_relin_key_gen(sk, &rk));
    TRY(beaa_ckks_params_save(ctx, params, 0));
    TRY(beaa_ckks_secret_key_save(sk, skey, 0));
    TRY(beaa_ckks_relin_key_save(rk, 0, rkey, 0)); /* seeded: the 'a' halves are one seed */
    size_t n = beaa_ckks_context_n(ctx), slots = n / 2;
    printf("params %ld B, secret key %ld B (2 bits/coefficient), relin key %ld B "
           "(in memory %zu B)\n", file_size(params), file_size(skey), file_size(rkey),
           beaa_ckks_switch_key_bytes(ctx));
    beaa_status again = beaa_ckks_secret_key_save(sk, skey, 0);
    printf("saving the secret key again without overwrite: %s\n", beaa_strerror(again));

    /* Client, 2: encrypt COUNT ciphertexts with the secret key (seeded: half the upload). */
    double *v = malloc(slots * sizeof *v), *got = malloc(slots * sizeof *got);
    if (!v || !got) return 1;
    beaa_ckks_plaintext *pt;
    beaa_ckks_ciphertext *ct;
    TRY(beaa_ckks_plaintext_new(ctx, 1, &pt));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 1, &ct));
    beaa_stream_writer *w;
    beaa_serial_writer buf;
    beaa_serial_writer_init(&buf, 0);
    TRY(beaa_stream_writer_open(in, 0, BEAA_OBJ_CIPHERTEXT, beaa_ckks_context_fingerprint(ctx),
                                "demo", 4, &w));
    for (int c = 0; c < COUNT; c++) {
        for (size_t j = 0; j < slots; j++) v[j] = sin(0.001 * (double)j + c);
        TRY(beaa_ckks_encode_real(ctx, v, slots, 1073741824.0, 1, pt));
        TRY(beaa_ckks_encrypt_sk(sk, pt, ct));
        beaa_serial_writer_reset(&buf);
        TRY(beaa_ckks_ciphertext_serialize(ct, &buf));
        TRY(beaa_stream_writer_append(w, buf.buf, buf.len));
    }
    TRY(beaa_stream_writer_close(w));
    printf("input stream: %d ciphertexts, %ld B (one ciphertext in memory: %zu B)\n", COUNT,
           file_size(in), (size_t)2 * 2 * n * 8);

    /* Server. */
    if (server(params, rkey, in, out)) return 1;
    printf("result stream: %ld B (full form: evaluated ciphertexts have no seed)\n", file_size(out));

    /* Client, 3: decrypt and compare with x^2 in doubles. */
    beaa_stream_reader *r;
    TRY(beaa_stream_reader_open(out, BEAA_OBJ_CIPHERTEXT, beaa_ckks_context_fingerprint(ctx),
                                beaa_ckks_ciphertext_max_bytes(ctx), &r));
    double worst = 0;
    for (int c = 0; c < COUNT; c++) {
        const uint8_t *obj;
        size_t len;
        TRY(beaa_stream_reader_next(r, &obj, &len));
        TRY(beaa_ckks_ciphertext_deserialize_into(obj, len, ct));
        TRY(beaa_ckks_decrypt(sk, ct, pt));
        TRY(beaa_ckks_decode_real(pt, got, slots));
        for (size_t j = 0; j < slots; j++) {
            double x = sin(0.001 * (double)j + c);
            worst = fmax(worst, fabs(got[j] - x * x));
        }
    }
    beaa_stream_reader_close(r);
    printf("max |decrypted - x^2| over %d x %zu values: %.2e\n", COUNT, slots, worst);

    /* A damaged file is refused with a status, not a crash: flip one byte of the key file. */
    uint8_t *bytes;
    size_t blen;
    TRY(beaa_file_read_all(rkey, 0, &bytes, &blen));
    bytes[blen / 2] ^= 0x20;
    TRY(beaa_file_write_atomic(rkey, bytes, blen, 1));
    beaa_free(bytes);
    beaa_ckks_relin_key *bad = NULL;
    printf("loading the damaged relin key: %s\n",
           beaa_strerror(beaa_ckks_relin_key_load(ctx, rkey, &bad)));

    unlink(params); unlink(skey); unlink(rkey); unlink(in); unlink(out);
    beaa_serial_writer_free(&buf);
    beaa_ckks_ciphertext_free(ct);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    free(v);
    free(got);
    return worst < 1e-3 ? 0 : 1;
}
