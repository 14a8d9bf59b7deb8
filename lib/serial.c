/* serial.c - bounded writer/reader and the checked object envelope (see serial.h).
 * Everything is little endian, whatever the host; the checksum is the first 16 bytes of
 * SHAKE256 over the header and payload (lib/rng.c). */
#include "lib/serial.h"
#include "lib/ct.h"
#include "lib/mem.h"
#include "lib/parallel.h"
#include "lib/rng.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- writer */

void beaa_serial_writer_init(beaa_serial_writer *w, size_t limit)
{
    w->buf = NULL;
    w->len = 0;
    w->cap = 0;
    w->limit = limit;
    w->err = BEAA_OK;
}

beaa_status beaa_serial_writer_reserve(beaa_serial_writer *w, size_t extra)
{
    if (!w) return BEAA_ERR_ARG;
    if (w->err != BEAA_OK) return w->err;
    size_t limit = w->limit ? w->limit : SIZE_MAX;
    if (extra > limit || w->len > limit - extra) return w->err = BEAA_ERR_MEMORY_LIMIT;
    size_t need = w->len + extra;
    if (need <= w->cap) return BEAA_OK;
    /* Grow geometrically (x1.5, at least 256 bytes), capped at the limit. */
    size_t cap = w->cap < 256 ? 256 : w->cap;
    while (cap < need) cap = cap > SIZE_MAX / 3 * 2 ? SIZE_MAX - 64 : cap + cap / 2;
    if (cap > limit) cap = limit;
    if (cap < need) cap = need;
    uint8_t *nb = beaa_alloc(cap);
    if (!nb) return w->err = BEAA_ERR_NOMEM;
    if (w->len) memcpy(nb, w->buf, w->len);
    if (w->buf) beaa_free_secret(w->buf, w->cap);
    w->buf = nb;
    w->cap = cap;
    return BEAA_OK;
}

void beaa_serial_writer_free(beaa_serial_writer *w)
{
    if (!w) return;
    beaa_free(w->buf);
    beaa_serial_writer_init(w, w->limit);
}

void beaa_serial_writer_free_secret(beaa_serial_writer *w)
{
    if (!w) return;
    if (w->buf) beaa_free_secret(w->buf, w->cap);
    beaa_serial_writer_init(w, w->limit);
}

void beaa_serial_writer_reset(beaa_serial_writer *w)
{
    if (!w) return;
    w->len = 0;
    w->err = BEAA_OK;
}

