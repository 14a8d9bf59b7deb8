/* ch10_api.c - chapter 10 of the course (docs/course/10-api.md): the rules of the API in one
 * program. Statuses (every one has a message), ownership (who allocates, who frees), aliasing
 * (which outputs may be an input), and threads (one context and one key shared by two threads
 * give the same bits as one thread). Uses only the public API; `make test` also builds it
 * against the installed library with pkg-config (scripts/test_install.sh).
 * Run: build/examples/ch10_api */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, unlink, rmdir with a plain -std=c11 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* prints a refusal as "<what>: <message>" and a check line with its code */
static void refused(const char *name, const char *what, beaa_status st)
{
    printf("  %-52s -> %s\n", what, beaa_strerror(st));
    printf("check: %s %d\n", name, (int)st);
}

typedef struct job {
    const beaa_ckks_ciphertext *in;
    const beaa_ckks_relin_key *rk;
    beaa_ckks_ciphertext *out; /* each thread its own output */
    beaa_status st;
} job;

static void *square_job(void *p)
{
    job *j = p;
    j->st = beaa_ckks_mul_relin_rescale(j->in, j->in, j->rk, j->out);
    return NULL;
}

int main(void)
{
    /* Statuses: BEAA_OK is 0; every code has its own one-line message. */
    printf("%d status codes; e.g. %d: %s\n", (int)BEAA_STATUS_COUNT, (int)BEAA_ERR_SCALE_MISMATCH,
           beaa_strerror(BEAA_ERR_SCALE_MISMATCH));

    /* Parameters: the 128-bit check refuses, the explicit opt-out (teaching, tests) accepts. */
    unsigned bits[3] = {50, 40, 40};
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx = NULL, *other = NULL;
    printf("refusals:\n");
    TRY(beaa_ckks_params_spec_make(&spec, 10, bits, 3, 1, 50)); /* 180 bits > 27 at N = 2^10 */
    refused("status_insecure", "N = 2^10 with 180 bits of primes", beaa_ckks_context_new(&spec, &ctx));
    spec.allow_insecure = 1;
    TRY(beaa_ckks_context_new(&spec, &other)); /* insecure: only to show a mismatch below */
    TRY(beaa_ckks_params_spec_make(&spec, 13, bits, 3, 1, 50)); /* 180 <= 218: secure */
    TRY(beaa_ckks_context_new(&spec, &ctx));

    /* Ownership: every *_new/_gen allocates an object the caller frees with its *_free. */
    beaa_ckks_secret_key *sk;
    beaa_ckks_relin_key *rk;
    beaa_ckks_ciphertext *a, *b, *c, *o1, *o2, *x_other;
    TRY(beaa_ckks_secret_key_gen(ctx, &sk));
    TRY(beaa_ckks_relin_key_gen(sk, &rk));
    const size_t slots = beaa_ckks_context_slots(ctx);
    double *v = calloc(slots, sizeof *v), *got = calloc(slots, sizeof *got);
    if (!v || !got) return 1;
    for (size_t j = 0; j < slots; j++) v[j] = (double)(j % 7) / 8.0;
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 2, &a));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 2, &b));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 2, &c));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 2, &o1));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 2, &o2));
    TRY(beaa_ckks_ciphertext_new(other, 2, 2, &x_other));
    TRY(beaa_ckks_encrypt_sk_values(sk, v, slots, 0x1p30, 2, a));
    TRY(beaa_ckks_encrypt_sk_values(sk, v, slots, 0x1p30, 1, b));
    TRY(beaa_ckks_encrypt_sk_values(sk, v, slots, 0x1p35, 2, c));

    /* Refusals: validated before anything is written. */
    refused("status_params_mismatch", "add: ciphertexts of two contexts", beaa_ckks_add(a, x_other, o1));
    refused("status_level_mismatch", "add: levels 2 and 1", beaa_ckks_add(a, b, o1));
    refused("status_scale_mismatch", "add: scales 2^30 and 2^35", beaa_ckks_add(a, c, o1));
    refused("status_no_key", "multiply + relinearize without a key",
            beaa_ckks_mul_relin_rescale(a, a, NULL, o1));
    refused("status_value", "add_const(NaN)", beaa_ckks_add_const(a, NAN, o1));
    beaa_ckks_ciphertext *outs[1] = {a};
    int step = 1;
    refused("status_alias", "rotate_hoisted with out[0] == in", beaa_ckks_rotate_hoisted(a, &step, 1, NULL, outs));
    beaa_ckks_ciphertext *nothing = NULL;
    refused("status_arg", "ciphertext_new(NULL context)", beaa_ckks_ciphertext_new(NULL, 2, 0, &nothing));
    printf("  after a refusal the output pointer is NULL: %s\n", nothing == NULL ? "yes" : "no");

    /* Aliasing: outputs may be inputs (except rotate_hoisted's). In place: a = a + a, then
     * a = a * a (relinearized, rescaled), and the same with separate outputs: same bits. */
    TRY(beaa_ckks_add(a, a, o1));
    TRY(beaa_ckks_add(a, a, a));
    int same_add = memcmp(a->data, o1->data, (size_t)2 * 3 * beaa_ckks_context_n(ctx) * 8) == 0;
    TRY(beaa_ckks_mul_relin_rescale(o1, o1, rk, o2));
    TRY(beaa_ckks_mul_relin_rescale(a, a, rk, a));
    int same_mul = a->level == o2->level &&
                   memcmp(a->data, o2->data, (size_t)2 * (a->level + 1) * beaa_ckks_context_n(ctx) * 8) == 0;
    printf("aliasing: in-place add and in-place multiply give the out-of-place bits: %s, %s\n",
           same_add ? "yes" : "no", same_mul ? "yes" : "no");
    printf("check: inplace_differences %d\n", !same_add + !same_mul);

    /* Threads: the context and keys are read-only; two threads square the same input into two
     * outputs at once. Results do not depend on threads. */
    TRY(beaa_ckks_encrypt_sk_values(sk, v, slots, 0x1p30, 2, c));
    beaa_ckks_ciphertext *t_out[2], *serial;
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 2, &t_out[0]));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 2, &t_out[1]));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 2, &serial));
    TRY(beaa_ckks_mul_relin_rescale(c, c, rk, serial));
    job jobs[2] = {{c, rk, t_out[0], BEAA_ERR_INTERNAL}, {c, rk, t_out[1], BEAA_ERR_INTERNAL}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, square_job, &jobs[i]) != 0) return 1;
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    int differ = 0;
    for (int i = 0; i < 2; i++) {
        TRY(jobs[i].st);
        differ += memcmp(t_out[i]->data, serial->data,
                         (size_t)2 * (serial->level + 1) * beaa_ckks_context_n(ctx) * 8) != 0;
    }
    printf("two threads, one context and key: results equal to one thread's: %s\n",
           differ ? "no" : "yes");
    printf("check: thread_differences %d\n", differ);
    beaa_ckks_scratch_release(); /* this thread's cached key-switching buffers */

    /* Files: never overwritten unless asked; a damaged file is refused. */
    char dir[] = "/tmp/beaa_ch10_XXXXXX", path[64];
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/ct.bin", dir);
    TRY(beaa_ckks_ciphertext_save(serial, path, 0));
    refused("status_exists", "ciphertext_save over an existing file", beaa_ckks_ciphertext_save(serial, path, 0));
    uint8_t *bytes;
    size_t len;
    TRY(beaa_file_read_all(path, 0, &bytes, &len));
    bytes[len / 2] ^= 1;
    TRY(beaa_file_write_atomic(path, bytes, len, 1));
    beaa_free(bytes);
    beaa_ckks_ciphertext *loaded = NULL;
    refused("status_checksum", "loading it after one bit flipped", beaa_ckks_ciphertext_load(ctx, path, &loaded));
    unlink(path);
    rmdir(dir);

    beaa_ckks_plaintext *pt;
    TRY(beaa_ckks_plaintext_new(ctx, 0, &pt));
    TRY(beaa_ckks_decrypt(sk, serial, pt));
    TRY(beaa_ckks_decode_real(pt, got, slots));
    printf("slot 3: %.6f (want %.6f)\n", got[3], v[3] * v[3]);

    beaa_ckks_plaintext_free(pt);
    beaa_ckks_ciphertext_free(serial);
    beaa_ckks_ciphertext_free(t_out[0]);
    beaa_ckks_ciphertext_free(t_out[1]);
    beaa_ckks_ciphertext_free(x_other);
    beaa_ckks_ciphertext_free(o2);
    beaa_ckks_ciphertext_free(o1);
    beaa_ckks_ciphertext_free(c);
    beaa_ckks_ciphertext_free(b);
    beaa_ckks_ciphertext_free(a);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);           /* wiped before it is freed */
    beaa_ckks_context_free(other);
    beaa_ckks_context_free(ctx);              /* last: every object above refers to it */
    free(v);
    free(got);
    return 0;
}
