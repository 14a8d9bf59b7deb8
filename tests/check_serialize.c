/* check_serialize.c - tests of lib/serial (writer, reader, envelope), lib/fileio (bounded read,
 * atomic no-clobber write), lib/stream (many-object files) and ckks/serialize (round trips of
 * every CKKS object; every byte flip and every truncation of small objects is rejected). */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "ckks/kernels/kernels.h"
#include "ckks/kernels/ref/ref.h"
#include "lib/mem.h"
#include "lib/rng.h"
#include "lib/serial.h"
#include "lib/stream.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "tests/test_util.h"
#include "tests/tool_util.h"

static int light(void) { return getenv("BEAA_TEST_LIGHT") != NULL; }

/* ---------------------------------------------------------------- helpers */

static char g_dir[256];

static void make_tmpdir(void)
{
    tu_mkdtemp(g_dir, sizeof g_dir, "beaa_serial");
}

static void path_in_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

/* Number of entries in the test directory whose name contains ".tmp." (leftover temp files). */
static int count_temp_files(void)
{
    DIR *d = opendir(g_dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(g_dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(g_dir);
}

/* Plain (non-atomic, no fsync) write for corrupted test files. */
static void write_plain(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    if (n) ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* ---------------------------------------------------------------- writer / reader */

START_TEST(test_writer_reader_roundtrip)
{
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    uint64_t arr[5] = {0, 1, 0x0123456789abcdefULL, UINT64_MAX, 42};
    ck_assert_int_eq(beaa_serial_write_u8(&w, 0xAB), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u32(&w, 0x01020304u), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u64(&w, 0x1122334455667788ULL), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_f64(&w, -0.0), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_f64(&w, 1.5), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_f64(&w, INFINITY), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_bytes(&w, "xyz", 3), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_bytes(&w, NULL, 0), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_u64_array(&w, arr, 5), BEAA_OK);
    ck_assert_uint_eq(w.len, 1 + 4 + 8 + 24 + 3 + 40);

    /* Little-endian layout, byte by byte (independent of the host). */
    static const uint8_t head[13] = {0xAB, 4, 3, 2, 1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    ck_assert(memcmp(w.buf, head, sizeof head) == 0);
    /* -0.0 is 0x8000000000000000, 1.5 is 0x3FF8000000000000. */
    ck_assert_uint_eq(w.buf[13 + 7], 0x80);
    ck_assert_uint_eq(w.buf[21 + 7], 0x3F);
    ck_assert_uint_eq(w.buf[21 + 6], 0xF8);

    beaa_serial_reader r;
    beaa_serial_reader_init(&r, w.buf, w.len);
    uint8_t u8;
    uint32_t u32;
    uint64_t u64, back[5];
    double f;
    char s3[3];
    ck_assert_int_eq(beaa_serial_read_u8(&r, &u8), BEAA_OK);
    ck_assert_uint_eq(u8, 0xAB);
    ck_assert_int_eq(beaa_serial_read_u32(&r, &u32), BEAA_OK);
    ck_assert_uint_eq(u32, 0x01020304u);
    ck_assert_int_eq(beaa_serial_read_u64(&r, &u64), BEAA_OK);
    ck_assert_uint_eq(u64, 0x1122334455667788ULL);
    ck_assert_int_eq(beaa_serial_read_f64(&r, &f), BEAA_OK);
    ck_assert(f == 0.0 && signbit(f));
    ck_assert_int_eq(beaa_serial_read_f64(&r, &f), BEAA_OK);
    ck_assert(f == 1.5);
    ck_assert_int_eq(beaa_serial_read_f64(&r, &f), BEAA_OK);
    ck_assert(isinf(f) && f > 0);
    ck_assert_int_eq(beaa_serial_read_bytes(&r, s3, 3), BEAA_OK);
    ck_assert(memcmp(s3, "xyz", 3) == 0);
    ck_assert_int_eq(beaa_serial_read_u64_array(&r, back, 5), BEAA_OK);
    ck_assert(memcmp(back, arr, sizeof arr) == 0);
    ck_assert_uint_eq(r.left, 0);
    /* Reading past the end fails and consumes nothing. */
    ck_assert_int_eq(beaa_serial_read_u8(&r, &u8), BEAA_ERR_TRUNCATED);
    beaa_serial_writer_free(&w);
    ck_assert_ptr_null(w.buf);
}
END_TEST

START_TEST(test_reader_bounds)
{
    uint8_t data[7] = {1, 2, 3, 4, 5, 6, 7};
    beaa_serial_reader r;
    uint64_t v = 99, arr[2];
    uint32_t u;
    beaa_serial_reader_init(&r, data, sizeof data);
    ck_assert_int_eq(beaa_serial_read_u64(&r, &v), BEAA_ERR_TRUNCATED);
    ck_assert_uint_eq(v, 99);
    ck_assert_uint_eq(r.left, 7);
    ck_assert_int_eq(beaa_serial_read_u64_array(&r, arr, 1), BEAA_ERR_TRUNCATED);
    /* A huge count must not overflow n * 8 into a small number. */
    ck_assert_int_eq(beaa_serial_read_u64_array(&r, arr, SIZE_MAX / 4), BEAA_ERR_TRUNCATED);
    ck_assert_int_eq(beaa_serial_read_skip(&r, 8), BEAA_ERR_TRUNCATED);
    ck_assert_int_eq(beaa_serial_read_u32(&r, &u), BEAA_OK);
    ck_assert_uint_eq(u, 0x04030201u);
    ck_assert_int_eq(beaa_serial_read_u32(&r, &u), BEAA_ERR_TRUNCATED);
    ck_assert_int_eq(beaa_serial_read_skip(&r, 3), BEAA_OK);
    ck_assert_uint_eq(r.left, 0);
    beaa_serial_reader_init(&r, NULL, 100); /* NULL data reads as empty */
    ck_assert_int_eq(beaa_serial_read_u32(&r, &u), BEAA_ERR_TRUNCATED);
}
END_TEST

START_TEST(test_writer_limit_and_growth)
{
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 100);
    uint8_t blob[100] = {0};
    ck_assert_int_eq(beaa_serial_write_bytes(&w, blob, 60), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_bytes(&w, blob, 41), BEAA_ERR_MEMORY_LIMIT);
    /* Sticky: even a small write now fails, and nothing was appended. */
    ck_assert_int_eq(beaa_serial_write_u8(&w, 1), BEAA_ERR_MEMORY_LIMIT);
    ck_assert_uint_eq(w.len, 60);
    size_t n = 0;
    ck_assert_ptr_null(beaa_serial_writer_take(&w, &n));
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_serial_write_bytes(&w, blob, 100), BEAA_OK);
    beaa_serial_writer_free(&w);

    /* Many small writes through several growths keep the content. */
    beaa_serial_writer_init(&w, 0);
    for (uint32_t i = 0; i < 100000; i++) ck_assert_int_eq(beaa_serial_write_u32(&w, i), BEAA_OK);
    uint8_t *buf = beaa_serial_writer_take(&w, &n);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(n, 400000);
    ck_assert_ptr_null(w.buf);
    beaa_serial_reader r;
    beaa_serial_reader_init(&r, buf, n);
    for (uint32_t i = 0; i < 100000; i++) {
        uint32_t v;
        ck_assert_int_eq(beaa_serial_read_u32(&r, &v), BEAA_OK);
        ck_assert_uint_eq(v, i);
    }
    beaa_free_secret(buf, n);
}
END_TEST

/* ---------------------------------------------------------------- envelope */

static const uint8_t *fp_0_31(void)
{
    static uint8_t fp[32];
    for (int i = 0; i < 32; i++) fp[i] = (uint8_t)i;
    return fp;
}

static uint8_t *make_envelope(uint32_t type, const void *payload, size_t n, size_t *len)
{
    beaa_serial_writer w;
    size_t mark = 0;
    beaa_serial_writer_init(&w, 0);
    ck_assert_int_eq(beaa_serial_envelope_begin(&w, type, 0, fp_0_31(), &mark), BEAA_OK);
    ck_assert_uint_eq(mark, 0);
    ck_assert_int_eq(beaa_serial_write_bytes(&w, payload, n), BEAA_OK);
    ck_assert_int_eq(beaa_serial_envelope_end(&w, mark), BEAA_OK);
    uint8_t *b = beaa_serial_writer_take(&w, len);
    ck_assert_ptr_nonnull(b);
    return b;
}

/* Known-answer envelope computed independently with python3 (struct + hashlib.shake_256):
 * freezes the format. */
START_TEST(test_envelope_known_answer)
{
    static const char *hex =
        "42454141010000000700000000000000000102030405060708090a0b0c0d0e0f101112131415161718191a"
        "1b1c1d1e1f050000000000000068656c6c6f7d799213b6c2cba38e53ec4ff872ac8a";
    uint8_t want[77];
    hex_to_bytes(hex, want, sizeof want);
    size_t len;
    uint8_t *env = make_envelope(BEAA_OBJ_CIPHERTEXT, "hello", 5, &len);
    ck_assert_uint_eq(len, 77);
    ck_assert(memcmp(env, want, 77) == 0);

    beaa_serial_reader pr;
    beaa_serial_info info;
    size_t used = 0;
    ck_assert_int_eq(beaa_serial_envelope_open(want, 77, BEAA_OBJ_CIPHERTEXT, fp_0_31(), &pr, &info,
                                               &used), BEAA_OK);
    ck_assert_uint_eq(used, 77);
    ck_assert_uint_eq(info.type, BEAA_OBJ_CIPHERTEXT);
    ck_assert_uint_eq(info.version, 1);
    ck_assert_uint_eq(info.payload_len, 5);
    ck_assert_uint_eq(pr.left, 5);
    ck_assert(memcmp(pr.p, "hello", 5) == 0);
    /* Trailing bytes after an envelope are not part of it. */
    uint8_t more[80];
    memcpy(more, want, 77);
    memset(more + 77, 0xEE, 3);
    ck_assert_int_eq(beaa_serial_envelope_open(more, 80, BEAA_OBJ_NONE, NULL, &pr, NULL, &used),
                     BEAA_OK);
    ck_assert_uint_eq(used, 77);
    /* Wrong expectations. */
    ck_assert_int_eq(beaa_serial_envelope_open(want, 77, BEAA_OBJ_PLAINTEXT, NULL, &pr, NULL, NULL),
                     BEAA_ERR_FORMAT);
    uint8_t fp2[32];
    memcpy(fp2, fp_0_31(), 32);
    fp2[5] ^= 1;
    ck_assert_int_eq(beaa_serial_envelope_open(want, 77, BEAA_OBJ_CIPHERTEXT, fp2, &pr, NULL, NULL),
                     BEAA_ERR_PARAMS_MISMATCH);
    beaa_free(env);
}
END_TEST

/* Large bodies use the two-level tree checksum; references computed with python3 hashlib
 * (leaves of 256 KiB, see serial.c). Also the boundary: a body of exactly one leaf is plain.
 * Bodies of 8 leaves or more hash their full leaves 8 at a time where an 8-message SHAKE256 is
 * set (beaa_serial_set_hash8): the same sums with none, with the portable one and with the
 * kernel table's (AVX-512 on such a CPU); 9 leaves and a part, exactly 17, 11 and a part (a
 * last group of 3), 2 and a part (one group of 2). */
START_TEST(test_envelope_tree_checksum)
{
    static const struct { size_t payload; const char *sum; } v[] = {
        {600000, "0f4f488e36986b93e3b4552e74323a3d"},
        {262144 - 56, "1d42d5f271096dac8f3487bde22384c6"},
        {9 * 262144 + 1000, "6a163af47473a7a4c685faae172e2b46"},
        {17 * 262144 - 56, "3e47bedd9415627dcefcbde882f970c5"},
        {11 * 262144 + 5, "ff4d25f6a8a25ffac369c6ebc505d274"},
    };
    const beaa_kernels *kt = beaa_kernels_get();
    const beaa_serial_hash8_fn modes[3] = {NULL, beaa_shake256_x8_ref, kt->shake256_x8};
    for (size_t k = 0; k < 5 * 3; k++) {
        beaa_serial_set_hash8(modes[k % 3]);
        size_t n = v[k / 3].payload, len;
        uint8_t *pl = malloc(n);
        ck_assert_ptr_nonnull(pl);
        for (size_t i = 0; i < n; i++) pl[i] = (uint8_t)((i * 7 + 3) % 256);
        uint8_t *env = make_envelope(BEAA_OBJ_USER, pl, n, &len);
        ck_assert_uint_eq(len, n + BEAA_SERIAL_OVERHEAD);
        uint8_t want[16];
        hex_to_bytes(v[k / 3].sum, want, 16);
        ck_assert(memcmp(env + len - 16, want, 16) == 0);
        beaa_serial_reader pr;
        ck_assert_int_eq(beaa_serial_envelope_open(env, len, BEAA_OBJ_USER, NULL, &pr, NULL, NULL),
                         BEAA_OK);
        /* a change in the last leaf and in the first are both caught */
        env[len - 100] ^= 4;
        ck_assert_int_eq(beaa_serial_envelope_open(env, len, BEAA_OBJ_USER, NULL, &pr, NULL, NULL),
                         BEAA_ERR_CHECKSUM);
        env[len - 100] ^= 4;
        env[60] ^= 4;
        ck_assert_int_eq(beaa_serial_envelope_open(env, len, BEAA_OBJ_USER, NULL, &pr, NULL, NULL),
                         BEAA_ERR_CHECKSUM);
        beaa_free(env);
        free(pl);
    }
    /* as the kernel dispatch sets it */
    beaa_serial_set_hash8(kt->shake256_x8 == beaa_shake256_x8_ref ? NULL : kt->shake256_x8);
}
END_TEST

/* Every single-bit flip in every byte and every truncation of an envelope is rejected, with the
 * status the field implies. */
START_TEST(test_envelope_flips_and_truncations)
{
    uint8_t payload[100];
    for (int i = 0; i < 100; i++) payload[i] = (uint8_t)(7 * i);
    size_t len;
    uint8_t *env = make_envelope(BEAA_OBJ_PLAINTEXT, payload, sizeof payload, &len);
    ck_assert_uint_eq(len, 100 + BEAA_SERIAL_OVERHEAD);
    uint8_t *copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    beaa_serial_reader pr;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, env, len);
            copy[i] ^= (uint8_t)(1u << bit);
            beaa_status s = beaa_serial_envelope_open(copy, len, BEAA_OBJ_PLAINTEXT, fp_0_31(), &pr,
                                                      NULL, NULL);
            if (i < 4 || (i >= 4 && i < 8))
                ck_assert_int_eq(s, BEAA_ERR_FORMAT);             /* magic, version */
            else if (i >= 48 && i < 56)
                ck_assert(s == BEAA_ERR_TRUNCATED || s == BEAA_ERR_CHECKSUM); /* length */
            else
                ck_assert_int_eq(s, BEAA_ERR_CHECKSUM);           /* type, flags, fp, data, sum */
        }
    }
    for (size_t cut = 0; cut < len; cut++) {
        beaa_status s = beaa_serial_envelope_open(env, cut, BEAA_OBJ_PLAINTEXT, fp_0_31(), &pr,
                                                  NULL, NULL);
        ck_assert_int_eq(s, BEAA_ERR_TRUNCATED);
    }
    ck_assert_int_eq(beaa_serial_envelope_open("XY", 2, BEAA_OBJ_NONE, NULL, &pr, NULL, NULL),
                     BEAA_ERR_FORMAT);
    free(copy);
    beaa_free(env);
}
END_TEST

