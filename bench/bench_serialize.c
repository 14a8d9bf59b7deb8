/* bench_serialize.c - throughput of SHAKE256 and of CKKS ciphertext serialization at a realistic
 * size (N = 2^15, 16 data primes of 50 bits): full and seed-compressed forms, to memory (best of
 * several runs: the machine is shared) and through a stream file. Validates each round trip
 * before timing; prints CSV rows. Usage: bench_serialize [log_n [n_primes]]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/beaa.h"
#include "bench/common/bench_util.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define CHECK(call)                                                                       \
    do {                                                                                  \
        beaa_status s_ = (call);                                                          \
        if (s_ != BEAA_OK) {                                                              \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, beaa_strerror(s_)); \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static void row(const char *what, size_t n, unsigned limbs, size_t bytes, double sec)
{
    printf("serialize,%s,%zu,%u,%zu,%.6f,%.1f\n", what, n, limbs, bytes, sec,
           (double)bytes / sec / 1e6);
}

static int same_ct(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b)
{
    size_t words = (size_t)a->size * (a->level + 1) * beaa_ckks_context_n(a->ctx);
    return a->size == b->size && a->level == b->level && a->scale == b->scale &&
           memcmp(a->data, b->data, words * 8) == 0;
}

int main(int argc, char **argv)
{
    unsigned log_n = 15, n_primes = 16, reps = 5;
    if (argc > 3) {
        fprintf(stderr, "bench_serialize: too many arguments (usage: bench_serialize [log_n "
                        "[n_primes]])\n");
        return 2;
    }
    if ((argc > 1 && bench_parse_uint("bench_serialize", "log_n", argv[1], 10, 17, &log_n)) ||
        (argc > 2 && bench_parse_uint("bench_serialize", "n_primes", argv[2], 1,
                                      BEAA_CKKS_MAX_PRIMES - 1, &n_primes)))
        return 2; /* (n_primes fills a bits[] of BEAA_CKKS_MAX_PRIMES; one special prime) */
    printf("bench,what,N,limbs,bytes,seconds,MB_per_s\n");

    /* SHAKE256 on one core: best of 50 runs over 1 MiB */
    size_t hn = (size_t)1 << 20;
    uint8_t *hb = malloc(hn), dig[16];
    if (!hb) return 1;
    for (size_t i = 0; i < hn; i++) hb[i] = (uint8_t)i;
    double t0, hbest = 1e30;
    for (int r = 0; r < 50; r++) {
        t0 = now();
        beaa_shake256(dig, sizeof dig, hb, hn);
        double t = now() - t0;
        hbest = t < hbest ? t : hbest;
    }
    row("shake256_1core", 0, 0, hn, hbest);
    free(hb);

    unsigned bits[BEAA_CKKS_MAX_PRIMES];
    for (unsigned i = 0; i < n_primes; i++) bits[i] = 50;
    beaa_ckks_params_spec sp;
    beaa_ckks_context *ctx = NULL;
    CHECK(beaa_ckks_params_spec_make(&sp, log_n, bits, n_primes, 1, 60));
    sp.allow_insecure = 1; /* timing only; the default 2^15 x 16 x 50 + 60 is within the bound */
    CHECK(beaa_ckks_context_new(&sp, &ctx));
    beaa_ckks_secret_key *sk = NULL;
    beaa_ckks_public_key *pk = NULL;
    CHECK(beaa_ckks_secret_key_gen(ctx, &sk));
    CHECK(beaa_ckks_public_key_gen(sk, &pk));
    size_t n = beaa_ckks_context_n(ctx), slots = n / 2;
    unsigned L = beaa_ckks_context_max_level(ctx);
    double *v = malloc(slots * sizeof *v);
    for (size_t j = 0; j < slots; j++) v[j] = (double)(j % 17) / 17.0;
    beaa_ckks_plaintext *pt = NULL;
    CHECK(beaa_ckks_plaintext_new(ctx, L, &pt));
    CHECK(beaa_ckks_encode_real(ctx, v, slots, 1099511627776.0, L, pt));
    beaa_ckks_ciphertext *ctp = NULL, *cts = NULL, *back = NULL;
    CHECK(beaa_ckks_ciphertext_new(ctx, 2, L, &ctp));
    CHECK(beaa_ckks_ciphertext_new(ctx, 2, L, &cts));
    CHECK(beaa_ckks_ciphertext_new(ctx, 2, 0, &back));
    CHECK(beaa_ckks_encrypt_pk(pk, pt, ctp));
    CHECK(beaa_ckks_encrypt_sk(sk, pt, cts));

    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    const beaa_ckks_ciphertext *cases[2] = {ctp, cts};
    const char *names[2] = {"ct_full", "ct_seeded"};
    size_t raw = (size_t)2 * (L + 1) * n * 8;
    printf("# raw 64-bit ciphertext: %zu bytes\n", raw);
    for (int c = 0; c < 2; c++) {
        /* validate */
        beaa_serial_writer_reset(&w);
        CHECK(beaa_ckks_ciphertext_serialize(cases[c], &w));
        CHECK(beaa_ckks_ciphertext_deserialize_into(w.buf, w.len, back));
        if (!same_ct(cases[c], back)) {
            fprintf(stderr, "round trip mismatch (%s)\n", names[c]);
            return 1;
        }
        char name[64];
        double best = 1e30;
        for (unsigned r = 0; r < reps; r++) {
            beaa_serial_writer_reset(&w);
            t0 = now();
            CHECK(beaa_ckks_ciphertext_serialize(cases[c], &w));
            double t = now() - t0;
            best = t < best ? t : best;
        }
        snprintf(name, sizeof name, "%s_write_mem", names[c]);
        row(name, n, L + 1, w.len, best);
        best = 1e30;
        for (unsigned r = 0; r < reps; r++) {
            t0 = now();
            CHECK(beaa_ckks_ciphertext_deserialize_into(w.buf, w.len, back));
            double t = now() - t0;
            best = t < best ? t : best;
        }
        snprintf(name, sizeof name, "%s_read_mem", names[c]);
        row(name, n, L + 1, w.len, best);
    }

    /* relinearization key: seeded and full; loading a seeded key re-expands every a_j */
    beaa_ckks_relin_key *rk = NULL, *rk2 = NULL;
    CHECK(beaa_ckks_relin_key_gen(sk, &rk));
    for (int full = 0; full <= 1; full++) {
        beaa_serial_writer_reset(&w);
        t0 = now();
        CHECK(beaa_ckks_relin_key_serialize(rk, full, &w));
        row(full ? "rk_full_write_mem" : "rk_seeded_write_mem", n, L + 1, w.len, now() - t0);
        t0 = now();
        CHECK(beaa_ckks_relin_key_deserialize(ctx, w.buf, w.len, &rk2));
        row(full ? "rk_full_read_mem" : "rk_seeded_read_mem", n, L + 1, w.len, now() - t0);
        if (memcmp(rk2->key.data, rk->key.data, beaa_ckks_switch_key_bytes(ctx)) != 0) {
            fprintf(stderr, "relin key round trip mismatch\n");
            return 1;
        }
        beaa_ckks_relin_key_free(rk2);
    }
    beaa_ckks_relin_key_free(rk);

    /* stream file of `reps` full ciphertexts, written and read back one at a time */
    char path[] = "/tmp/beaa_bench_stream_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    t0 = now();
    beaa_stream_writer *sw = NULL;
    CHECK(beaa_stream_writer_open(path, 1, BEAA_OBJ_CIPHERTEXT, beaa_ckks_context_fingerprint(ctx),
                                  NULL, 0, &sw));
    size_t total = 0;
    for (unsigned r = 0; r < reps; r++) {
        beaa_serial_writer_reset(&w);
        CHECK(beaa_ckks_ciphertext_serialize(ctp, &w));
        CHECK(beaa_stream_writer_append(sw, w.buf, w.len));
        total += w.len;
    }
    CHECK(beaa_stream_writer_close(sw));
    row("ct_full_stream_write_fsync", n, L + 1, total, now() - t0);
    t0 = now();
    beaa_stream_reader *sr = NULL;
    CHECK(beaa_stream_reader_open(path, BEAA_OBJ_CIPHERTEXT, beaa_ckks_context_fingerprint(ctx),
                                  beaa_ckks_ciphertext_max_bytes(ctx), &sr));
    for (unsigned r = 0; r < reps; r++) {
        const uint8_t *obj;
        size_t len;
        CHECK(beaa_stream_reader_next(sr, &obj, &len));
        CHECK(beaa_ckks_ciphertext_deserialize_into(obj, len, back));
    }
    beaa_stream_reader_close(sr);
    row("ct_full_stream_read", n, L + 1, total, now() - t0);
    if (!same_ct(ctp, back)) {
        fprintf(stderr, "stream round trip mismatch\n");
        return 1;
    }
    unlink(path);

    beaa_serial_writer_free(&w);
    beaa_ckks_ciphertext_free(back);
    beaa_ckks_ciphertext_free(cts);
    beaa_ckks_ciphertext_free(ctp);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    free(v);
    return 0;
}
