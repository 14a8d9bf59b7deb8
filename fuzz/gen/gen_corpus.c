/* gen_corpus.c - writes the fuzz targets' seed corpus: small valid files of every kind each
 * target reads, on the fuzzing ring of fuzz/common/fuzz_util.c (N = 2^10, insecure by explicit
 * opt-out: KB-sized objects). Usage: gen_corpus DIR (makes DIR/<target>/...; `make fuzz-corpus`).
 * Keys and noise come from OS entropy, so two runs give different (equally valid) bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "fuzz/common/fuzz_util.h"
#include "lib/stream.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "nn/model.h"

static const char *g_out;

static void die(const char *what, beaa_status st)
{
    fprintf(stderr, "gen_corpus: %s: %s\n", what, beaa_strerror(st));
    exit(1);
}
#define OK(call, what) do { beaa_status st_ = (call); if (st_ != BEAA_OK) die(what, st_); } while (0)

static const char *path_of(const char *target, const char *name)
{
    static char p[1024];
    snprintf(p, sizeof p, "%s/%s", g_out, target);
    if (mkdir(p, 0755) != 0 && errno != EEXIST) { perror(p); exit(1); }
    snprintf(p, sizeof p, "%s/%s/%s", g_out, target, name);
    return p;
}

static void put(const char *target, const char *name, const void *d, size_t n)
{
    const char *p = path_of(target, name);
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f) != 0) { perror(p); exit(1); }
    printf("%-12s %-24s %7zu bytes\n", target, name, n);
}

static void put_w(const char *target, const char *name, beaa_serial_writer *w)
{
    put(target, name, w->buf, w->len);
    beaa_serial_writer_reset(w);
}

/* a stream file of cts (count of them) with meta, read back into memory and stored */
static void put_stream(const char *target, const char *name, const beaa_ckks_context *ctx,
                       const void *meta, size_t meta_len, beaa_ckks_ciphertext **cts, size_t count)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp-stream", path_of(target, name));
    beaa_stream_writer *sw;
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    OK(beaa_stream_writer_open(tmp, 1, BEAA_OBJ_CIPHERTEXT, beaa_ckks_context_fingerprint(ctx),
                               meta, meta_len, &sw), "stream open");
    for (size_t i = 0; i < count; i++) {
        beaa_serial_writer_reset(&w);
        OK(beaa_ckks_ciphertext_serialize(cts[i], &w), "stream ct");
        OK(beaa_stream_writer_append(sw, w.buf, w.len), "stream append");
    }
    OK(beaa_stream_writer_close(sw), "stream close");
    FILE *f = fopen(tmp, "rb");
    static uint8_t buf[1 << 20];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    remove(tmp);
    put(target, name, buf, n);
    beaa_serial_writer_free(&w);
}

/* the beaa tool's stream metadata: magic (8), n_images, c, h, w (u32 LE) */
static void tool_meta(uint8_t m[24], const char *magic, uint32_t n, uint32_t c, uint32_t h, uint32_t w)
{
    uint32_t v[4] = {n, c, h, w};
    memcpy(m, magic, 8);
    for (int k = 0; k < 4; k++)
        for (int b = 0; b < 4; b++) m[8 + 4 * k + b] = (uint8_t)(v[k] >> (8 * b));
}

/* the beaa tool's plan-scales envelope (type BEAA_OBJ_USER + 0x4e4e): scale, input scale */
static void tool_scales(beaa_serial_writer *w, const beaa_ckks_context *ctx)
{
    size_t mark;
    OK(beaa_serial_envelope_begin(w, BEAA_OBJ_USER + 0x4e4e, 0, beaa_ckks_context_fingerprint(ctx), &mark), "meta");
    OK(beaa_serial_write_f64(w, 0x1p25), "meta");
    OK(beaa_serial_write_f64(w, 0x1p20), "meta");
    OK(beaa_serial_envelope_end(w, mark), "meta");
}