/* ---------------------------------------------------------------- files */

START_TEST(test_file_atomic_write_and_read)
{
    make_tmpdir();
    char p[512];
    path_in_dir(p, sizeof p, "obj.bin");
    uint8_t data[3000];
    for (int i = 0; i < 3000; i++) data[i] = (uint8_t)(i * 13);

    ck_assert_int_eq(beaa_file_write_atomic(p, data, sizeof data, 0), BEAA_OK);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    uint8_t *back = NULL;
    size_t n = 0;
    ck_assert_int_eq(beaa_file_read_all(p, 0, &back, &n), BEAA_OK);
    ck_assert_uint_eq(n, sizeof data);
    ck_assert(memcmp(back, data, n) == 0);
    beaa_free(back);

    /* Bound: exactly the size is fine, one less is refused. */
    ck_assert_int_eq(beaa_file_read_all(p, 3000, &back, &n), BEAA_OK);
    beaa_free(back);
    ck_assert_int_eq(beaa_file_read_all(p, 2999, &back, &n), BEAA_ERR_MEMORY_LIMIT);
    ck_assert_ptr_null(back);

    /* No clobbering: the old content stays. */
    uint8_t other[10] = {9};
    ck_assert_int_eq(beaa_file_write_atomic(p, other, sizeof other, 0), BEAA_ERR_EXISTS);
    ck_assert_int_eq(beaa_file_read_all(p, 0, &back, &n), BEAA_OK);
    ck_assert_uint_eq(n, sizeof data);
    beaa_free(back);
    /* Explicit overwrite replaces. */
    ck_assert_int_eq(beaa_file_write_atomic(p, other, sizeof other, 1), BEAA_OK);
    ck_assert_int_eq(beaa_file_read_all(p, 0, &back, &n), BEAA_OK);
    ck_assert_uint_eq(n, sizeof other);
    ck_assert(memcmp(back, other, n) == 0);
    beaa_free(back);

    /* The low-level path (temp + commit) refuses at link time when the name appeared meanwhile. */
    char tmp[600];
    int fd = -1;
    ck_assert_int_eq(beaa_file_temp_create(p, tmp, sizeof tmp, &fd), BEAA_OK);
    ck_assert_int_eq(beaa_file_write_fd(fd, data, 10), BEAA_OK);
    ck_assert_int_eq(beaa_file_temp_commit(fd, tmp, p, 0), BEAA_ERR_EXISTS);
    ck_assert_int_eq(beaa_file_read_all(p, 0, &back, &n), BEAA_OK);
    ck_assert_uint_eq(n, sizeof other);
    beaa_free(back);

    /* Empty files, missing files, directories. */
    char e[512];
    path_in_dir(e, sizeof e, "empty.bin");
    ck_assert_int_eq(beaa_file_write_atomic(e, NULL, 0, 0), BEAA_OK);
    ck_assert_int_eq(beaa_file_read_all(e, 0, &back, &n), BEAA_OK);
    ck_assert_ptr_null(back);
    ck_assert_uint_eq(n, 0);
    path_in_dir(e, sizeof e, "missing.bin");
    ck_assert_int_eq(beaa_file_read_all(e, 0, &back, &n), BEAA_ERR_NOT_FOUND);
    ck_assert_int_eq(beaa_file_read_all(g_dir, 0, &back, &n), BEAA_ERR_IO);
    path_in_dir(e, sizeof e, "no/such/dir/x.bin");
    ck_assert_int_eq(beaa_file_write_atomic(e, data, 10, 0), BEAA_ERR_IO);
    ck_assert_int_eq(beaa_file_write_atomic(NULL, data, 10, 0), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_file_read_all(p, 0, NULL, &n), BEAA_ERR_ARG);

    ck_assert_int_eq(count_temp_files(), 0);
    remove_tmpdir();
}
END_TEST

/* ---------------------------------------------------------------- streams */

/* Object i of a test stream: envelope of type USER with payload of (i * 37) % 500 bytes. */
static uint8_t *stream_obj(unsigned i, size_t *len)
{
    size_t n = (i * 37u) % 500u;
    uint8_t *pl = malloc(n + 1);
    ck_assert_ptr_nonnull(pl);
    for (size_t k = 0; k < n; k++) pl[k] = (uint8_t)(i + k);
    uint8_t *env = make_envelope(BEAA_OBJ_USER, pl, n, len);
    free(pl);
    return env;
}

static void write_test_stream(const char *p, unsigned count)
{
    beaa_stream_writer *w = NULL;
    const char meta[] = "shape 16x28x28";
    ck_assert_int_eq(beaa_stream_writer_open(p, 0, BEAA_OBJ_USER, fp_0_31(), meta, sizeof meta, &w),
                     BEAA_OK);
    for (unsigned i = 0; i < count; i++) {
        size_t len;
        uint8_t *o = stream_obj(i, &len);
        ck_assert_int_eq(beaa_stream_writer_append(w, o, len), BEAA_OK);
        beaa_free(o);
    }
    ck_assert_uint_eq(beaa_stream_writer_count(w), count);
    ck_assert_int_eq(beaa_stream_writer_close(w), BEAA_OK);
}

