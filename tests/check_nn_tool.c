/* check_nn_tool.c - the `beaa` tool end to end on a tiny model and a small (insecure, N=2^12)
 * ring: keygen -> encrypt (IDX.gz images) -> infer -> decrypt, predictions against the
 * plaintext folded reference, and the error paths: no clobbering, more images than slots,
 * truncated files, ciphertexts for other parameters, a model deeper than the keys' chain;
 * the on-disk layout of the ciphertext files' metadata and crafted metadata (a tensor shape whose
 * 64-bit product wraps around to the true count, counts that do not match, 0 images); image and
 * label paths that are not regular files (a FIFO used to block gzopen forever); encrypt --random
 * (random pixels in any channel count) and its refusals. */
#include <check.h>
#include "tests/tool_util.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "lib/stream.h"
#include "nn/fold.h"
#include "nn/model.h"
#include "nn/plain.h"

#define BEAA_BIN "./bin/beaa"
#define HW 8   /* small images (a generated IDX.gz file) keep the runner fast */
#define NIMG 12
#define SMALL " --log-n 12 --insecure-small-ring"

static char dir[256];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[4600];
    snprintf(full, sizeof full, "OMP_WAIT_POLICY=passive %s >>%s/log.txt 2>&1", cmd, dir);
    return system(full);
}

/* Runs a command with stdout+stderr into dir/err.txt; returns its exit status and leaves the
 * output (at most n-1 bytes, NUL-terminated) in out. */
static int sh_out(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh_out(char *out, size_t n, const char *fmt, ...)
{
    char cmd[4096], full[4600], path[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/err.txt", dir);
    snprintf(full, sizeof full, "OMP_WAIT_POLICY=passive %s >%s 2>&1", cmd, path);
    int rc = system(full);
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(out, 1, n - 1, f) : 0;
    out[got] = 0;
    if (f) fclose(f);
    return rc;
}

/* cin channels of HWxHW -> conv 5x5/2 (3 ch) -> pool 2 -> conv 1x1 to 10 (-> extra conv 1x1
 * 10->10 if deep) -> GAP */
static void write_model_c(const char *path, int deep, uint32_t cin)
{
    beaa_model_desc d[5];
    memset(d, 0, sizeof d);
    int n = 0;
    d[n++] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 3, .k = 5, .stride = 2, .pad = 2,
                                .act = BEAA_ACT_POLY, .gran = BEAA_POLY_ELEMENT };
    d[n++] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    d[n++] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 10, .k = 1, .stride = 1,
                                .act = BEAA_ACT_POLY, .gran = BEAA_POLY_CHANNEL };
    if (deep)
        d[n++] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 10, .k = 1, .stride = 1,
                                    .act = BEAA_ACT_POLY, .gran = BEAA_POLY_CHANNEL };
    d[n++] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m = NULL;
    ck_assert_int_eq(beaa_model_build(cin, HW, HW, 10, d, (uint32_t)n, &m), BEAA_OK);
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
            md->act[0].a[j] = 0.1f; md->act[0].b[j] = 0.5f; md->act[0].c0[j] = 0.1f;
        }
    }
    for (uint32_t c = 0; c < cin; c++) {
        m->in_mean[c] = 0.29f + 0.1f * (float)c;
        m->in_std[c] = 0.35f;
    }
    ck_assert_int_eq(beaa_model_save(m, path, 1), BEAA_OK);
    beaa_model_free(m);
}

static void write_model(const char *path, int deep)
{
    write_model_c(path, deep, 1);
}

static long fsize(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static uint8_t pixels[NIMG * HW * HW];
static char images[300], labels[300];

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Writes NIMG random HWxHW images and labels as gzip-compressed IDX files. */
static void write_idx(void)
{
    uint8_t hdr[16], lab[NIMG];
    uint64_t s = 777;
    for (size_t i = 0; i < sizeof pixels; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        pixels[i] = (uint8_t)(s >> 56);
    }
    for (int i = 0; i < NIMG; i++) lab[i] = (uint8_t)(i % 10);
    put_be32(hdr, 0x803); put_be32(hdr + 4, NIMG); put_be32(hdr + 8, HW); put_be32(hdr + 12, HW);
    gzFile g = gzopen(images, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, hdr, 16), 16);
    ck_assert_int_eq(gzwrite(g, pixels, sizeof pixels), (int)sizeof pixels);
    gzclose(g);
    put_be32(hdr, 0x801);
    g = gzopen(labels, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, hdr, 8), 8);
    ck_assert_int_eq(gzwrite(g, lab, NIMG), NIMG);
    gzclose(g);
}