static void ckks_objects(void)
{
    const beaa_ckks_context *ctx = fuzz_ctx();
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    beaa_ckks_secret_key *sk;
    beaa_ckks_public_key *pk;
    beaa_ckks_relin_key *rk;
    beaa_ckks_galois_keys *gk, *gk0;
    OK(beaa_ckks_secret_key_gen(ctx, &sk), "sk");
    OK(beaa_ckks_public_key_gen(sk, &pk), "pk");
    OK(beaa_ckks_relin_key_gen(sk, &rk), "rk");
    const int steps[1] = {1};
    OK(beaa_ckks_galois_keys_gen(sk, steps, 1, 0, &gk), "gk");
    OK(beaa_ckks_galois_keys_gen(sk, NULL, 0, 0, &gk0), "gk0");

    OK(beaa_ckks_params_serialize(ctx, &w), "params"); put_w("params", "tiny-ternary", &w);
    {
        beaa_ckks_params_spec sp;
        const unsigned bits[2] = {40, 30};
        beaa_ckks_context *c2;
        OK(beaa_ckks_params_spec_make(&sp, 11, bits, 2, 1, 40), "sparse spec");
        sp.secret = BEAA_CKKS_SECRET_SPARSE;
        sp.hamming_weight = 64;
        sp.allow_insecure = 1;
        OK(beaa_ckks_context_new(&sp, &c2), "sparse ctx");
        OK(beaa_ckks_params_serialize(c2, &w), "params"); put_w("params", "small-sparse", &w);
        beaa_ckks_context_free(c2);
    }
    OK(beaa_ckks_secret_key_serialize(sk, &w), "sk"); put_w("secret_key", "sk", &w);
    OK(beaa_ckks_public_key_serialize(pk, 0, &w), "pk"); put_w("public_key", "seeded", &w);
    OK(beaa_ckks_public_key_serialize(pk, 1, &w), "pk"); put_w("public_key", "full", &w);
    OK(beaa_ckks_relin_key_serialize(rk, 0, &w), "rk"); put_w("relin_key", "seeded", &w);
    OK(beaa_ckks_relin_key_serialize(rk, 1, &w), "rk"); put_w("relin_key", "full", &w);
    OK(beaa_ckks_galois_keys_serialize(gk, 0, &w), "gk"); put_w("galois_keys", "one-seeded", &w);
    OK(beaa_ckks_galois_keys_serialize(gk0, 0, &w), "gk"); put_w("galois_keys", "empty", &w);

    double v[8] = {0.5, -1.0, 2.0, 0.25, 3.0, -0.125, 1.5, -2.5};
    beaa_ckks_plaintext *pt, *pt0;
    OK(beaa_ckks_plaintext_new(ctx, 2, &pt), "pt");
    OK(beaa_ckks_plaintext_new(ctx, 0, &pt0), "pt");
    OK(beaa_ckks_encode_real(ctx, v, 8, 0x1p25, 2, pt), "encode");
    OK(beaa_ckks_encode_real(ctx, v, 8, 0x1p20, 0, pt0), "encode");
    OK(beaa_ckks_plaintext_serialize(pt, &w), "pt"); put_w("plaintext", "level2", &w);
    OK(beaa_ckks_plaintext_serialize(pt0, &w), "pt"); put_w("plaintext", "level0", &w);

    beaa_ckks_ciphertext *c[6];
    for (int i = 0; i < 6; i++) OK(beaa_ckks_ciphertext_new(ctx, 2, 0, &c[i]), "ct");
    OK(beaa_ckks_encrypt_sk(sk, pt, c[0]), "enc sk");
    OK(beaa_ckks_encrypt_pk(pk, pt, c[1]), "enc pk");
    OK(beaa_ckks_mul(c[0], c[1], c[2]), "mul");
    OK(beaa_ckks_encrypt_sk(sk, pt0, c[3]), "enc sk l0");
    OK(beaa_ckks_ciphertext_serialize(c[0], &w), "ct"); put_w("ciphertext", "seeded-l2", &w);
    OK(beaa_ckks_ciphertext_serialize(c[1], &w), "ct"); put_w("ciphertext", "full-l2", &w);
    OK(beaa_ckks_ciphertext_serialize(c[2], &w), "ct"); put_w("ciphertext", "size3-l2", &w);
    OK(beaa_ckks_ciphertext_serialize(c[3], &w), "ct"); put_w("ciphertext", "seeded-l0", &w);

    for (int i = 4; i < 6; i++) OK(beaa_ckks_encrypt_sk(sk, pt0, c[i]), "enc");
    put_stream("stream", "three-l0", ctx, "shape", 5, c + 3, 3);
    put_stream("stream", "empty", ctx, NULL, 0, c, 0);
    uint8_t m[24];
    beaa_ckks_ciphertext *four[4] = {c[3], c[4], c[5], c[3]};
    tool_meta(m, "BEAANNC1", 3, 1, 2, 2);
    put_stream("cli_inputs", "3-images-1x2x2", ctx, m, 24, four, 4);
    tool_meta(m, "BEAANNL1", 3, 3, 1, 1);
    put_stream("cli_logits", "3-images-3-classes", ctx, m, 24, c + 3, 3);

    OK(beaa_ckks_params_serialize(ctx, &w), "kf");
    OK(beaa_ckks_secret_key_serialize(sk, &w), "kf");
    tool_scales(&w, ctx);
    put_w("cli_keys", "client-secret", &w);
    OK(beaa_ckks_params_serialize(ctx, &w), "kf");
    OK(beaa_ckks_relin_key_serialize(rk, 0, &w), "kf");
    OK(beaa_ckks_public_key_serialize(pk, 0, &w), "kf");
    tool_scales(&w, ctx);
    put_w("cli_keys", "server-keys", &w);

    for (int i = 0; i < 6; i++) beaa_ckks_ciphertext_free(c[i]);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_plaintext_free(pt0);
    beaa_ckks_galois_keys_free(gk);
    beaa_ckks_galois_keys_free(gk0);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(sk);
    beaa_serial_writer_free_secret(&w);
}