uint8_t *beaa_serial_writer_take(beaa_serial_writer *w, size_t *len)
{
    if (!w || !len || w->err != BEAA_OK || w->len == 0) return NULL;
    uint8_t *b = w->buf;
    *len = w->len;
    beaa_serial_writer_init(w, w->limit);
    return b;
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

beaa_status beaa_serial_write_bytes(beaa_serial_writer *w, const void *src, size_t n)
{
    if (!w) return BEAA_ERR_ARG;
    if (w->err != BEAA_OK) return w->err;
    if (n == 0) return BEAA_OK;
    if (!src) return w->err = BEAA_ERR_ARG;
    beaa_status s = beaa_serial_writer_reserve(w, n);
    if (s != BEAA_OK) return s;
    memcpy(w->buf + w->len, src, n);
    w->len += n;
    return BEAA_OK;
}

beaa_status beaa_serial_write_u8(beaa_serial_writer *w, uint8_t v)
{
    return beaa_serial_write_bytes(w, &v, 1);
}

beaa_status beaa_serial_write_u32(beaa_serial_writer *w, uint32_t v)
{
    uint8_t b[4];
    put_le32(b, v);
    return beaa_serial_write_bytes(w, b, 4);
}

beaa_status beaa_serial_write_u64(beaa_serial_writer *w, uint64_t v)
{
    uint8_t b[8];
    put_le64(b, v);
    return beaa_serial_write_bytes(w, b, 8);
}

beaa_status beaa_serial_write_f64(beaa_serial_writer *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return beaa_serial_write_u64(w, u);
}

beaa_status beaa_serial_write_u64_array(beaa_serial_writer *w, const uint64_t *src, size_t n)
{
    if (!w) return BEAA_ERR_ARG;
    if (w->err != BEAA_OK) return w->err;
    if (n == 0) return BEAA_OK;
    if (!src || n > SIZE_MAX / 8) return w->err = BEAA_ERR_ARG;
    beaa_status s = beaa_serial_writer_reserve(w, n * 8);
    if (s != BEAA_OK) return s;
    uint8_t *p = w->buf + w->len;
    for (size_t i = 0; i < n; i++) put_le64(p + 8 * i, src[i]);
    w->len += n * 8;
    return BEAA_OK;
}

/* ---------------------------------------------------------------- reader */

void beaa_serial_reader_init(beaa_serial_reader *r, const void *data, size_t len)
{
    r->p = (const uint8_t *)data;
    r->left = data ? len : 0;
}

beaa_status beaa_serial_read_view(beaa_serial_reader *r, const uint8_t **view, size_t n)
{
    if (!r || !view) return BEAA_ERR_ARG;
    if (n > r->left) return BEAA_ERR_TRUNCATED;
    *view = r->p;
    r->p += n;
    r->left -= n;
    return BEAA_OK;
}

beaa_status beaa_serial_read_skip(beaa_serial_reader *r, size_t n)
{
    const uint8_t *v;
    return beaa_serial_read_view(r, &v, n);
}

beaa_status beaa_serial_read_bytes(beaa_serial_reader *r, void *dst, size_t n)
{
    if (!dst && n > 0) return BEAA_ERR_ARG;
    const uint8_t *v;
    beaa_status s = beaa_serial_read_view(r, &v, n);
    if (s == BEAA_OK && n > 0) memcpy(dst, v, n);
    return s;
}

beaa_status beaa_serial_read_u8(beaa_serial_reader *r, uint8_t *v)
{
    return beaa_serial_read_bytes(r, v, 1);
}

beaa_status beaa_serial_read_u32(beaa_serial_reader *r, uint32_t *v)
{
    const uint8_t *b;
    if (!v) return BEAA_ERR_ARG;
    beaa_status s = beaa_serial_read_view(r, &b, 4);
    if (s == BEAA_OK) *v = get_le32(b);
    return s;
}

beaa_status beaa_serial_read_u64(beaa_serial_reader *r, uint64_t *v)
{
    const uint8_t *b;
    if (!v) return BEAA_ERR_ARG;
    beaa_status s = beaa_serial_read_view(r, &b, 8);
    if (s == BEAA_OK) *v = get_le64(b);
    return s;
}

beaa_status beaa_serial_read_f64(beaa_serial_reader *r, double *v)
{
    uint64_t u;
    if (!v) return BEAA_ERR_ARG;
    beaa_status s = beaa_serial_read_u64(r, &u);
    if (s == BEAA_OK) memcpy(v, &u, 8);
    return s;
}

beaa_status beaa_serial_read_u64_array(beaa_serial_reader *r, uint64_t *dst, size_t n)
{
    const uint8_t *b;
    if (!r || (!dst && n > 0)) return BEAA_ERR_ARG;
    if (n > r->left / 8) return BEAA_ERR_TRUNCATED;
    beaa_status s = beaa_serial_read_view(r, &b, n * 8);
    if (s != BEAA_OK) return s;
    for (size_t i = 0; i < n; i++) dst[i] = get_le64(b + 8 * i);
    return BEAA_OK;
}

/* ---------------------------------------------------------------- checksum */

/* Bodies up to one leaf: SHAKE256(body)[0..16). Longer bodies: a two-level tree so that large
 * objects (MiB-sized ciphertexts and keys) are hashed on all cores: leaf i is
 * SHAKE256(body[i*LEAF .. (i+1)*LEAF))[0..32), and the checksum is
 * SHAKE256("BEAA-tree-v1" || u64 body length || u64 leaf count || leaf digests)[0..16). */
#define SUM_LEAF ((size_t)1 << 18) /* 256 KiB */

static beaa_serial_hash8_fn hash8;

void beaa_serial_set_hash8(beaa_serial_hash8_fn fn)
{
    __atomic_store_n(&hash8, fn, __ATOMIC_RELEASE);
}

static void body_checksum(const uint8_t *d, size_t n, uint8_t out[BEAA_SERIAL_CHECKSUM_BYTES])
{
    if (n <= SUM_LEAF) {
        beaa_shake256(out, BEAA_SERIAL_CHECKSUM_BYTES, d, n);
        return;
    }
    const size_t leaves = (n + SUM_LEAF - 1) / SUM_LEAF;
    uint8_t stack_dig[32 * 64];
    uint8_t *dig = leaves <= 64 ? stack_dig : malloc(32 * leaves);
    beaa_xof x;
    uint8_t b[8];
    beaa_shake256_init(&x);
    beaa_shake256_absorb(&x, "BEAA-tree-v1", 12);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)n >> (8 * i));
    beaa_shake256_absorb(&x, b, 8);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)leaves >> (8 * i));
    beaa_shake256_absorb(&x, b, 8);
    if (dig) {
        (void)beaa_parallel_init();
        /* where an 8-message SHAKE256 is set, the full leaves go through it 8 at a time (a last
         * group of 2-7 fills its other lanes with its first leaf again: an 8-lane call costs
         * about one scalar leaf; the avx2 one 2.4, or 1.2 when leaves 4-7 are that filler),
         * the others one by one */
        const beaa_serial_hash8_fn h8 = __atomic_load_n(&hash8, __ATOMIC_ACQUIRE);
        const size_t full = n / SUM_LEAF;
        const size_t grouped = h8 ? (full % 8 >= 2 ? full : full / 8 * 8) : 0;
        const long groups = (long)((grouped + 7) / 8);
        const long items = groups + (long)(leaves - grouped);
#pragma omp parallel for schedule(dynamic, 1)
        for (long i = 0; i < items; i++) {
            if (i < groups) {
                uint8_t *o[8], spare[32];
                const uint8_t *p[8];
                for (int j = 0; j < 8; j++) {
                    size_t leaf = 8 * (size_t)i + (size_t)j;
                    int real = leaf < grouped;
                    if (!real) leaf = 8 * (size_t)i;
                    o[j] = real ? dig + 32 * leaf : spare;
                    p[j] = d + leaf * SUM_LEAF;
                }
                h8(o, 32, p, SUM_LEAF);
                continue;
            }
            size_t leaf = grouped + (size_t)(i - groups);
            size_t off = leaf * SUM_LEAF, len = n - off < SUM_LEAF ? n - off : SUM_LEAF;
            beaa_shake256(dig + 32 * leaf, 32, d + off, len);
        }
        beaa_shake256_absorb(&x, dig, 32 * leaves);
        if (dig != stack_dig) free(dig);
    } else { /* no memory for the digests: same result, one leaf at a time */
        uint8_t one[32];
        for (size_t i = 0; i < leaves; i++) {
            size_t off = i * SUM_LEAF, len = n - off < SUM_LEAF ? n - off : SUM_LEAF;
            beaa_shake256(one, 32, d + off, len);
            beaa_shake256_absorb(&x, one, 32);
        }
    }
    beaa_shake256_final(&x);
    beaa_xof_read(&x, out, BEAA_SERIAL_CHECKSUM_BYTES);
}