START_TEST(test_stream_roundtrip)
{
    make_tmpdir();
    char p[512];
    path_in_dir(p, sizeof p, "cts.beaa");
    unsigned count = 100;
    write_test_stream(p, count);
    ck_assert_int_eq(count_temp_files(), 0);

    beaa_stream_reader *r = NULL;
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_USER, fp_0_31(), 1 << 20, &r), BEAA_OK);
    ck_assert_uint_eq(beaa_stream_reader_count(r), count);
    ck_assert_uint_eq(beaa_stream_reader_elem_type(r), BEAA_OBJ_USER);
    ck_assert(memcmp(beaa_stream_reader_fingerprint(r), fp_0_31(), 32) == 0);
    size_t ml;
    const uint8_t *meta = beaa_stream_reader_meta(r, &ml);
    ck_assert_uint_eq(ml, sizeof "shape 16x28x28");
    ck_assert_str_eq((const char *)meta, "shape 16x28x28");
    for (unsigned i = 0; i < count; i++) {
        ck_assert_uint_eq(beaa_stream_reader_index(r), i);
        if (i % 7 == 3) {
            ck_assert_int_eq(beaa_stream_reader_skip(r), BEAA_OK);
            continue;
        }
        const uint8_t *o;
        size_t len, wlen;
        ck_assert_int_eq(beaa_stream_reader_next(r, &o, &len), BEAA_OK);
        uint8_t *want = stream_obj(i, &wlen);
        ck_assert_uint_eq(len, wlen);
        ck_assert(memcmp(o, want, len) == 0);
        beaa_serial_reader pr;
        ck_assert_int_eq(beaa_serial_envelope_open(o, len, BEAA_OBJ_USER, fp_0_31(), &pr, NULL, NULL),
                         BEAA_OK);
        beaa_free(want);
    }
    const uint8_t *o;
    size_t len;
    ck_assert_int_eq(beaa_stream_reader_next(r, &o, &len), BEAA_ERR_ARG);
    /* random access: back to known offsets, to the end, past the end */
    static const unsigned order[] = {37, 5, 99, 0, 70, 37};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        size_t wlen;
        ck_assert_int_eq(beaa_stream_reader_seek(r, order[k]), BEAA_OK);
        ck_assert_uint_eq(beaa_stream_reader_index(r), order[k]);
        ck_assert_int_eq(beaa_stream_reader_next(r, &o, &len), BEAA_OK);
        uint8_t *want = stream_obj(order[k], &wlen);
        ck_assert_uint_eq(len, wlen);
        ck_assert(memcmp(o, want, len) == 0);
        beaa_free(want);
    }
    ck_assert_int_eq(beaa_stream_reader_seek(r, count), BEAA_OK);
    ck_assert_int_eq(beaa_stream_reader_next(r, &o, &len), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_stream_reader_seek(r, count + 1), BEAA_ERR_ARG);
    beaa_stream_reader_close(r);
    /* a fresh reader seeking forward walks the headers */
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_USER, fp_0_31(), 0, &r), BEAA_OK);
    ck_assert_int_eq(beaa_stream_reader_seek(r, 50), BEAA_OK);
    ck_assert_int_eq(beaa_stream_reader_next(r, &o, &len), BEAA_OK);
    {
        size_t wlen;
        uint8_t *want = stream_obj(50, &wlen);
        ck_assert_uint_eq(len, wlen);
        ck_assert(memcmp(o, want, len) == 0);
        beaa_free(want);
    }
    ck_assert_int_eq(beaa_stream_reader_seek(r, 3), BEAA_OK);
    ck_assert_int_eq(beaa_stream_reader_next(r, &o, &len), BEAA_OK);
    ck_assert_uint_eq(len, (3 * 37) % 500 + BEAA_SERIAL_OVERHEAD);
    beaa_stream_reader_close(r);

    /* Expectations: wrong type, wrong fingerprint, object bound. */
    uint8_t fp2[32] = {0};
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_CIPHERTEXT, NULL, 0, &r), BEAA_ERR_FORMAT);
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_USER, fp2, 0, &r), BEAA_ERR_PARAMS_MISMATCH);
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_NONE, NULL, 150, &r), BEAA_OK);
    ck_assert_int_eq(beaa_stream_reader_next(r, &o, &len), BEAA_OK); /* object 0: 72 bytes */
    ck_assert_int_eq(beaa_stream_reader_next(r, &o, &len), BEAA_OK); /* 37 + 72 */
    ck_assert_int_eq(beaa_stream_reader_next(r, &o, &len), BEAA_OK); /* 74 + 72 */
    ck_assert_int_eq(beaa_stream_reader_next(r, &o, &len), BEAA_ERR_MEMORY_LIMIT); /* 111 + 72 */
    beaa_stream_reader_close(r);

    /* No clobbering; abort leaves nothing; overwrite works; wrong objects are refused. */
    beaa_stream_writer *w = NULL;
    ck_assert_int_eq(beaa_stream_writer_open(p, 0, BEAA_OBJ_USER, NULL, NULL, 0, &w), BEAA_ERR_EXISTS);
    char q[512];
    path_in_dir(q, sizeof q, "aborted.beaa");
    ck_assert_int_eq(beaa_stream_writer_open(q, 0, BEAA_OBJ_USER, fp_0_31(), NULL, 0, &w), BEAA_OK);
    uint8_t *ob = stream_obj(3, &len);
    ck_assert_int_eq(beaa_stream_writer_append(w, ob, len - 1), BEAA_ERR_ARG);
    ob[8] ^= 1; /* type */
    ck_assert_int_eq(beaa_stream_writer_append(w, ob, len), BEAA_ERR_ARG);
    ob[8] ^= 1;
    ck_assert_int_eq(beaa_stream_writer_append(w, ob, len), BEAA_OK);
    beaa_stream_writer_abort(w);
    struct stat st;
    ck_assert_int_ne(stat(q, &st), 0);
    ck_assert_int_eq(beaa_stream_writer_open(p, 1, BEAA_OBJ_USER, fp_0_31(), NULL, 0, &w), BEAA_OK);
    ck_assert_int_eq(beaa_stream_writer_append(w, ob, len), BEAA_OK);
    ck_assert_int_eq(beaa_stream_writer_close(w), BEAA_OK);
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_USER, fp_0_31(), 0, &r), BEAA_OK);
    ck_assert_uint_eq(beaa_stream_reader_count(r), 1);
    ck_assert_ptr_null(beaa_stream_reader_meta(r, &ml));
    beaa_stream_reader_close(r);
    beaa_free(ob);
    ck_assert_int_eq(count_temp_files(), 0);
    remove_tmpdir();
}
END_TEST

/* Reads a whole stream, verifying every object's checksum; returns the first failure. */
static beaa_status read_whole_stream(const char *p)
{
    beaa_stream_reader *r = NULL;
    beaa_status s = beaa_stream_reader_open(p, BEAA_OBJ_USER, fp_0_31(), 0, &r);
    if (s != BEAA_OK) return s;
    uint64_t n = beaa_stream_reader_count(r);
    for (uint64_t i = 0; i < n && s == BEAA_OK; i++) {
        const uint8_t *o;
        size_t len;
        beaa_serial_reader pr;
        s = beaa_stream_reader_next(r, &o, &len);
        if (s == BEAA_OK) s = beaa_serial_envelope_open(o, len, BEAA_OBJ_USER, fp_0_31(), &pr, NULL, NULL);
    }
    beaa_stream_reader_close(r);
    return s;
}

/* Every truncation length and a flip in every byte of a small stream file is detected. */
START_TEST(test_stream_corruption)
{
    make_tmpdir();
    char p[512], q[512];
    path_in_dir(p, sizeof p, "small.beaa");
    path_in_dir(q, sizeof q, "bad.beaa");
    write_test_stream(p, 4);
    ck_assert_int_eq(read_whole_stream(p), BEAA_OK);
    uint8_t *file = NULL;
    size_t n = 0;
    ck_assert_int_eq(beaa_file_read_all(p, 0, &file, &n), BEAA_OK);
    size_t step = light() ? 3 : 1;
    for (size_t cut = 0; cut < n; cut += step) {
        write_plain(q, file, cut);
        beaa_status s = read_whole_stream(q);
        ck_assert_msg(s != BEAA_OK, "truncation to %zu bytes accepted", cut);
    }
    uint8_t *bad = malloc(n);
    ck_assert_ptr_nonnull(bad);
    for (size_t i = 0; i < n; i += step) {
        memcpy(bad, file, n);
        bad[i] ^= 0x10;
        write_plain(q, bad, n);
        beaa_status s = read_whole_stream(q);
        ck_assert_msg(s != BEAA_OK, "flip at byte %zu accepted", i);
    }
    /* Extra bytes after the last object. */
    uint8_t *longer = malloc(n + 1);
    ck_assert_ptr_nonnull(longer);
    memcpy(longer, file, n);
    longer[n] = 0;
    write_plain(q, longer, n + 1);
    ck_assert_int_eq(read_whole_stream(q), BEAA_ERR_CORRUPT);
    free(longer);
    free(bad);
    beaa_free(file);
    remove_tmpdir();
}
END_TEST

/* ---------------------------------------------------------------- CKKS objects */

/* A tiny insecure ring (N = 2^10) with primes of different sizes (45, 30, 30 bits; two 45-bit
 * special primes, so dnum = 2) to exercise the per-prime bit packing. */
typedef struct fixture {
    beaa_ckks_context *ctx;
    beaa_ckks_secret_key *sk;
    beaa_ckks_public_key *pk;
    beaa_ckks_relin_key *rk;
    beaa_ckks_galois_keys *gk;
    size_t slots;
    double *x, *y;  /* plaintext references in [-1, 1] */
} fixture;

#define SCALE 1073741824.0 /* 2^30 */
#define TOL 1e-3           /* |decrypted - reference| bound at this scale and N (noise ~1e-6) */

static void make_context(beaa_ckks_context **ctx, unsigned first_bits)
{
    beaa_ckks_params_spec sp;
    unsigned bits[3] = {first_bits, 30, 30};
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 10, bits, 3, 2, 45), BEAA_OK);
    sp.allow_insecure = 1;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, ctx), BEAA_OK);
}