static void model(const char *name, int fire, beaa_poly_gran gran, beaa_act_kind act)
{
    beaa_model_desc d[5];
    memset(d, 0, sizeof d);
    uint32_t n = 0;
    d[n++] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 2, .k = 3, .stride = 1, .pad = 1,
                                .act = act, .gran = gran };
    d[n++] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    if (fire)
        d[n++] = (beaa_model_desc){ .kind = BEAA_MODULE_FIRE, .squeeze = 2, .expand1 = 1, .expand3 = 1,
                                    .k3 = 3, .act = act, .gran = gran };
    d[n++] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 3, .k = 1, .stride = 1, .act = act,
                                .gran = BEAA_POLY_CHANNEL };
    d[n++] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m;
    OK(beaa_model_build(1, 4, 4, 3, d, n, &m), "model");
    snprintf(m->desc, sizeof m->desc, "fuzz seed %s", name);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] += (float)((i * 37 % 11) - 5) / 16.0f;
    for (uint32_t i = 0; i < m->n_modules; i++) /* keep BatchNorm variances positive */
        for (int k = 0; k < 2; k++)
            for (uint32_t c = 0; c < m->modules[i].bn[k].channels; c++) m->modules[i].bn[k].var[c] = 1.5f;
    uint8_t *b;
    size_t bl;
    OK(beaa_model_save_mem(m, &b, &bl), "model save");
    put("model", name, b, bl);
    free(b);
    beaa_model_free(m);
}

/* The model of `make valgrind` (scripts/valgrind.sh): conv 3x3 (2 channels, element-wise
 * polynomial) -> avgpool 2 -> conv 1x1 to 3 classes (channel-wise polynomial) -> GAP on 1x4x4,
 * weights of magnitude < 0.4 and activations 0.1 x^2 + 0.5 x + 0.1, so that it plans at N = 2^10. */
