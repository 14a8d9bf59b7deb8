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
#include "lib/mem.h"
#include "lib/rng.h"
#include "lib/serial.h"
#include "lib/stream.h"

static int light(void) { return getenv("BEAA_TEST_LIGHT") != NULL; }

/* ---------------------------------------------------------------- helpers */

static char g_dir[256];

static void make_tmpdir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/beaa_serial_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
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
    ck_assert_int_eq(beaa_file_read_all(e, 0, &back, &n), BEAA_ERR_IO);
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
    unsigned count = 60;
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
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("files");
    tcase_set_timeout(tf, 120);
    tcase_add_test(tf, test_file_atomic_write_and_read);
    tcase_add_test(tf, test_stream_roundtrip);
    tcase_add_test(tf, test_stream_corruption);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(serialize_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