/* ---------------------------------------------------------------- envelope */

/* Header layout (offsets): 0 magic[4], 4 version u32, 8 type u32, 12 flags u32,
 * 16 fingerprint[32], 48 payload length u64; then payload, then checksum[16]. */
#define OFF_LEN 48

beaa_status beaa_serial_envelope_begin(beaa_serial_writer *w, uint32_t type, uint32_t flags,
                                       const uint8_t *fingerprint, size_t *mark)
{
    if (!w || !mark) return BEAA_ERR_ARG;
    static const uint8_t zero_fp[BEAA_SERIAL_FINGERPRINT_BYTES] = {0};
    size_t at = w->len;
    beaa_status s = beaa_serial_write_bytes(w, BEAA_SERIAL_MAGIC, 4);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, BEAA_SERIAL_VERSION);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, type);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, flags);
    if (s == BEAA_OK)
        s = beaa_serial_write_bytes(w, fingerprint ? fingerprint : zero_fp,
                                    BEAA_SERIAL_FINGERPRINT_BYTES);
    if (s == BEAA_OK) s = beaa_serial_write_u64(w, 0);
    if (s == BEAA_OK) *mark = at;
    return s;
}

beaa_status beaa_serial_envelope_end(beaa_serial_writer *w, size_t mark)
{
    if (!w) return BEAA_ERR_ARG;
    if (w->err != BEAA_OK) return w->err;
    if (mark > w->len || w->len - mark < BEAA_SERIAL_HEADER_BYTES ||
        memcmp(w->buf + mark, BEAA_SERIAL_MAGIC, 4) != 0)
        return w->err = BEAA_ERR_ARG;
    size_t payload = w->len - mark - BEAA_SERIAL_HEADER_BYTES;
    put_le64(w->buf + mark + OFF_LEN, (uint64_t)payload);
    uint8_t sum[BEAA_SERIAL_CHECKSUM_BYTES];
    beaa_status s = beaa_serial_writer_reserve(w, sizeof sum);
    if (s != BEAA_OK) return s;
    body_checksum(w->buf + mark, w->len - mark, sum);
    return beaa_serial_write_bytes(w, sum, sizeof sum);
}