static void tool_model(const char *name)
{
    beaa_model_desc d[4];
    memset(d, 0, sizeof d);
    d[0] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 2, .k = 3, .stride = 1, .pad = 1,
                              .act = BEAA_ACT_POLY, .gran = BEAA_POLY_ELEMENT };
    d[1] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    d[2] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 3, .k = 1, .stride = 1,
                              .act = BEAA_ACT_POLY, .gran = BEAA_POLY_CHANNEL };
    d[3] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m;
    OK(beaa_model_build(1, 4, 4, 3, d, 4, &m), "tool model");
    snprintf(m->desc, sizeof m->desc, "fuzz seed %s", name);
    uint64_t s = 12345;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        beaa_model_module *md = &m->modules[i];
        if (md->kind != BEAA_MODULE_CONV) continue;
        beaa_model_conv *cv = &md->conv[0];
        size_t nw = (size_t)cv->cout * cv->cin * cv->kh * cv->kw;
        for (size_t j = 0; j < nw; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            cv->weight[j] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.8f;
        }
        for (uint32_t j = 0; j < md->act[0].count; j++) {
            md->act[0].a[j] = 0.1f;
            md->act[0].b[j] = 0.5f;
            md->act[0].c0[j] = 0.1f;
        }
    }
    m->in_mean[0] = 0.29f;
    m->in_std[0] = 0.35f;
    uint8_t *b;
    size_t bl;
    OK(beaa_model_save_mem(m, &b, &bl), "model save");
    put("model", name, b, bl);
    free(b);
    beaa_model_free(m);
}

static void gz_put(const char *target, const char *name, const uint8_t *d, size_t n)
{
    gzFile f = gzopen(path_of(target, name), "wb9");
    if (!f || gzwrite(f, d, (unsigned)n) != (int)n || gzclose(f) != Z_OK) { perror(name); exit(1); }
    printf("%-12s %-24s %7zu bytes before gzip\n", target, name, n);
}

static void data_files(void)
{
    uint8_t img[16 + 3 * 4 * 4], lab[8 + 3];
    const uint8_t ih[16] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 4};
    const uint8_t lh[8] = {0, 0, 8, 1, 0, 0, 0, 3};
    memcpy(img, ih, 16);
    for (int i = 0; i < 48; i++) img[16 + i] = (uint8_t)(i * 5);
    memcpy(lab, lh, 8);
    lab[8] = 1; lab[9] = 9; lab[10] = 0;
    put("idx", "images-plain", img, sizeof img);
    gz_put("idx", "images-gz", img, sizeof img);
    put("idx", "labels-plain", lab, sizeof lab);
    gz_put("idx", "labels-gz", lab, sizeof lab);

    static uint8_t cif[2 * 3073];
    for (size_t i = 0; i < sizeof cif; i++) cif[i] = (uint8_t)(i * 7);
    cif[0] = 3; cif[3073] = 9;
    put("cifar", "two-records", cif, sizeof cif);

    const char p5[] = "P5\n# a comment\n3 2\n255\n\x10\x20\x30\x40\x50\x60";
    const char p6[] = "P6 2 2 255\n\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c";
    put("pnm", "gray-3x2.pgm", p5, sizeof p5 - 1);
    put("pnm", "rgb-2x2.ppm", p6, sizeof p6 - 1);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: gen_corpus DIR\n"); return 2; }
    g_out = argv[1];
    if (mkdir(g_out, 0755) != 0 && errno != EEXIST) { perror(g_out); return 1; }
    ckks_objects();
    model("conv-element", 0, BEAA_POLY_ELEMENT, BEAA_ACT_POLY);
    model("fire-layer", 1, BEAA_POLY_LAYER, BEAA_ACT_POLY);
    model("fire-relu", 1, BEAA_POLY_LAYER, BEAA_ACT_RELU);
    tool_model("tool-flow");
    data_files();
    return 0;
}