/* Copies the first len bytes of src to dst. */
static void copy_head(const char *src, const char *dst, long len)
{
    FILE *a = fopen(src, "rb"), *b = fopen(dst, "wb");
    ck_assert(a && b);
    for (long i = 0; i < len; i++) {
        int c = fgetc(a);
        ck_assert_int_ne(c, EOF);
        fputc(c, b);
    }
    fclose(a);
    ck_assert_int_eq(fclose(b), 0);
}

/* encrypt --random: images of random pixels in the model's geometry, any channel count (here
 * 3x8x8, which no IDX file holds), through infer and decrypt; and its refusals. */
START_TEST(test_tool_random)
{
    char m[300], out[4096], p[400];
    snprintf(m, sizeof m, "%s/rgb.model", dir);
    write_model_c(m, 0, 3);
    ck_assert_int_eq(sh(BEAA_BIN " keygen --model %s --batch 16" SMALL " --secret %s/sk --keys %s/keys",
                        m, dir, dir), 0);
    ck_assert_int_eq(sh_out(out, sizeof out, BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL
                            " --random 7 --out %s/ct", m, dir, dir), 0);
    ck_assert_msg(strstr(out, "encrypted 7 random images into 192 ciphertexts") != NULL, "got: %s", out);
    ck_assert_int_eq(sh_out(out, sizeof out, BEAA_BIN " info %s/ct", dir), 0);
    ck_assert_msg(strstr(out, "encrypted inputs of 7 images (3x8x8)") != NULL, "got: %s", out);
    /* info checks the objects' framing: a stream cut short, or with bytes after its last
     * object, is reported (status 1), not described as whole */
    ck_assert_int_eq(sh("cp %s/ct %s/ct.cut && truncate -s -1000 %s/ct.cut", dir, dir, dir), 0);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " info %s/ct.cut", dir), 0);
    ck_assert_msg(strstr(out, "truncated") != NULL, "got: %s", out);
    ck_assert_int_eq(sh("cp %s/ct %s/ct.tail && (printf 'more' >> %s/ct.tail)", dir, dir, dir), 0);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " info %s/ct.tail", dir), 0);
    ck_assert_int_eq(sh(BEAA_BIN " infer --model %s --keys %s/keys" SMALL " --in %s/ct --out %s/lg",
                        m, dir, dir, dir), 0);
    ck_assert_int_eq(sh(BEAA_BIN " decrypt --secret %s/sk" SMALL " --in %s/lg --out %s/pred.txt",
                        dir, dir, dir), 0);
    snprintf(p, sizeof p, "%s/pred.txt", dir);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    int lines = 0, ch;
    while ((ch = fgetc(f)) != EOF) lines += ch == '\n';
    fclose(f);
    ck_assert_int_eq(lines, 7);
    /* refusals: more than the slots, both sources, --count with --random, neither */
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL
                            " --random 5000 --out %s/ct2", m, dir, dir), 0);
    ck_assert_msg(strstr(out, "more images than the 2048 slots") != NULL, "got: %s", out);
    ck_assert_int_ne(sh(BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL " --random 3 --images %s"
                        " --out %s/ct2", m, dir, images, dir), 0);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL
                            " --random 3 --count 2 --out %s/ct2", m, dir, dir), 0);
    ck_assert_msg(strstr(out, "--count goes with --images") != NULL, "got: %s", out);
    ck_assert_int_ne(sh(BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL " --out %s/ct2", m, dir, dir), 0);
    /* numbers are whole numbers in range, or refused with the option named */
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL
                            " --random 3x --out %s/ct2", m, dir, dir), 0);
    ck_assert_msg(strstr(out, "--random takes a whole number from 1 to") != NULL, "got: %s", out);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL
                            " --random 0 --out %s/ct2", m, dir, dir), 0);
    ck_assert_msg(strstr(out, "(got '0')") != NULL, "got: %s", out);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " infer --model %s --keys %s/keys" SMALL
                            " --threads -1 --in %s/ct --out %s/lg2", m, dir, dir, dir), 0);
    ck_assert_msg(strstr(out, "--threads takes a whole number from 1 to 4096") != NULL, "got: %s", out);
    snprintf(p, sizeof p, "%s/ct2", dir);
    ck_assert_int_eq(fsize(p), -1);
    /* a 3-channel model and 1-channel IDX images: refused with both shapes named */
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL
                            " --images %s --out %s/ct2", m, dir, images, dir), 0);
    ck_assert_msg(strstr(out, "images are 8x8, the model wants 3x8x8") != NULL, "got: %s", out);
}
END_TEST