beaa_status beaa_serial_header_parse(const void *data, size_t len, beaa_serial_info *info)
{
    if (!data && len > 0) return BEAA_ERR_ARG;
    const uint8_t *d = (const uint8_t *)data;
    /* Magic first, on whatever prefix there is: a short input that is not even a prefix of
     * "BEAA" is not ours (FORMAT); a prefix of it is cut short (TRUNCATED). */
    size_t m = len < 4 ? len : 4;
    if (m > 0 && memcmp(d, BEAA_SERIAL_MAGIC, m) != 0) return BEAA_ERR_FORMAT;
    if (len < 8) return BEAA_ERR_TRUNCATED;
    if (get_le32(d + 4) != BEAA_SERIAL_VERSION) return BEAA_ERR_FORMAT;
    if (len < BEAA_SERIAL_HEADER_BYTES) return BEAA_ERR_TRUNCATED;
    if (info) {
        info->version = get_le32(d + 4);
        info->type = get_le32(d + 8);
        info->flags = get_le32(d + 12);
        memcpy(info->fingerprint, d + 16, BEAA_SERIAL_FINGERPRINT_BYTES);
        info->payload_len = get_le64(d + OFF_LEN);
    }
    return BEAA_OK;
}

beaa_status beaa_serial_envelope_open(const void *data, size_t len, uint32_t expect_type,
                                      const uint8_t *expect_fp, beaa_serial_reader *payload,
                                      beaa_serial_info *info, size_t *consumed)
{
    if (!payload) return BEAA_ERR_ARG;
    beaa_serial_info hi;
    beaa_status s = beaa_serial_header_parse(data, len, &hi);
    if (s != BEAA_OK) return s;
    const uint8_t *d = (const uint8_t *)data;
    size_t avail = len - BEAA_SERIAL_HEADER_BYTES;
    if (avail < BEAA_SERIAL_CHECKSUM_BYTES ||
        hi.payload_len > (uint64_t)(avail - BEAA_SERIAL_CHECKSUM_BYTES))
        return BEAA_ERR_TRUNCATED;
    size_t plen = (size_t)hi.payload_len;
    size_t body = BEAA_SERIAL_HEADER_BYTES + plen;
    uint8_t sum[BEAA_SERIAL_CHECKSUM_BYTES];
    body_checksum(d, body, sum);
    /* Compared without a branch per byte: the checksum of a secret-key file is computed from
     * the secret (only the verdict is public). */
    uint8_t diff = 0;
    for (size_t i = 0; i < sizeof sum; i++) diff |= (uint8_t)(sum[i] ^ d[body + i]);
    if (beaa_ct_public(diff)) return BEAA_ERR_CHECKSUM; /* the verdict is public (lib/ct.h) */
    if (expect_type != BEAA_OBJ_NONE && hi.type != expect_type) return BEAA_ERR_FORMAT;
    if (expect_fp && memcmp(expect_fp, hi.fingerprint, BEAA_SERIAL_FINGERPRINT_BYTES) != 0)
        return BEAA_ERR_PARAMS_MISMATCH;
    beaa_serial_reader_init(payload, d + BEAA_SERIAL_HEADER_BYTES, plen);
    if (info) *info = hi;
    if (consumed) *consumed = body + BEAA_SERIAL_CHECKSUM_BYTES;
    return BEAA_OK;
}