static void fixture_make(fixture *f, int with_keys)
{
    memset(f, 0, sizeof *f);
    make_context(&f->ctx, 45);
    f->slots = beaa_ckks_context_slots(f->ctx);
    f->x = malloc(f->slots * sizeof *f->x);
    f->y = malloc(f->slots * sizeof *f->y);
    ck_assert_ptr_nonnull(f->x);
    ck_assert_ptr_nonnull(f->y);
    for (size_t j = 0; j < f->slots; j++) {
        f->x[j] = sin(0.37 * (double)j);
        f->y[j] = cos(0.11 * (double)j + 0.5);
    }
    ck_assert_int_eq(beaa_ckks_secret_key_gen(f->ctx, &f->sk), BEAA_OK);
    if (!with_keys) return;
    ck_assert_int_eq(beaa_ckks_public_key_gen(f->sk, &f->pk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_gen(f->sk, &f->rk), BEAA_OK);
    int steps[3] = {1, -3, 5};
    ck_assert_int_eq(beaa_ckks_galois_keys_gen(f->sk, steps, 3, 1, &f->gk), BEAA_OK);
}

static void fixture_free(fixture *f)
{
    beaa_ckks_galois_keys_free(f->gk);
    beaa_ckks_relin_key_free(f->rk);
    beaa_ckks_public_key_free(f->pk);
    beaa_ckks_secret_key_free(f->sk);
    beaa_ckks_context_free(f->ctx);
    free(f->x);
    free(f->y);
}

/* Encrypts vals (all slots) at the top level, with pk if given, else with sk (seeded). */
static beaa_ckks_ciphertext *encrypt_vals(const fixture *f, const double *vals, int use_pk)
{
    unsigned L = beaa_ckks_context_max_level(f->ctx);
    beaa_ckks_plaintext *pt = NULL;
    beaa_ckks_ciphertext *ct = NULL;
    ck_assert_int_eq(beaa_ckks_plaintext_new(f->ctx, L, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(f->ctx, vals, f->slots, SCALE, L, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(f->ctx, 2, L, &ct), BEAA_OK);
    if (use_pk) ck_assert_int_eq(beaa_ckks_encrypt_pk(f->pk, pt, ct), BEAA_OK);
    else ck_assert_int_eq(beaa_ckks_encrypt_sk(f->sk, pt, ct), BEAA_OK);
    beaa_ckks_plaintext_free(pt);
    return ct;
}

/* Decrypts ct with sk and checks every slot against ref within tol. */
static void assert_decrypts_to(const beaa_ckks_secret_key *sk, const beaa_ckks_ciphertext *ct,
                               const double *ref, size_t n, double tol)
{
    beaa_ckks_plaintext *pt = NULL;
    ck_assert_int_eq(beaa_ckks_plaintext_new(sk->ctx, 0, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decrypt(sk, ct, pt), BEAA_OK);
    double *got = malloc(n * sizeof *got);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(beaa_ckks_decode_real(pt, got, n), BEAA_OK);
    double worst = 0;
    for (size_t j = 0; j < n; j++) worst = fmax(worst, fabs(got[j] - ref[j]));
    ck_assert_msg(worst < tol, "max error %g >= %g", worst, tol);
    free(got);
    beaa_ckks_plaintext_free(pt);
}

static size_t ct_words(const beaa_ckks_ciphertext *ct)
{
    return (size_t)ct->size * (ct->level + 1) * beaa_ckks_context_n(ct->ctx);
}

static void assert_ct_equal(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b)
{
    ck_assert_uint_eq(a->size, b->size);
    ck_assert_uint_eq(a->level, b->level);
    ck_assert_int_eq(a->ntt_form, b->ntt_form);
    ck_assert(a->scale == b->scale);
    ck_assert(memcmp(a->data, b->data, ct_words(a) * 8) == 0);
}

static size_t switch_key_bytes(const beaa_ckks_context *ctx)
{
    return beaa_ckks_switch_key_bytes(ctx);
}

/* Packed limbs against a bit-by-bit oracle, every prime size, lengths around the 8-value groups
 * of the fast loops and their end: the same bytes (nothing written past the limb), the values
 * back, a value >= q and set unused high bits refused. */
START_TEST(test_ckks_packed_limbs)
{
    const size_t ns[] = {1, 2, 7, 8, 9, 16, 17, 23, 24, 25, 33, 64, 65, 1000, 4096};
    for (unsigned bits = 20; bits <= 61; bits++)
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
            const size_t n = ns[ni], nb = beaa_ckks_serial_limb_bytes(n, bits);
            beaa_modulus m;
            memset(&m, 0, sizeof m);
            m.q = ((uint64_t)1 << bits) - 1 - test_rng_below(1000);
            m.bits = bits;
            uint64_t *v = malloc(8 * n), *o = malloc(8 * n);
            uint8_t *a = malloc(nb + 16), *b = calloc(nb + 16, 1);
            ck_assert(v && o && a && b);
            for (size_t i = 0; i < n; i++) v[i] = (ni + bits) % 3 ? test_rng_below(m.q) : m.q - 1;
            for (size_t i = 0; i < n; i++) /* the oracle: bit k of value i at bit i*bits + k */
                for (unsigned k = 0; k < bits; k++)
                    if ((v[i] >> k) & 1) b[(i * bits + k) / 8] |= (uint8_t)(1u << ((i * bits + k) % 8));
            memset(a, 0, nb + 16);
            beaa_ckks_serial_pack_limb(a, v, n, bits);
            ck_assert_msg(memcmp(a, b, nb + 16) == 0, "pack: %u bits, n %zu", bits, n);
            ck_assert_msg(beaa_ckks_serial_unpack_limb(a, o, n, &m) == 0 && memcmp(o, v, 8 * n) == 0,
                          "unpack: %u bits, n %zu", bits, n);
            size_t pos = (size_t)test_rng_below(n);
            uint64_t keep = v[pos];
            v[pos] = m.q + test_rng_below(((uint64_t)1 << bits) - m.q);
            beaa_ckks_serial_pack_limb(a, v, n, bits);
            ck_assert_msg(beaa_ckks_serial_unpack_limb(a, o, n, &m) == 1, "value >= q at %zu: %u bits, n %zu", pos, bits, n);
            v[pos] = keep;
            beaa_ckks_serial_pack_limb(a, v, n, bits);
            if ((n * bits) % 8) {
                a[nb - 1] |= 0x80;
                ck_assert_msg(beaa_ckks_serial_unpack_limb(a, o, n, &m) == 1, "high bits: %u bits, n %zu", bits, n);
            }
            free(v); free(o); free(a); free(b);
        }
}
END_TEST

START_TEST(test_ckks_params_roundtrip)
{
    fixture f;
    fixture_make(&f, 0);
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    ck_assert_int_eq(beaa_ckks_params_serialize(f.ctx, &w), BEAA_OK);
    beaa_ckks_context *c2 = NULL;
    /* The file never grants allow_insecure: the caller must. */
    ck_assert_int_eq(beaa_ckks_params_deserialize(w.buf, w.len, 0, &c2), BEAA_ERR_INSECURE);
    ck_assert_ptr_null(c2);
    ck_assert_int_eq(beaa_ckks_params_deserialize(w.buf, w.len, 1, &c2), BEAA_OK);
    ck_assert(memcmp(beaa_ckks_context_fingerprint(c2), beaa_ckks_context_fingerprint(f.ctx), 32) == 0);
    ck_assert_uint_eq(beaa_ckks_context_n(c2), 1024);
    for (unsigned k = 0; k < 5; k++)
        ck_assert_uint_eq(beaa_ckks_context_prime(c2, k)->q, beaa_ckks_context_prime(f.ctx, k)->q);
    /* Objects of the original context load into the rebuilt one (same fingerprint). */
    beaa_serial_writer ws;
    beaa_serial_writer_init(&ws, 0);
    ck_assert_int_eq(beaa_ckks_secret_key_serialize(f.sk, &ws), BEAA_OK);
    beaa_ckks_secret_key *sk2 = NULL;
    ck_assert_int_eq(beaa_ckks_secret_key_deserialize(c2, ws.buf, ws.len, &sk2), BEAA_OK);
    beaa_ckks_secret_key_free(sk2);
    beaa_serial_writer_free_secret(&ws);
    beaa_ckks_context_free(c2);
    beaa_serial_writer_free(&w);

    /* A secure set (N = 2^11, 25 + 25 bits <= 54) loads without the opt-out. */
    beaa_ckks_params_spec sp;
    unsigned bits[1] = {25};
    beaa_ckks_context *cs = NULL;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 11, bits, 1, 1, 25), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &cs), BEAA_OK);
    make_tmpdir();
    char p[512];
    path_in_dir(p, sizeof p, "params.beaa");
    ck_assert_int_eq(beaa_ckks_params_save(cs, p, 0), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_params_save(cs, p, 0), BEAA_ERR_EXISTS);
    ck_assert_int_eq(beaa_ckks_params_load(p, 0, &c2), BEAA_OK);
    ck_assert(memcmp(beaa_ckks_context_fingerprint(c2), beaa_ckks_context_fingerprint(cs), 32) == 0);
    beaa_ckks_context_free(c2);
    beaa_ckks_context_free(cs);
    remove_tmpdir();
    fixture_free(&f);
}
END_TEST