static void setup(void)
{
    tu_mkdtemp(dir, sizeof dir, "beaa_nn_tool");
    snprintf(images, sizeof images, "%s/images.gz", dir);
    snprintf(labels, sizeof labels, "%s/labels.gz", dir);
    write_idx();
}

static void teardown(void)
{
    if (getenv("BEAA_KEEP_TMP")) { fprintf(stderr, "kept %s\n", dir); return; }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

START_TEST(test_tool_flow)
{
    ck_assert_msg(access(BEAA_BIN, X_OK) == 0, "%s not built (make tools)", BEAA_BIN);
    char m[300], m2[300];
    snprintf(m, sizeof m, "%s/tiny.model", dir);
    snprintf(m2, sizeof m2, "%s/deep.model", dir);
    write_model(m, 0);
    write_model(m2, 1);
    /* keygen; a second keygen must not clobber */
    ck_assert_int_eq(sh(BEAA_BIN " keygen --model %s --batch 16" SMALL " --secret %s/sk --keys %s/keys",
                        m, dir, dir), 0);
    long ks, sks;
    char p[400];
    snprintf(p, sizeof p, "%s/keys", dir);
    ks = fsize(p);
    snprintf(p, sizeof p, "%s/sk", dir);
    sks = fsize(p);
    ck_assert(ks > 0 && sks > 0);
    ck_assert_int_ne(sh(BEAA_BIN " keygen --model %s --batch 16" SMALL " --secret %s/sk --keys %s/keys2",
                        m, dir, dir), 0);
    ck_assert_int_eq(fsize(p), sks);
    /* encrypt 12 images; more images than the 2048 slots is refused (a 3000-image file) */
    ck_assert_int_eq(sh(BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL " --images %s"
                        " --count 12 --out %s/ct", m, dir, images, dir), 0);
    {
        uint8_t hdr[16], *big = calloc(3000, HW * HW);
        char bigp[320];
        snprintf(bigp, sizeof bigp, "%s/big.gz", dir);
        put_be32(hdr, 0x803); put_be32(hdr + 4, 3000); put_be32(hdr + 8, HW); put_be32(hdr + 12, HW);
        gzFile g = gzopen(bigp, "wb");
        ck_assert_ptr_nonnull(g);
        ck_assert_int_eq(gzwrite(g, hdr, 16), 16);
        ck_assert_int_eq(gzwrite(g, big, 3000 * HW * HW), 3000 * HW * HW);
        gzclose(g);
        free(big);
        ck_assert_int_ne(sh(BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL " --images %s"
                            " --out %s/ct_big", m, dir, bigp, dir), 0);
    }
    snprintf(p, sizeof p, "%s/ct_big", dir);
    ck_assert_int_eq(fsize(p), -1);
    /* the server: infer with the public keys only */
    ck_assert_int_eq(sh(BEAA_BIN " infer --model %s --keys %s/keys" SMALL " --in %s/ct --out %s/lg",
                        m, dir, dir, dir), 0);
    ck_assert_int_ne(sh(BEAA_BIN " infer --model %s --keys %s/keys" SMALL " --in %s/ct --out %s/lg",
                        m, dir, dir, dir), 0); /* exists: no overwrite */
    ck_assert_int_eq(sh(BEAA_BIN " decrypt --secret %s/sk" SMALL " --in %s/lg --labels %s"
                        " --out %s/pred.txt", dir, dir, labels, dir), 0);
    ck_assert_int_ne(sh(BEAA_BIN " decrypt --secret %s/sk" SMALL " --in %s/lg --out %s/pred.txt",
                        dir, dir, dir), 0); /* exists: no overwrite */
    /* predictions = argmax of the plaintext folded reference on the same images */
    beaa_model *mm = NULL;
    beaa_nn_net *net = NULL;
    ck_assert_int_eq(beaa_model_load(m, &mm), BEAA_OK);
    ck_assert_int_eq(beaa_nn_net_fold(mm, &net), BEAA_OK);
    double x[NIMG * HW * HW], ref[NIMG * 10];
    beaa_nn_normalize(mm, pixels, NIMG, x);
    ck_assert_int_eq(beaa_nn_plain_folded_forward(net, x, 12, ref), BEAA_OK);
    snprintf(p, sizeof p, "%s/pred.txt", dir);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    int agree = 0, lines = 0;
    unsigned pr;
    while (fscanf(f, "%u", &pr) == 1) {
        ck_assert_int_lt(lines, 12);
        agree += pr == beaa_nn_argmax(ref + lines * 10, 10);
        lines++;
    }
    fclose(f);
    ck_assert_int_eq(lines, 12);
    ck_assert_int_ge(agree, 11);
    beaa_nn_net_free(net);
    beaa_model_free(mm);

    /* truncated ciphertext file */
    char q[400];
    snprintf(p, sizeof p, "%s/ct", dir);
    snprintf(q, sizeof q, "%s/ct_trunc", dir);
    copy_head(p, q, fsize(p) - 1000);
    ck_assert_int_ne(sh(BEAA_BIN " infer --model %s --keys %s/keys" SMALL " --in %s/ct_trunc --out %s/lg2",
                        m, dir, dir, dir), 0);
    /* truncated key file */
    snprintf(p, sizeof p, "%s/keys", dir);
    snprintf(q, sizeof q, "%s/keys_trunc", dir);
    copy_head(p, q, fsize(p) / 2);
    ck_assert_int_ne(sh(BEAA_BIN " infer --model %s --keys %s/keys_trunc" SMALL " --in %s/ct --out %s/lg2",
                        m, dir, dir, dir), 0);
    /* keys for other parameters (N = 2^13): the ciphertexts do not belong to them */
    ck_assert_int_eq(sh(BEAA_BIN " keygen --model %s --batch 16 --log-n 13 --insecure-small-ring "
                        "--secret %s/sk13 --keys %s/keys13", m, dir, dir), 0);
    ck_assert_int_ne(sh(BEAA_BIN " infer --model %s --keys %s/keys13 --insecure-small-ring --in %s/ct --out %s/lg2",
                        m, dir, dir, dir), 0);
    /* a model one level deeper than the keys' chain */
    ck_assert_int_ne(sh(BEAA_BIN " infer --model %s --keys %s/keys" SMALL " --in %s/ct --out %s/lg2",
                        m2, dir, dir, dir), 0);
    /* a secret key file where a key file is expected, and garbage */
    ck_assert_int_ne(sh(BEAA_BIN " infer --model %s --keys %s/sk" SMALL " --in %s/ct --out %s/lg2",
                        m, dir, dir, dir), 0);
    ck_assert_int_ne(sh(BEAA_BIN " decrypt --secret %s/keys" SMALL " --in %s/lg", dir, dir), 0);
    snprintf(p, sizeof p, "%s/lg2", dir);
    ck_assert_int_eq(fsize(p), -1);
    /* info reads every kind of file; for a model it names the stages that take raw inputs
     * (nn/fold.h): none in the tiny model, the Fire squeeze (stage 2) in the SqueezeNet-shaped
     * one whose first convolution has twice the squeeze's channels */
    char out[4096];
    ck_assert_int_eq(sh(BEAA_BIN " info %s/ct", dir), 0);
    ck_assert_int_eq(sh(BEAA_BIN " info %s/keys", dir), 0);
    ck_assert_int_eq(sh_out(out, sizeof out, BEAA_BIN " info %s", m), 0);
    ck_assert_msg(strstr(out, "folded: ") && !strstr(out, " raw "), "%s", out);
    snprintf(p, sizeof p, "%s/sq.model", dir);
    tu_write_model(p, 16);
    ck_assert_int_eq(sh_out(out, sizeof out, BEAA_BIN " info %s", p), 0);
    ck_assert_msg(strstr(out, "products raw (key switches after their linear maps): 2\n"), "%s", out);
}
END_TEST

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

/* Copies the ciphertext stream src to dst with new metadata: magic, then n_images, c, h, w as
 * little-endian u32 (the documented layout, built here by hand), cut to meta_len bytes. */
static void craft_ct(const char *src, const char *dst, const char *magic, uint32_t n_images,
                     uint32_t c, uint32_t h, uint32_t w, size_t meta_len)
{
    uint8_t meta[24];
    memcpy(meta, magic, 8);
    put_le32(meta + 8, n_images); put_le32(meta + 12, c); put_le32(meta + 16, h); put_le32(meta + 20, w);
    ck_assert_uint_le(meta_len, sizeof meta);
    beaa_stream_reader *r = NULL;
    ck_assert_int_eq(beaa_stream_reader_open(src, BEAA_OBJ_NONE, NULL, 0, &r), BEAA_OK);
    beaa_stream_writer *wr = NULL;
    ck_assert_int_eq(beaa_stream_writer_open(dst, 1, beaa_stream_reader_elem_type(r),
                                             beaa_stream_reader_fingerprint(r), meta, meta_len, &wr),
                     BEAA_OK);
    for (uint64_t i = 0; i < beaa_stream_reader_count(r); i++) {
        const uint8_t *obj;
        size_t len;
        ck_assert_int_eq(beaa_stream_reader_next(r, &obj, &len), BEAA_OK);
        ck_assert_int_eq(beaa_stream_writer_append(wr, obj, len), BEAA_OK);
    }
    beaa_stream_reader_close(r);
    ck_assert_int_eq(beaa_stream_writer_close(wr), BEAA_OK);
}

START_TEST(test_tool_ct_meta)
{
    ck_assert_msg(access(BEAA_BIN, X_OK) == 0, "%s not built (make tools)", BEAA_BIN);
    char m[300], p[400], q[400], out[4096];
    snprintf(m, sizeof m, "%s/tiny.model", dir);
    write_model(m, 0);
    ck_assert_int_eq(sh(BEAA_BIN " keygen --model %s --batch 16" SMALL " --secret %s/sk --keys %s/keys",
                        m, dir, dir), 0);
    ck_assert_int_eq(sh(BEAA_BIN " encrypt --model %s --secret %s/sk" SMALL " --images %s"
                        " --count 12 --out %s/ct", m, dir, images, dir), 0);
    snprintf(p, sizeof p, "%s/ct", dir);
    snprintf(q, sizeof q, "%s/bad", dir);
    /* the metadata on disk: "BEAANNC1", then 12 images, shape 1 x 8 x 8, little-endian u32 */
    {
        static const uint8_t want[24] = { 'B', 'E', 'A', 'A', 'N', 'N', 'C', '1', 12, 0, 0, 0,
                                          1, 0, 0, 0, HW, 0, 0, 0, HW, 0, 0, 0 };
        beaa_stream_reader *r = NULL;
        ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_NONE, NULL, 0, &r), BEAA_OK);
        size_t ml = 0;
        const uint8_t *mp = beaa_stream_reader_meta(r, &ml);
        ck_assert_uint_eq(ml, sizeof want);
        ck_assert(mp && memcmp(mp, want, sizeof want) == 0);
        ck_assert_uint_eq(beaa_stream_reader_count(r), HW * HW);
        beaa_stream_reader_close(r);
    }
    /* the same metadata rebuilt by hand is accepted (the crafting itself is sound) */
    craft_ct(p, q, "BEAANNC1", 12, 1, HW, HW, 24);
    ck_assert_int_eq(sh_out(out, sizeof out, BEAA_BIN " infer --model %s --keys %s/keys" SMALL
                            " --in %s --out %s/lg_ok", m, dir, q, dir), 0);
    /* c * h * w = (2^29 + 2^15 + 1)(2^29 - 2^15 + 1) * 64 = 64 * (2^58 + 1) = 2^64 + 64: a 64-bit
     * product wraps around to the true count of 64 ciphertexts; each field is bounded first */
    craft_ct(p, q, "BEAANNC1", 12, 536903681u, 536838145u, 64, 24);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " infer --model %s --keys %s/keys" SMALL
                            " --in %s --out %s/lg2", m, dir, q, dir), 0);
    ck_assert_msg(strstr(out, "tensor shape out of range") != NULL, "got: %s", out);
    ck_assert_int_eq(sh_out(out, sizeof out, BEAA_BIN " info %s", q), 0);
    ck_assert_msg(strstr(out, "bad metadata (tensor shape out of range") != NULL, "got: %s", out);
    /* a zero in the shape */
    craft_ct(p, q, "BEAANNC1", 12, 0, HW, HW, 24);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " infer --model %s --keys %s/keys" SMALL
                            " --in %s --out %s/lg2", m, dir, q, dir), 0);
    ck_assert_msg(strstr(out, "tensor shape out of range") != NULL, "got: %s", out);
    /* shapes in range whose product is not the count: 32 and 1024 * 1024 * 1 (above 10^6) */
    craft_ct(p, q, "BEAANNC1", 12, 1, HW, HW / 2, 24);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " infer --model %s --keys %s/keys" SMALL
                            " --in %s --out %s/lg2", m, dir, q, dir), 0);
    ck_assert_msg(strstr(out, "does not match the tensor shape") != NULL, "got: %s", out);
    craft_ct(p, q, "BEAANNC1", 12, 1, 1024, 1024, 24);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " infer --model %s --keys %s/keys" SMALL
                            " --in %s --out %s/lg2", m, dir, q, dir), 0);
    ck_assert_msg(strstr(out, "more than 1,000,000 elements") != NULL, "got: %s", out);
    /* 0 images; more images than the 2,048 slots */
    craft_ct(p, q, "BEAANNC1", 0, 1, HW, HW, 24);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " infer --model %s --keys %s/keys" SMALL
                            " --in %s --out %s/lg2", m, dir, q, dir), 0);
    ck_assert_msg(strstr(out, "image count is 0") != NULL, "got: %s", out);
    craft_ct(p, q, "BEAANNC1", 5000, 1, HW, HW, 24);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " infer --model %s --keys %s/keys" SMALL
                            " --in %s --out %s/lg2", m, dir, q, dir), 0);
    ck_assert_msg(strstr(out, "more images than the keys' slots") != NULL, "got: %s", out);
    /* metadata cut short; logits where inputs are expected (and the reverse for decrypt) */
    craft_ct(p, q, "BEAANNC1", 12, 1, HW, HW, 20);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " infer --model %s --keys %s/keys" SMALL
                            " --in %s --out %s/lg2", m, dir, q, dir), 0);
    ck_assert_msg(strstr(out, "metadata has the wrong size") != NULL, "got: %s", out);
    craft_ct(p, q, "BEAANNL1", 12, 1, HW, HW, 24);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " infer --model %s --keys %s/keys" SMALL
                            " --in %s --out %s/lg2", m, dir, q, dir), 0);
    ck_assert_msg(strstr(out, "not a file of encrypted inputs") != NULL, "got: %s", out);
    ck_assert_int_ne(sh_out(out, sizeof out, BEAA_BIN " decrypt --secret %s/sk" SMALL " --in %s", dir, p), 0);
    ck_assert_msg(strstr(out, "not a file of encrypted logits") != NULL, "got: %s", out);
    snprintf(p, sizeof p, "%s/lg2", dir);
    ck_assert_int_eq(fsize(p), -1);
}
END_TEST

