/* check_limits.c - resource limits of every reader: a small hostile file whose header fields
 * claim a huge object must be refused with a status, allocating at most what the file itself
 * holds (docs/security.md states the bound per reader). Each test runs in its own process with
 * the address space capped at its current size + 256 MiB (RLIMIT_AS), so a reader that trusted
 * a header and asked for GiBs would fail with BEAA_ERR_NOMEM (the wrong status) instead of
 * refusing the file; under ASan (which reserves terabytes of shadow, so RLIMIT_AS cannot be
 * used) single allocations above 256 MiB return NULL instead (max_allocation_size_mb). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "lib/fileio.h"
#include "lib/serial.h"
#include "lib/stream.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "nn/model.h"
#include "train/data.h"
#include "tests/test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifdef UNDER_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "max_allocation_size_mb=256:allocator_may_return_null=1";
}
#endif

#define HEADROOM ((rlim_t)256 << 20)

static char g_dir[256];

static void cap_memory(void)
{
#ifndef UNDER_ASAN
    long pages = 0, page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld", &pages), 1);
    fclose(f);
    struct rlimit rl = { (rlim_t)pages * (rlim_t)page + HEADROOM, RLIM_INFINITY };
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
#endif
}

static const char *put(const char *name, const void *d, size_t n)
{
    static char p[400];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(d, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* IDX: 10^7 images of 4096 x 4096 announced (1.6e14 bytes), 200 present, plain and gzip; the
 * same header with 2 GiB of zeros behind would be read (the bound is the data present). */
START_TEST(test_idx)
{
    cap_memory();
    uint8_t f[16 + 200];
    memset(f, 7, sizeof f);
    f[0] = 0; f[1] = 0; f[2] = 8; f[3] = 3;
    be32(f + 4, 10000000); be32(f + 8, 4096); be32(f + 12, 4096);
    const char *p = put("huge.idx", f, sizeof f);
    uint8_t *d = NULL;
    size_t n = 0;
    uint32_t dims[3];
    char err[512];
    beaa_status st = beaa_data_idx_read(p, 3, 0, 1, &d, &n, dims, err, sizeof err);
    ck_assert_msg(st == BEAA_ERR_DATA, "%s: %s", beaa_strerror(st), err);
    ck_assert_ptr_null(d);
    ck_assert_ptr_nonnull(strstr(err, "shorter than its header"));
    char gp[400];
    snprintf(gp, sizeof gp, "%s/huge.idx.gz", g_dir);
    gzFile g = gzopen(gp, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, f, sizeof f), (int)sizeof f);
    ck_assert_int_eq(gzclose(g), Z_OK);
    st = beaa_data_idx_read(gp, 3, 0, 1, &d, &n, dims, err, sizeof err);
    ck_assert_msg(st == BEAA_ERR_DATA, "%s: %s", beaa_strerror(st), err);
    /* labels: 10^7 announced, 3 present */
    uint8_t l[11] = {0, 0, 8, 1, 0, 0, 0, 0, 1, 2, 3};
    be32(l + 4, 10000000);
    st = beaa_data_idx_read(put("huge-labels.idx", l, sizeof l), 1, 0, 1, &d, &n, dims, err, sizeof err);
    ck_assert_msg(st == BEAA_ERR_DATA, "%s: %s", beaa_strerror(st), err);
    /* the training loader on the same files */
    beaa_dataset ds;
    st = beaa_data_idx_load(p, gp, &ds, err, sizeof err);
    ck_assert_int_eq(st, BEAA_ERR_DATA);
}
END_TEST