START_TEST(test_ckks_keys_roundtrip)
{
    fixture f;
    fixture_make(&f, 1);
    const beaa_ckks_context *ctx = f.ctx;
    size_t n = beaa_ckks_context_n(ctx);
    unsigned nd = beaa_ckks_context_max_level(ctx) + 1;
    unsigned ne = nd + beaa_ckks_context_n_special(ctx);
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);

    /* secret key: 2 bits per coefficient */
    ck_assert_int_eq(beaa_ckks_secret_key_serialize(f.sk, &w), BEAA_OK);
    ck_assert_uint_eq(w.len, BEAA_SERIAL_OVERHEAD + 8 + n / 4);
    beaa_ckks_secret_key *sk2 = NULL;
    ck_assert_int_eq(beaa_ckks_secret_key_deserialize(ctx, w.buf, w.len, &sk2), BEAA_OK);
    ck_assert(memcmp(sk2->coeffs, f.sk->coeffs, n) == 0);
    ck_assert(memcmp(sk2->data, f.sk->data, (size_t)ne * n * 8) == 0);
    beaa_serial_writer_free_secret(&w);

    /* public key, seeded and full: identical limbs either way */
    size_t sizes[2];
    for (int full = 0; full <= 1; full++) {
        ck_assert_int_eq(beaa_ckks_public_key_serialize(f.pk, full, &w), BEAA_OK);
        sizes[full] = w.len;
        beaa_ckks_public_key *pk2 = NULL;
        ck_assert_int_eq(beaa_ckks_public_key_deserialize(ctx, w.buf, w.len, &pk2), BEAA_OK);
        ck_assert(memcmp(pk2->data, f.pk->data, (size_t)2 * nd * n * 8) == 0);
        /* Encrypt with the loaded key, decrypt with the loaded secret key. */
        beaa_ckks_public_key *keep = f.pk;
        f.pk = pk2;
        beaa_ckks_ciphertext *ct = encrypt_vals(&f, f.x, 1);
        assert_decrypts_to(sk2, ct, f.x, f.slots, TOL);
        beaa_ckks_ciphertext_free(ct);
        f.pk = keep;
        beaa_ckks_public_key_free(pk2);
        beaa_serial_writer_reset(&w);
    }
    /* packed limbs: 45 + 30 + 30 bits per coefficient pair half vs 64 */
    size_t limbs = beaa_ckks_serial_limb_bytes(n, 45) + 2 * beaa_ckks_serial_limb_bytes(n, 30);
    ck_assert_uint_eq(sizes[1], BEAA_SERIAL_OVERHEAD + 4 + 2 * limbs);
    ck_assert_uint_eq(sizes[0], BEAA_SERIAL_OVERHEAD + 4 + limbs + 32);

    /* relinearization key */
    for (int full = 0; full <= 1; full++) {
        ck_assert_int_eq(beaa_ckks_relin_key_serialize(f.rk, full, &w), BEAA_OK);
        beaa_ckks_relin_key *rk2 = NULL;
        ck_assert_int_eq(beaa_ckks_relin_key_deserialize(ctx, w.buf, w.len, &rk2), BEAA_OK);
        ck_assert(memcmp(rk2->key.data, f.rk->key.data, switch_key_bytes(ctx)) == 0);
        /* x*y with the loaded key decrypts to the product */
        beaa_ckks_ciphertext *a = encrypt_vals(&f, f.x, 1), *b = encrypt_vals(&f, f.y, 1);
        ck_assert_int_eq(beaa_ckks_mul_relin(a, b, rk2, a), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_rescale(a, a), BEAA_OK);
        double *xy = malloc(f.slots * sizeof *xy);
        ck_assert_ptr_nonnull(xy);
        for (size_t j = 0; j < f.slots; j++) xy[j] = f.x[j] * f.y[j];
        assert_decrypts_to(f.sk, a, xy, f.slots, TOL);
        free(xy);
        beaa_ckks_ciphertext_free(a);
        beaa_ckks_ciphertext_free(b);
        beaa_ckks_relin_key_free(rk2);
        beaa_serial_writer_reset(&w);
    }

    /* Galois keys */
    for (int full = 0; full <= 1; full++) {
        ck_assert_int_eq(beaa_ckks_galois_keys_serialize(f.gk, full, &w), BEAA_OK);
        beaa_ckks_galois_keys *gk2 = NULL;
        ck_assert_int_eq(beaa_ckks_galois_keys_deserialize(ctx, w.buf, w.len, &gk2), BEAA_OK);
        ck_assert_uint_eq(gk2->count, f.gk->count);
        ck_assert_uint_eq(gk2->count, 4);
        for (size_t i = 0; i < gk2->count; i++) {
            ck_assert_uint_eq(gk2->elts[i], f.gk->elts[i]);
            ck_assert(memcmp(gk2->keys[i].data, f.gk->keys[i].data, switch_key_bytes(ctx)) == 0);
        }
        /* rotation by 5 with the loaded keys: slot j holds x[j + 5] */
        beaa_ckks_ciphertext *a = encrypt_vals(&f, f.x, 1);
        ck_assert_int_eq(beaa_ckks_rotate(a, 5, gk2, a), BEAA_OK);
        double *rot = malloc(f.slots * sizeof *rot);
        ck_assert_ptr_nonnull(rot);
        for (size_t j = 0; j < f.slots; j++) rot[j] = f.x[(j + 5) % f.slots];
        assert_decrypts_to(f.sk, a, rot, f.slots, TOL);
        free(rot);
        beaa_ckks_ciphertext_free(a);
        beaa_ckks_galois_keys_free(gk2);
        beaa_serial_writer_reset(&w);
    }
    beaa_serial_writer_free(&w);
    beaa_ckks_secret_key_free(sk2);
    fixture_free(&f);
}
END_TEST

START_TEST(test_ckks_texts_roundtrip)
{
    fixture f;
    fixture_make(&f, 1);
    const beaa_ckks_context *ctx = f.ctx;
    size_t n = beaa_ckks_context_n(ctx);
    unsigned L = beaa_ckks_context_max_level(ctx);
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);

    /* plaintext: bit-exact */
    beaa_ckks_plaintext *pt = NULL, *pt2 = NULL;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, L, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, f.x, f.slots, SCALE, L, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_plaintext_serialize(pt, &w), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_plaintext_deserialize(ctx, w.buf, w.len, &pt2), BEAA_OK);
    ck_assert_uint_eq(pt2->level, L);
    ck_assert(pt2->scale == SCALE);
    ck_assert(memcmp(pt2->data, pt->data, (size_t)(L + 1) * n * 8) == 0);
    beaa_ckks_plaintext_free(pt2);
    beaa_ckks_plaintext_free(pt);
    beaa_serial_writer_reset(&w);

    /* public-key ciphertext (full form) */
    beaa_ckks_ciphertext *ct = encrypt_vals(&f, f.x, 1), *ct2 = NULL;
    ck_assert_int_eq(ct->has_seed, 0);
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(ct, &w), BEAA_OK);
    size_t full_len = w.len;
    ck_assert_int_eq(beaa_ckks_ciphertext_deserialize(ctx, w.buf, w.len, &ct2), BEAA_OK);
    assert_ct_equal(ct, ct2);
    assert_decrypts_to(f.sk, ct2, f.x, f.slots, TOL);
    beaa_ckks_ciphertext_free(ct2);
    beaa_serial_writer_reset(&w);

    /* secret-key ciphertext: c_1 stored as its seed, about half the size */
    beaa_ckks_ciphertext *cs = encrypt_vals(&f, f.y, 0);
    ck_assert_int_eq(cs->has_seed, 1);
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(cs, &w), BEAA_OK);
    ck_assert_uint_lt(w.len, full_len / 2 + 128);
    ck_assert_int_eq(beaa_ckks_ciphertext_deserialize(ctx, w.buf, w.len, &ct2), BEAA_OK);
    assert_ct_equal(cs, ct2);
    ck_assert_int_eq(ct2->has_seed, 1);
    assert_decrypts_to(f.sk, ct2, f.y, f.slots, TOL);
    beaa_serial_writer_reset(&w);

    /* size 3 (product before relinearization) and a rescaled one at a lower level, loaded
     * into the same (re-shaped) ciphertext */
    beaa_ckks_ciphertext *c3 = NULL;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 3, L, &c3), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul(ct, cs, c3), BEAA_OK);
    ck_assert_uint_eq(c3->size, 3);
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(c3, &w), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_deserialize_into(w.buf, w.len, ct2), BEAA_OK);
    assert_ct_equal(c3, ct2);
    ck_assert_int_eq(ct2->has_seed, 0);
    ck_assert_int_eq(beaa_ckks_rescale(ct2, ct2), BEAA_OK);
    double *xy = malloc(f.slots * sizeof *xy);
    ck_assert_ptr_nonnull(xy);
    for (size_t j = 0; j < f.slots; j++) xy[j] = f.x[j] * f.y[j];
    assert_decrypts_to(f.sk, ct2, xy, f.slots, TOL);
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(ct2, &w), BEAA_OK);
    beaa_ckks_ciphertext *c4 = NULL;
    ck_assert_int_eq(beaa_ckks_ciphertext_deserialize(ctx, w.buf, w.len, &c4), BEAA_OK);
    assert_ct_equal(ct2, c4);
    ck_assert_uint_eq(c4->level, L - 1);
    assert_decrypts_to(f.sk, c4, xy, f.slots, TOL);
    beaa_ckks_ciphertext_free(c4);
    beaa_serial_writer_reset(&w);
    free(xy);

    /* files: save, refuse to clobber, load */
    make_tmpdir();
    char p[512];
    path_in_dir(p, sizeof p, "ct.beaa");
    ck_assert_int_eq(beaa_ckks_ciphertext_save(cs, p, 0), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_save(ct, p, 0), BEAA_ERR_EXISTS);
    beaa_ckks_ciphertext *cl = NULL;
    ck_assert_int_eq(beaa_ckks_ciphertext_load(ctx, p, &cl), BEAA_OK);
    assert_ct_equal(cs, cl);
    beaa_ckks_ciphertext_free(cl);
    path_in_dir(p, sizeof p, "sk.beaa");
    ck_assert_int_eq(beaa_ckks_secret_key_save(f.sk, p, 0), BEAA_OK);
    beaa_ckks_secret_key *skl = NULL;
    ck_assert_int_eq(beaa_ckks_secret_key_load(ctx, p, &skl), BEAA_OK);
    ck_assert(memcmp(skl->coeffs, f.sk->coeffs, n) == 0);
    beaa_ckks_secret_key_free(skl);
    path_in_dir(p, sizeof p, "pk.beaa");
    ck_assert_int_eq(beaa_ckks_public_key_save(f.pk, 0, p, 0), BEAA_OK);
    beaa_ckks_public_key *pkl = NULL;
    ck_assert_int_eq(beaa_ckks_public_key_load(ctx, p, &pkl), BEAA_OK);
    ck_assert(memcmp(pkl->data, f.pk->data, (size_t)2 * (L + 1) * n * 8) == 0);
    beaa_ckks_public_key_free(pkl);
    path_in_dir(p, sizeof p, "rk.beaa");
    ck_assert_int_eq(beaa_ckks_relin_key_save(f.rk, 0, p, 0), BEAA_OK);
    beaa_ckks_relin_key *rkl = NULL;
    ck_assert_int_eq(beaa_ckks_relin_key_load(ctx, p, &rkl), BEAA_OK);
    beaa_ckks_relin_key_free(rkl);
    path_in_dir(p, sizeof p, "gk.beaa");
    ck_assert_int_eq(beaa_ckks_galois_keys_save(f.gk, 0, p, 0), BEAA_OK);
    beaa_ckks_galois_keys *gkl = NULL;
    ck_assert_int_eq(beaa_ckks_galois_keys_load(ctx, p, &gkl), BEAA_OK);
    beaa_ckks_galois_keys_free(gkl);
    /* a ciphertext file is not a public key */
    path_in_dir(p, sizeof p, "ct.beaa");
    ck_assert_int_eq(beaa_ckks_public_key_load(ctx, p, &pkl), BEAA_ERR_FORMAT);
    ck_assert_ptr_null(pkl);
    remove_tmpdir();

    beaa_ckks_ciphertext_free(c3);
    beaa_ckks_ciphertext_free(ct2);
    beaa_ckks_ciphertext_free(cs);
    beaa_ckks_ciphertext_free(ct);
    beaa_serial_writer_free(&w);
    fixture_free(&f);
}
END_TEST