/* --images / --labels naming a FIFO or a directory: refused at once with a clear message (under
 * `timeout`, so a regression fails instead of hanging the runner). */
START_TEST(test_tool_not_regular)
{
    ck_assert_msg(access(BEAA_BIN, X_OK) == 0, "%s not built (make tools)", BEAA_BIN);
    char m[300], fifo[320], out[4096];
    snprintf(m, sizeof m, "%s/tiny.model", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    write_model(m, 0);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(sh(BEAA_BIN " keygen --model %s --batch 16" SMALL " --secret %s/sk --keys %s/keys",
                        m, dir, dir), 0);
    ck_assert_int_ne(sh_out(out, sizeof out, "timeout 60 " BEAA_BIN " encrypt --model %s --secret %s/sk"
                            SMALL " --images %s --out %s/ct", m, dir, fifo, dir), 0);
    ck_assert_msg(strstr(out, "not a regular file") != NULL, "got: %s", out);
    ck_assert_int_ne(sh_out(out, sizeof out, "timeout 60 " BEAA_BIN " encrypt --model %s --secret %s/sk"
                            SMALL " --images %s --out %s/ct", m, dir, dir, dir), 0);
    ck_assert_msg(strstr(out, "not a regular file") != NULL, "got: %s", out);
    char p[400];
    snprintf(p, sizeof p, "%s/ct", dir);
    ck_assert_int_eq(fsize(p), -1);
    /* the demo's label file (read after a valid image file) */
    ck_assert_int_ne(sh_out(out, sizeof out, "timeout 60 " BEAA_BIN " demo --model %s" SMALL
                            " --images %s --labels %s --count 4", m, images, fifo), 0);
    ck_assert_msg(strstr(out, "not a regular file") != NULL, "got: %s", out);
    /* the same image file as a regular file is read (the refusal is about the file type only) */
    ck_assert_int_eq(sh_out(out, sizeof out, "timeout 60 " BEAA_BIN " encrypt --model %s --secret %s/sk"
                            SMALL " --images %s --count 4 --out %s/ct", m, dir, images, dir), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nn_tool");
    TCase *tc = tcase_create("tool");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_tool_flow);
    tcase_add_test(tc, test_tool_ct_meta);
    tcase_add_test(tc, test_tool_not_regular);
    tcase_add_test(tc, test_tool_random);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