/* PGM/PPM: "P6 8192 8192 255" (192 MiB of pixels announced) with 10 bytes behind */
START_TEST(test_pnm)
{
    cap_memory();
    char dir[400], sub[420];
    snprintf(dir, sizeof dir, "%s/pnm", g_dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    for (int k = 0; k < 2; k++) {
        snprintf(sub, sizeof sub, "%s/%c", dir, 'a' + k);
        ck_assert_int_eq(mkdir(sub, 0700), 0);
    }
    const char hdr[] = "P6\n8192 8192\n255\n0123456789";
    put("pnm/a/x.ppm", hdr, sizeof hdr - 1);
    put("pnm/b/y.ppm", hdr, sizeof hdr - 1);
    beaa_dataset ds;
    char err[512];
    beaa_status st = beaa_data_folder_load(dir, 3, 32, 32, &ds, err, sizeof err);
    ck_assert_msg(st == BEAA_ERR_DATA, "%s: %s", beaa_strerror(st), err);
    ck_assert_ptr_nonnull(strstr(err, "shorter than its header"));
}
END_TEST

/* model: a conv announcing 4096 x 4096 x 15 x 15 weights (3.8e9 floats) in a 200-byte file, and a
 * payload length of 2^40 */
START_TEST(test_model)
{
    cap_memory();
    uint8_t b[24 + 200];
    memset(b, 0, sizeof b);
    memcpy(b, "BEAAMDL", 8);
    le32(b + 8, 1);
    le64(b + 16, 200 - 4);
    uint8_t *p = b + 24 + 64;
    le32(p, 1); le32(p + 4, 8); le32(p + 8, 8); le32(p + 12, 10);   /* in 1x8x8, 10 classes */
    memcpy(p + 16, "\0\0\0\0\0\0\x80\x3f", 8);                        /* mean 0, std 1 */
    le32(p + 24, 1);                                                  /* 1 module */
    le32(p + 28, BEAA_MODULE_CONV);
    le32(p + 32, 4096); le32(p + 36, 4096); le32(p + 40, 15); le32(p + 44, 15);
    le32(p + 48, 1); le32(p + 52, 7);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(sizeof b - 4));
    le32(b + sizeof b - 4, crc);
    beaa_model *m = NULL;
    beaa_status st = beaa_model_load_mem(b, sizeof b, &m);
    ck_assert_msg(st == BEAA_ERR_MODEL || st == BEAA_ERR_TRUNCATED, "%s", beaa_strerror(st));
    ck_assert_ptr_null(m);
    /* a plausible conv (64 x 64 x 3 x 3 = 36,864 floats) that the file does not hold */
    le32(p + 32, 64); le32(p + 36, 64); le32(p + 40, 3); le32(p + 44, 3);
    crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(sizeof b - 4));
    le32(b + sizeof b - 4, crc);
    ck_assert_int_eq(beaa_model_load_mem(b, sizeof b, &m), BEAA_ERR_TRUNCATED);
    le64(b + 16, (uint64_t)1 << 40);
    ck_assert_int_ne(beaa_model_load_mem(b, sizeof b, &m), BEAA_OK);
    ck_assert_int_eq(beaa_model_load(put("m.model", b, sizeof b), &m), BEAA_ERR_MODEL);
}
END_TEST

/* CKKS: a Galois-key file announcing N keys with 40 payload bytes; a stream announcing 2^60
 * objects, 1 MiB + 1 of metadata, an object of 2^40 bytes; a 20 MiB "secret key" file */