/* Loads data with the loader for `type` into ctx; frees whatever was made. Returns the status. */
static beaa_status try_load(const beaa_ckks_context *ctx, uint32_t type, const uint8_t *data,
                            size_t len)
{
    beaa_status s = BEAA_ERR_INTERNAL;
    switch (type) {
    case BEAA_OBJ_PARAMS: {
        beaa_ckks_context *c = NULL;
        s = beaa_ckks_params_deserialize(data, len, 1, &c);
        ck_assert(s == BEAA_OK || c == NULL);
        beaa_ckks_context_free(c);
        break;
    }
    case BEAA_OBJ_SECRET_KEY: {
        beaa_ckks_secret_key *o = NULL;
        s = beaa_ckks_secret_key_deserialize(ctx, data, len, &o);
        ck_assert(s == BEAA_OK || o == NULL);
        beaa_ckks_secret_key_free(o);
        break;
    }
    case BEAA_OBJ_PUBLIC_KEY: {
        beaa_ckks_public_key *o = NULL;
        s = beaa_ckks_public_key_deserialize(ctx, data, len, &o);
        ck_assert(s == BEAA_OK || o == NULL);
        beaa_ckks_public_key_free(o);
        break;
    }
    case BEAA_OBJ_RELIN_KEY: {
        beaa_ckks_relin_key *o = NULL;
        s = beaa_ckks_relin_key_deserialize(ctx, data, len, &o);
        ck_assert(s == BEAA_OK || o == NULL);
        beaa_ckks_relin_key_free(o);
        break;
    }
    case BEAA_OBJ_GALOIS_KEYS: {
        beaa_ckks_galois_keys *o = NULL;
        s = beaa_ckks_galois_keys_deserialize(ctx, data, len, &o);
        ck_assert(s == BEAA_OK || o == NULL);
        beaa_ckks_galois_keys_free(o);
        break;
    }
    case BEAA_OBJ_PLAINTEXT: {
        beaa_ckks_plaintext *o = NULL;
        s = beaa_ckks_plaintext_deserialize(ctx, data, len, &o);
        ck_assert(s == BEAA_OK || o == NULL);
        beaa_ckks_plaintext_free(o);
        break;
    }
    case BEAA_OBJ_CIPHERTEXT: {
        beaa_ckks_ciphertext *o = NULL;
        s = beaa_ckks_ciphertext_deserialize(ctx, data, len, &o);
        ck_assert(s == BEAA_OK || o == NULL);
        beaa_ckks_ciphertext_free(o);
        break;
    }
    default:
        ck_abort_msg("unknown type");
    }
    return s;
}

/* Next position to corrupt: every byte of the header, the first payload fields and the
 * checksum; every `step`-th byte in between (step 1: every byte). */
static size_t next_pos(size_t i, size_t len, size_t step)
{
    if (step < 1 || i < 96 || i + 1 + BEAA_SERIAL_CHECKSUM_BYTES >= len) return i + 1;
    size_t j = i + step;
    return j + BEAA_SERIAL_CHECKSUM_BYTES >= len ? len - BEAA_SERIAL_CHECKSUM_BYTES : j;
}

/* Every single-byte change and every truncation of obj is rejected with a status. `step` > 1
 * samples the positions in the middle (larger objects, sanitizer runs). */
static void assert_all_corruptions_rejected(const beaa_ckks_context *ctx, uint32_t type,
                                            const uint8_t *obj, size_t len, size_t step)
{
    ck_assert_int_eq(try_load(ctx, type, obj, len), BEAA_OK);
    uint8_t *copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, obj, len);
    for (size_t i = 0; i < len; i = next_pos(i, len, step)) {
        uint8_t delta = (uint8_t)(1u + (i * 37u) % 255u); /* nonzero, varies with i */
        copy[i] ^= delta;
        beaa_status s = try_load(ctx, type, copy, len);
        ck_assert_msg(s != BEAA_OK, "type %u: change at byte %zu of %zu accepted", type, i, len);
        copy[i] ^= delta;
    }
    for (size_t cut = 0; cut < len; cut = next_pos(cut, len, step)) {
        beaa_status s = try_load(ctx, type, copy, cut);
        ck_assert_msg(s == BEAA_ERR_TRUNCATED, "type %u: truncation to %zu gave %d", type, cut,
                      (int)s);
    }
    free(copy);
}

START_TEST(test_ckks_every_flip_and_truncation)
{
    fixture f;
    fixture_make(&f, 1);
    const beaa_ckks_context *ctx = f.ctx;
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    size_t big_step = light() ? 7 : 1;

    ck_assert_int_eq(beaa_ckks_params_serialize(ctx, &w), BEAA_OK);
    assert_all_corruptions_rejected(ctx, BEAA_OBJ_PARAMS, w.buf, w.len, 1);
    beaa_serial_writer_reset(&w);

    ck_assert_int_eq(beaa_ckks_secret_key_serialize(f.sk, &w), BEAA_OK);
    assert_all_corruptions_rejected(ctx, BEAA_OBJ_SECRET_KEY, w.buf, w.len, 1);
    beaa_serial_writer_free_secret(&w);

    /* a seeded ciphertext dropped to level 0 (one 45-bit limb + seed: ~5.8 KB) */
    beaa_ckks_ciphertext *ct = encrypt_vals(&f, f.x, 0);
    ck_assert_int_eq(beaa_ckks_drop_level(ct, 0, ct), BEAA_OK);
    ct->has_seed = 1; /* drop_level keeps c_1 = expansion of the seed on limbs 0..level */
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(ct, &w), BEAA_OK);
    ck_assert_uint_eq(w.buf[12], 1); /* the seeded form */
    ck_assert_uint_lt(w.len, 6000);
    assert_all_corruptions_rejected(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, light() ? 3 : 1);
    beaa_serial_writer_reset(&w);

    beaa_ckks_plaintext *pt = NULL;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, 0, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, f.y, f.slots, SCALE, 0, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_plaintext_serialize(pt, &w), BEAA_OK);
    assert_all_corruptions_rejected(ctx, BEAA_OBJ_PLAINTEXT, w.buf, w.len, light() ? 3 : 1);
    beaa_serial_writer_reset(&w);

    /* the larger keys: every byte too outside the sanitizer run */
    ck_assert_int_eq(beaa_ckks_public_key_serialize(f.pk, 0, &w), BEAA_OK);
    assert_all_corruptions_rejected(ctx, BEAA_OBJ_PUBLIC_KEY, w.buf, w.len, big_step);
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_relin_key_serialize(f.rk, 0, &w), BEAA_OK);
    assert_all_corruptions_rejected(ctx, BEAA_OBJ_RELIN_KEY, w.buf, w.len, w.len / 997);
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_galois_keys_serialize(f.gk, 0, &w), BEAA_OK);
    assert_all_corruptions_rejected(ctx, BEAA_OBJ_GALOIS_KEYS, w.buf, w.len, w.len / 997);
    beaa_serial_writer_reset(&w);

    beaa_ckks_plaintext_free(pt);
    beaa_ckks_ciphertext_free(ct);
    beaa_serial_writer_free(&w);
    fixture_free(&f);
}
END_TEST

/* Re-wraps the payload of env (same type, flags, fingerprint) after mutate() changed a copy of
 * it, so the checksum is valid and the loader's own field checks are what is tested. */
static uint8_t *rewrap(const uint8_t *env, size_t len, uint32_t new_flags_xor, size_t *out_len,
                       void (*mutate)(uint8_t *payload, size_t *plen, void *arg), void *arg)
{
    beaa_serial_reader pr;
    beaa_serial_info info;
    ck_assert_int_eq(beaa_serial_envelope_open(env, len, BEAA_OBJ_NONE, NULL, &pr, &info, NULL),
                     BEAA_OK);
    size_t plen = pr.left;
    uint8_t *pl = malloc(plen + 16);
    ck_assert_ptr_nonnull(pl);
    memcpy(pl, pr.p, plen);
    if (mutate) mutate(pl, &plen, arg);
    beaa_serial_writer w;
    size_t mark;
    beaa_serial_writer_init(&w, 0);
    ck_assert_int_eq(beaa_serial_envelope_begin(&w, info.type, info.flags ^ new_flags_xor,
                                                info.fingerprint, &mark), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_bytes(&w, pl, plen), BEAA_OK);
    ck_assert_int_eq(beaa_serial_envelope_end(&w, mark), BEAA_OK);
    free(pl);
    uint8_t *b = beaa_serial_writer_take(&w, out_len);
    ck_assert_ptr_nonnull(b);
    return b;
}

static void mut_set_u32(uint8_t *p, size_t *plen, void *arg)
{
    (void)plen;
    const uint32_t *a = arg; /* a[0] offset, a[1] value */
    for (int k = 0; k < 4; k++) p[a[0] + (uint32_t)k] = (uint8_t)(a[1] >> (8 * k));
}

static void mut_set_u64(uint8_t *p, size_t *plen, void *arg)
{
    (void)plen;
    const uint64_t *a = arg;
    for (int k = 0; k < 8; k++) p[a[0] + (uint64_t)k] = (uint8_t)(a[1] >> (8 * k));
}

static void mut_append_byte(uint8_t *p, size_t *plen, void *arg)
{
    (void)arg;
    p[(*plen)++] = 0;
}

static void mut_ones(uint8_t *p, size_t *plen, void *arg)
{
    (void)plen;
    const size_t *a = arg; /* a[0] offset, a[1] count */
    memset(p + a[0], 0xFF, a[1]);
}

static void assert_rewrap_status(const beaa_ckks_context *ctx, uint32_t type, const uint8_t *env,
                                 size_t len, uint32_t flags_xor,
                                 void (*mutate)(uint8_t *, size_t *, void *), void *arg,
                                 beaa_status want)
{
    size_t n2;
    uint8_t *b = rewrap(env, len, flags_xor, &n2, mutate, arg);
    ck_assert_int_eq(try_load(ctx, type, b, n2), want);
    beaa_free(b);
}

/* Fields out of range in well-formed (checksummed) data give BEAA_ERR_CORRUPT; objects of
 * another parameter set give BEAA_ERR_PARAMS_MISMATCH. */
START_TEST(test_ckks_fields_and_mismatch)
{
    fixture f;
    fixture_make(&f, 1);
    const beaa_ckks_context *ctx = f.ctx;
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);

    /* ciphertext payload: size u32 @0, level u32 @4, ntt u32 @8, scale f64 @12, limbs @20 */
    beaa_ckks_ciphertext *ct = encrypt_vals(&f, f.x, 1);
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(ct, &w), BEAA_OK);
    ck_assert_int_eq(try_load(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len), BEAA_OK);
    assert_rewrap_status(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, 0, NULL, NULL, BEAA_OK);
    uint32_t a32[2] = {0, 4};
    assert_rewrap_status(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, 0, mut_set_u32, a32, BEAA_ERR_CORRUPT);
    a32[0] = 4; a32[1] = 3; /* level 3 > L = 2 */
    assert_rewrap_status(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, 0, mut_set_u32, a32, BEAA_ERR_CORRUPT);
    a32[0] = 8; a32[1] = 2;
    assert_rewrap_status(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, 0, mut_set_u32, a32, BEAA_ERR_CORRUPT);
    uint64_t a64[2] = {12, 0x7FF8000000000000ULL}; /* NaN scale */
    assert_rewrap_status(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, 0, mut_set_u64, a64, BEAA_ERR_CORRUPT);
    a64[1] = 0xBFF0000000000000ULL; /* -1.0 */
    assert_rewrap_status(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, 0, mut_set_u64, a64, BEAA_ERR_CORRUPT);
    size_t ones[2] = {20, 6}; /* first residue = 2^45 - 1 >= q_0 */
    assert_rewrap_status(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, 0, mut_ones, ones, BEAA_ERR_CORRUPT);
    assert_rewrap_status(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, 0, mut_append_byte, NULL,
                         BEAA_ERR_CORRUPT);
    assert_rewrap_status(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, 2, NULL, NULL, BEAA_ERR_CORRUPT);
    /* seeded flag on a payload with full c_1: lengths disagree */
    assert_rewrap_status(ctx, BEAA_OBJ_CIPHERTEXT, w.buf, w.len, 1, NULL, NULL, BEAA_ERR_CORRUPT);

    /* another parameter set (first prime 40 bits instead of 45): mismatch for every object */
    beaa_ckks_context *other = NULL;
    make_context(&other, 40);
    ck_assert_int_eq(try_load(other, BEAA_OBJ_CIPHERTEXT, w.buf, w.len), BEAA_ERR_PARAMS_MISMATCH);
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_public_key_serialize(f.pk, 0, &w), BEAA_OK);
    ck_assert_int_eq(try_load(other, BEAA_OBJ_PUBLIC_KEY, w.buf, w.len), BEAA_ERR_PARAMS_MISMATCH);
    ck_assert_int_eq(try_load(ctx, BEAA_OBJ_RELIN_KEY, w.buf, w.len), BEAA_ERR_FORMAT);
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_relin_key_serialize(f.rk, 0, &w), BEAA_OK);
    ck_assert_int_eq(try_load(other, BEAA_OBJ_RELIN_KEY, w.buf, w.len), BEAA_ERR_PARAMS_MISMATCH);
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_galois_keys_serialize(f.gk, 0, &w), BEAA_OK);
    ck_assert_int_eq(try_load(other, BEAA_OBJ_GALOIS_KEYS, w.buf, w.len), BEAA_ERR_PARAMS_MISMATCH);
    /* Galois payload: count u64 @0, elts @8: unsorted, even, too many */
    uint64_t g[2] = {8, f.gk->elts[1]};
    assert_rewrap_status(ctx, BEAA_OBJ_GALOIS_KEYS, w.buf, w.len, 0, mut_set_u64, g, BEAA_ERR_CORRUPT);
    g[1] = 2;
    assert_rewrap_status(ctx, BEAA_OBJ_GALOIS_KEYS, w.buf, w.len, 0, mut_set_u64, g, BEAA_ERR_CORRUPT);
    g[0] = 0; g[1] = 1u << 20;
    assert_rewrap_status(ctx, BEAA_OBJ_GALOIS_KEYS, w.buf, w.len, 0, mut_set_u64, g, BEAA_ERR_CORRUPT);
    g[1] = 5; /* one more key than the payload holds: the 5th "element" is key data */
    size_t n5;
    uint8_t *b5 = rewrap(w.buf, w.len, 0, &n5, mut_set_u64, g);
    beaa_status s5 = try_load(ctx, BEAA_OBJ_GALOIS_KEYS, b5, n5);
    ck_assert(s5 == BEAA_ERR_CORRUPT || s5 == BEAA_ERR_TRUNCATED);
    beaa_free(b5);
    {
        /* the same valid payload under the retired type 5 (keys phi_g(s) -> s): refused */
        beaa_serial_reader pr;
        beaa_serial_info info;
        ck_assert_int_eq(beaa_serial_envelope_open(w.buf, w.len, BEAA_OBJ_GALOIS_KEYS, NULL, &pr,
                                                   &info, NULL), BEAA_OK);
        beaa_serial_writer w1;
        size_t mark;
        beaa_serial_writer_init(&w1, 0);
        ck_assert_int_eq(beaa_serial_envelope_begin(&w1, BEAA_OBJ_GALOIS_KEYS_V1, info.flags,
                                                    info.fingerprint, &mark), BEAA_OK);
        ck_assert_int_eq(beaa_serial_write_bytes(&w1, pr.p, pr.left), BEAA_OK);
        ck_assert_int_eq(beaa_serial_envelope_end(&w1, mark), BEAA_OK);
        beaa_ckks_galois_keys *old = NULL;
        ck_assert_int_eq(beaa_ckks_galois_keys_deserialize(ctx, w1.buf, w1.len, &old),
                         BEAA_ERR_FORMAT);
        ck_assert_ptr_null(old);
        beaa_serial_writer_free(&w1);
    }
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_secret_key_serialize(f.sk, &w), BEAA_OK);
    ck_assert_int_eq(try_load(other, BEAA_OBJ_SECRET_KEY, w.buf, w.len), BEAA_ERR_PARAMS_MISMATCH);
    /* secret payload: n u32 @0, encoding u32 @4, 2-bit codes @8: code 3 is invalid */
    size_t code3[2] = {8, 1};
    assert_rewrap_status(ctx, BEAA_OBJ_SECRET_KEY, w.buf, w.len, 0, mut_ones, code3, BEAA_ERR_CORRUPT);
    a32[0] = 0; a32[1] = 2048;
    assert_rewrap_status(ctx, BEAA_OBJ_SECRET_KEY, w.buf, w.len, 0, mut_set_u32, a32, BEAA_ERR_CORRUPT);
    beaa_serial_writer_free_secret(&w);
    /* params payload: log_n u32 @0 */
    ck_assert_int_eq(beaa_ckks_params_serialize(ctx, &w), BEAA_OK);
    a32[0] = 0; a32[1] = 9;
    assert_rewrap_status(ctx, BEAA_OBJ_PARAMS, w.buf, w.len, 0, mut_set_u32, a32, BEAA_ERR_CORRUPT);
    a32[0] = 4; a32[1] = 0;
    assert_rewrap_status(ctx, BEAA_OBJ_PARAMS, w.buf, w.len, 0, mut_set_u32, a32, BEAA_ERR_CORRUPT);
    /* a stored prime that this library would not generate for the spec */
    uint64_t pr[2] = {24 + 4 * 5, 12289};
    assert_rewrap_status(ctx, BEAA_OBJ_PARAMS, w.buf, w.len, 0, mut_set_u64, pr,
                         BEAA_ERR_PARAMS_MISMATCH);
    beaa_serial_writer_free(&w);

    beaa_ckks_context_free(other);
    beaa_ckks_ciphertext_free(ct);
    fixture_free(&f);
}
END_TEST

/* Structure-aware fuzzing: random changes to the *payload* of valid objects, re-wrapped with a
 * valid checksum so that the loaders' own field checks are what is exercised. Whatever the
 * status, nothing may crash or leak (run under ASan+UBSan by make test-asan); a ciphertext that
 * still loads must still decrypt without error. */
typedef struct fuzz_arg {
    beaa_xof *rng;
    int mode;
} fuzz_arg;

static void mut_fuzz(uint8_t *p, size_t *plen, void *arg)
{
    fuzz_arg *a = arg;
    size_t n = *plen;
    if (n == 0) return;
    if (a->mode == 0) { /* 1-4 random bytes among the first 64 (the fields) */
        unsigned k = 1 + (unsigned)beaa_xof_uniform(a->rng, 4);
        for (unsigned i = 0; i < k; i++) {
            size_t pos = (size_t)beaa_xof_uniform(a->rng, n < 64 ? n : 64);
            p[pos] = (uint8_t)beaa_xof_u64(a->rng);
        }
    } else if (a->mode == 1) { /* one random byte anywhere */
        p[beaa_xof_uniform(a->rng, n)] ^= (uint8_t)(1 + beaa_xof_uniform(a->rng, 255));
    } else { /* cut the payload short */
        *plen = (size_t)beaa_xof_uniform(a->rng, n);
    }
}

START_TEST(test_ckks_rewrapped_fuzz)
{
    fixture f;
    fixture_make(&f, 1);
    const beaa_ckks_context *ctx = f.ctx;
    beaa_ckks_ciphertext *ct = encrypt_vals(&f, f.x, 0);
    ck_assert_int_eq(beaa_ckks_drop_level(ct, 1, ct), BEAA_OK);
    beaa_ckks_ciphertext *ct3 = NULL;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 3, 1, &ct3), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul(ct, ct, ct3), BEAA_OK);
    beaa_ckks_plaintext *pt = NULL;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, 0, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, f.y, f.slots, SCALE, 0, pt), BEAA_OK);

    beaa_serial_writer objs[6];
    uint32_t types[6] = {BEAA_OBJ_PARAMS, BEAA_OBJ_SECRET_KEY, BEAA_OBJ_CIPHERTEXT,
                         BEAA_OBJ_CIPHERTEXT, BEAA_OBJ_PLAINTEXT, BEAA_OBJ_GALOIS_KEYS};
    for (int i = 0; i < 6; i++) beaa_serial_writer_init(&objs[i], 0);
    ck_assert_int_eq(beaa_ckks_params_serialize(ctx, &objs[0]), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_serialize(f.sk, &objs[1]), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(ct3, &objs[2]), BEAA_OK);
    ct->has_seed = 1; /* c_1 limbs 0..1 are still the seed's expansion after drop_level */
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(ct, &objs[3]), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_plaintext_serialize(pt, &objs[4]), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_galois_keys_serialize(f.gk, 1, &objs[5]), BEAA_OK);

    uint8_t seed[BEAA_SEED_BYTES] = {42};
    beaa_xof rng;
    beaa_xof_init(&rng, seed, 7);
    int iters = light() ? 30 : 120, counts[3] = {0, 0, 0};
    for (int o = 0; o < 6; o++) {
        for (int it = 0; it < iters; it++) {
            fuzz_arg a = {&rng, it % 3};
            size_t n2;
            uint8_t *b = rewrap(objs[o].buf, objs[o].len, 0, &n2, mut_fuzz, &a);
            beaa_status s;
            if (types[o] == BEAA_OBJ_CIPHERTEXT) {
                beaa_ckks_ciphertext *c = NULL;
                s = beaa_ckks_ciphertext_deserialize(ctx, b, n2, &c);
                if (s == BEAA_OK) {
                    beaa_ckks_plaintext *d = NULL;
                    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, 0, &d), BEAA_OK);
                    beaa_status ds = beaa_ckks_decrypt(f.sk, c, d);
                    ck_assert(ds == BEAA_OK || ds == BEAA_ERR_SIZE || ds == BEAA_ERR_SCALE_RANGE);
                    beaa_ckks_plaintext_free(d);
                } else {
                    ck_assert_ptr_null(c);
                }
                beaa_ckks_ciphertext_free(c);
            } else {
                s = try_load(ctx, types[o], b, n2);
            }
            ck_assert_int_ne(s, BEAA_ERR_INTERNAL);
            counts[s == BEAA_OK ? 0 : s == BEAA_ERR_CORRUPT ? 1 : 2]++;
            beaa_free(b);
        }
    }
    /* both outcomes occur: the fuzzer reaches the field checks and also leaves valid objects */
    ck_assert_int_gt(counts[0], 0);
    ck_assert_int_gt(counts[1], 0);
    for (int i = 0; i < 6; i++) beaa_serial_writer_free(&objs[i]);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_ciphertext_free(ct3);
    beaa_ckks_ciphertext_free(ct);
    fixture_free(&f);
}
END_TEST