START_TEST(test_ckks)
{
    beaa_ckks_params_spec sp;
    const unsigned bits[1] = {30};
    beaa_ckks_context *ctx;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 10, bits, 1, 1, 30), BEAA_OK);
    sp.allow_insecure = 1;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &ctx), BEAA_OK);
    cap_memory();
    const uint8_t *fp = beaa_ckks_context_fingerprint(ctx);
    beaa_serial_writer w;
    size_t mark;
    beaa_serial_writer_init(&w, 0);
    ck_assert_int_eq(beaa_serial_envelope_begin(&w, BEAA_OBJ_GALOIS_KEYS, 1, fp, &mark), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u64(&w, 1024), BEAA_OK);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(beaa_serial_write_u64(&w, 2 * (uint64_t)i + 1), BEAA_OK);
    ck_assert_int_eq(beaa_serial_envelope_end(&w, mark), BEAA_OK);
    beaa_ckks_galois_keys *gk = NULL;
    ck_assert_int_eq(beaa_ckks_galois_keys_deserialize(ctx, w.buf, w.len, &gk), BEAA_ERR_TRUNCATED);
    ck_assert_ptr_null(gk);

    /* stream header: count 2^60 */
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_serial_envelope_begin(&w, BEAA_OBJ_STREAM, 0, fp, &mark), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u32(&w, BEAA_OBJ_CIPHERTEXT), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u32(&w, 0), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u64(&w, (uint64_t)1 << 60), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u64(&w, 0), BEAA_OK);
    ck_assert_int_eq(beaa_serial_envelope_end(&w, mark), BEAA_OK);
    beaa_stream_reader *r = NULL;
    const char *p = put("count.stream", w.buf, w.len);
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_CIPHERTEXT, fp, 0, &r), BEAA_ERR_TRUNCATED);
    ck_assert_ptr_null(r);
    /* stream header: count 1 and an object header claiming 2^40 payload bytes */
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_serial_envelope_begin(&w, BEAA_OBJ_STREAM, 0, fp, &mark), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u32(&w, BEAA_OBJ_CIPHERTEXT), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u32(&w, 0), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u64(&w, 1), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u64(&w, 0), BEAA_OK);
    ck_assert_int_eq(beaa_serial_envelope_end(&w, mark), BEAA_OK);
    ck_assert_int_eq(beaa_serial_envelope_begin(&w, BEAA_OBJ_CIPHERTEXT, 0, fp, &mark), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u64(&w, 0), BEAA_OK);
    ck_assert_int_eq(beaa_serial_envelope_end(&w, mark), BEAA_OK);
    size_t obj_at = w.len - (BEAA_SERIAL_OVERHEAD + 8);
    le64(w.buf + obj_at + 48, (uint64_t)1 << 40);
    p = put("big-object.stream", w.buf, w.len);
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_CIPHERTEXT, fp,
                                             beaa_ckks_ciphertext_max_bytes(ctx), &r), BEAA_OK);
    const uint8_t *obj;
    size_t len;
    ck_assert_int_eq(beaa_stream_reader_next(r, &obj, &len), BEAA_ERR_MEMORY_LIMIT);
    beaa_stream_reader_close(r);
    /* without an object bound the reader still allocates nothing the file cannot fill */
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_CIPHERTEXT, fp, 0, &r), BEAA_OK);
    ck_assert_int_eq(beaa_stream_reader_next(r, &obj, &len), BEAA_ERR_TRUNCATED);
    beaa_stream_reader_close(r);

    /* a 20 MiB file offered as a secret key (valid size: 336 bytes) is refused before reading */
    FILE *f;
    char big[400];
    snprintf(big, sizeof big, "%s/big.key", g_dir);
    f = fopen(big, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 20L << 20, SEEK_SET), 0);
    ck_assert_int_eq(fputc(0, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    beaa_ckks_secret_key *sk = NULL;
    ck_assert_int_eq(beaa_ckks_secret_key_load(ctx, big, &sk), BEAA_ERR_MEMORY_LIMIT);
    beaa_ckks_ciphertext *ct = NULL;
    ck_assert_int_eq(beaa_ckks_ciphertext_load(ctx, big, &ct), BEAA_ERR_MEMORY_LIMIT);
    beaa_serial_writer_free(&w);
    beaa_ckks_context_free(ctx);
}
END_TEST

/* CIFAR-10: a batch must be whole 3073-byte records; its allocation is the file's size */
START_TEST(test_cifar)
{
    cap_memory();
    static uint8_t rec[3073 * 2 + 5];
    memset(rec, 1, sizeof rec);
    put("test_batch.bin", rec, sizeof rec);
    beaa_dataset ds;
    char err[512];
    ck_assert_int_eq(beaa_data_cifar10_load(g_dir, 0, &ds, err, sizeof err), BEAA_ERR_DATA);
    put("test_batch.bin", rec, 3073 * 2);
    ck_assert_int_eq(beaa_data_cifar10_load(g_dir, 0, &ds, err, sizeof err), BEAA_OK);
    ck_assert_uint_eq(ds.n, 2);
    beaa_dataset_free(&ds);
}
END_TEST

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/beaa-limits-XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("readers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_idx);
    tcase_add_test(tc, test_pnm);
    tcase_add_test(tc, test_model);
    tcase_add_test(tc, test_ckks);
    tcase_add_test(tc, test_cifar);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s, 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) rc = 1;
    return rc;
}