/* Seeded forms are used only when the 'a' parts really are their seed's expansion: a stale
 * has_seed on a ciphertext written in place, or a key whose seed field does not match its 'a'
 * limbs, falls back to the full form (flags bit 0 clear) and still round-trips exactly. */
static uint32_t env_flags(const uint8_t *env) { return env[12] | (uint32_t)env[13] << 8; }

START_TEST(test_ckks_seed_fallback)
{
    fixture f;
    fixture_make(&f, 1);
    const beaa_ckks_context *ctx = f.ctx;
    size_t n = beaa_ckks_context_n(ctx);
    unsigned nd = beaa_ckks_context_max_level(ctx) + 1;
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);

    beaa_ckks_ciphertext *ct = encrypt_vals(&f, f.x, 0), *back = NULL;
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(ct, &w), BEAA_OK);
    ck_assert_uint_eq(env_flags(w.buf), 1);
    /* c_1 changed in place, flag left set (first and last limb each) */
    for (unsigned limb = 0; limb < nd; limb += nd - 1) {
        uint64_t q = beaa_ckks_context_prime(ctx, limb)->q;
        uint64_t *c1 = beaa_ckks_ct_limb(ct, 1, limb);
        c1[3] = (c1[3] + 1) % q;
        beaa_serial_writer_reset(&w);
        ck_assert_int_eq(beaa_ckks_ciphertext_serialize(ct, &w), BEAA_OK);
        ck_assert_uint_eq(env_flags(w.buf), 0);
        ck_assert_int_eq(beaa_ckks_ciphertext_deserialize(ctx, w.buf, w.len, &back), BEAA_OK);
        assert_ct_equal(ct, back);
        ck_assert_int_eq(back->has_seed, 0);
        beaa_ckks_ciphertext_free(back);
        back = NULL;
        c1[3] = (c1[3] + q - 1) % q;
    }

    /* public key whose seed field does not match its 'a' limbs */
    f.pk->seed[0] ^= 1;
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_public_key_serialize(f.pk, 0, &w), BEAA_OK);
    ck_assert_uint_eq(env_flags(w.buf), 0);
    beaa_ckks_public_key *pk2 = NULL;
    ck_assert_int_eq(beaa_ckks_public_key_deserialize(ctx, w.buf, w.len, &pk2), BEAA_OK);
    ck_assert(memcmp(pk2->data, f.pk->data, (size_t)2 * nd * n * 8) == 0);
    beaa_ckks_public_key_free(pk2);
    f.pk->seed[0] ^= 1;

    /* relinearization and Galois keys likewise */
    f.rk->key.seed[5] ^= 0x40;
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_relin_key_serialize(f.rk, 0, &w), BEAA_OK);
    ck_assert_uint_eq(env_flags(w.buf), 0);
    beaa_ckks_relin_key *rk2 = NULL;
    ck_assert_int_eq(beaa_ckks_relin_key_deserialize(ctx, w.buf, w.len, &rk2), BEAA_OK);
    ck_assert(memcmp(rk2->key.data, f.rk->key.data, switch_key_bytes(ctx)) == 0);
    beaa_ckks_relin_key_free(rk2);
    f.rk->key.seed[5] ^= 0x40;
    f.gk->keys[2].seed[31] ^= 1;
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_galois_keys_serialize(f.gk, 0, &w), BEAA_OK);
    ck_assert_uint_eq(env_flags(w.buf), 0);
    beaa_ckks_galois_keys *gk2 = NULL;
    ck_assert_int_eq(beaa_ckks_galois_keys_deserialize(ctx, w.buf, w.len, &gk2), BEAA_OK);
    for (size_t i = 0; i < gk2->count; i++)
        ck_assert(memcmp(gk2->keys[i].data, f.gk->keys[i].data, switch_key_bytes(ctx)) == 0);
    beaa_ckks_galois_keys_free(gk2);
    f.gk->keys[2].seed[31] ^= 1;
    /* and with every seed intact the seeded forms come back */
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_galois_keys_serialize(f.gk, 0, &w), BEAA_OK);
    ck_assert_uint_eq(env_flags(w.buf), 1);
    beaa_serial_writer_reset(&w);
    ck_assert_int_eq(beaa_ckks_relin_key_serialize(f.rk, 0, &w), BEAA_OK);
    ck_assert_uint_eq(env_flags(w.buf), 1);

    beaa_ckks_ciphertext_free(ct);
    beaa_serial_writer_free(&w);
    fixture_free(&f);
}
END_TEST

/* A stream file of ciphertexts, written and read one at a time, decrypts correctly. */
START_TEST(test_ckks_ciphertext_stream)
{
    fixture f;
    fixture_make(&f, 1);
    make_tmpdir();
    char p[512];
    path_in_dir(p, sizeof p, "batch.beaa");
    const unsigned count = light() ? 4 : 12;
    beaa_stream_writer *sw = NULL;
    ck_assert_int_eq(beaa_stream_writer_open(p, 0, BEAA_OBJ_CIPHERTEXT,
                                             beaa_ckks_context_fingerprint(f.ctx), "c1h3w4", 6, &sw),
                     BEAA_OK);
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    double *v = malloc(f.slots * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (unsigned i = 0; i < count; i++) {
        for (size_t j = 0; j < f.slots; j++) v[j] = f.x[j] * (double)i / count;
        beaa_ckks_ciphertext *ct = encrypt_vals(&f, v, (int)(i % 2));
        beaa_serial_writer_reset(&w);
        ck_assert_int_eq(beaa_ckks_ciphertext_serialize(ct, &w), BEAA_OK);
        ck_assert_int_eq(beaa_stream_writer_append(sw, w.buf, w.len), BEAA_OK);
        beaa_ckks_ciphertext_free(ct);
    }
    ck_assert_int_eq(beaa_stream_writer_close(sw), BEAA_OK);

    beaa_stream_reader *sr = NULL;
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_CIPHERTEXT,
                                             beaa_ckks_context_fingerprint(f.ctx),
                                             beaa_ckks_ciphertext_max_bytes(f.ctx), &sr), BEAA_OK);
    ck_assert_uint_eq(beaa_stream_reader_count(sr), count);
    beaa_ckks_ciphertext *ct = NULL;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(f.ctx, 2, 0, &ct), BEAA_OK);
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *obj;
        size_t len;
        ck_assert_int_eq(beaa_stream_reader_next(sr, &obj, &len), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_ciphertext_deserialize_into(obj, len, ct), BEAA_OK);
        ck_assert_int_eq(ct->has_seed, (int)(i % 2 == 0));
        for (size_t j = 0; j < f.slots; j++) v[j] = f.x[j] * (double)i / count;
        assert_decrypts_to(f.sk, ct, v, f.slots, TOL);
    }
    beaa_stream_reader_close(sr);
    /* another parameter set refuses the whole stream */
    beaa_ckks_context *other = NULL;
    make_context(&other, 40);
    ck_assert_int_eq(beaa_stream_reader_open(p, BEAA_OBJ_CIPHERTEXT,
                                             beaa_ckks_context_fingerprint(other), 0, &sr),
                     BEAA_ERR_PARAMS_MISMATCH);
    beaa_ckks_context_free(other);
    beaa_ckks_ciphertext_free(ct);
    free(v);
    beaa_serial_writer_free(&w);
    remove_tmpdir();
    fixture_free(&f);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *serialize_suite(void)
{
    Suite *s = suite_create("serialize");
    TCase *tc = tcase_create("serial");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_writer_reader_roundtrip);
    tcase_add_test(tc, test_reader_bounds);
    tcase_add_test(tc, test_writer_limit_and_growth);
    tcase_add_test(tc, test_envelope_known_answer);
    tcase_add_test(tc, test_envelope_flips_and_truncations);
    tcase_add_test(tc, test_envelope_tree_checksum);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("files");
    tcase_set_timeout(tf, 120);
    tcase_add_test(tf, test_file_atomic_write_and_read);
    tcase_add_test(tf, test_stream_roundtrip);
    tcase_add_test(tf, test_stream_corruption);
    suite_add_tcase(s, tf);
    TCase *tk = tcase_create("ckks");
    tcase_set_timeout(tk, 300);
    tcase_add_test(tk, test_ckks_packed_limbs);
    tcase_add_test(tk, test_ckks_params_roundtrip);
    tcase_add_test(tk, test_ckks_keys_roundtrip);
    tcase_add_test(tk, test_ckks_texts_roundtrip);
    tcase_add_test(tk, test_ckks_every_flip_and_truncation);
    tcase_add_test(tk, test_ckks_fields_and_mismatch);
    tcase_add_test(tk, test_ckks_rewrapped_fuzz);
    tcase_add_test(tk, test_ckks_seed_fallback);
    tcase_add_test(tk, test_ckks_ciphertext_stream);
    suite_add_tcase(s, tk);
    return s;
}

int main(int argc, char **argv)
{
    /* On a shared, oversubscribed machine OpenMP's default spin-waiting at barriers burns most
     * of the CPU time of the many small parallel regions here (measured: 19.5 s -> 2.8 s of CPU
     * for the CKKS cases). libgomp reads OMP_WAIT_POLICY when it is loaded, before main, so set
     * it and re-execute once, unless the user chose a policy. */
    if (argc > 0 && !getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        execv("/proc/self/exe", argv); /* returns only on failure: then just run as we are */
    }
    return test_run_suite(serialize_suite(), 0);
}
