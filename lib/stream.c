/* stream.c - many-object container files, written and read one object at a time (stream.h).
 * Header envelope payload: u32 element type, u32 reserved (0), u64 count, u64 meta length,
 * meta bytes. The writer writes the header with count 0 first and rewrites it (same size, new
 * checksum) at close; the file reaches its final name only then. */
#include "lib/stream.h"
#include "lib/fileio.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STREAM_FIXED_PAYLOAD 24 /* elem type, reserved, count, meta length */

/* Builds the header envelope into w (reset first). */
static beaa_status stream_header_build(beaa_serial_writer *w, uint32_t elem_type,
                                       const uint8_t *fp, uint64_t count, const void *meta,
                                       size_t meta_len)
{
    size_t mark;
    beaa_serial_writer_reset(w);
    beaa_status s = beaa_serial_envelope_begin(w, BEAA_OBJ_STREAM, 0, fp, &mark);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, elem_type);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, 0);
    if (s == BEAA_OK) s = beaa_serial_write_u64(w, count);
    if (s == BEAA_OK) s = beaa_serial_write_u64(w, (uint64_t)meta_len);
    if (s == BEAA_OK) s = beaa_serial_write_bytes(w, meta, meta_len);
    if (s == BEAA_OK) s = beaa_serial_envelope_end(w, mark);
    return s;
}

/* ---------------------------------------------------------------- writer */

struct beaa_stream_writer {
    int fd;
    int overwrite;
    int failed;                 /* an append failed: only abort is allowed */
    char *path;
    char *tmp_path;
    uint32_t elem_type;
    uint8_t fp[BEAA_SERIAL_FINGERPRINT_BYTES];
    uint8_t *meta;
    size_t meta_len;
    uint64_t count;
};

static void stream_writer_free(beaa_stream_writer *w)
{
    free(w->path);
    free(w->tmp_path);
    free(w->meta);
    free(w);
}

beaa_status beaa_stream_writer_open(const char *path, int overwrite, uint32_t elem_type,
                                    const uint8_t *fingerprint, const void *meta, size_t meta_len,
                                    beaa_stream_writer **out)
{
    if (!path || !out || (!meta && meta_len > 0) || meta_len > BEAA_STREAM_MAX_META)
        return BEAA_ERR_ARG;
    *out = NULL;
    struct stat st;
    if (!overwrite && lstat(path, &st) == 0) return BEAA_ERR_EXISTS;
    beaa_stream_writer *w = calloc(1, sizeof *w);
    if (!w) return BEAA_ERR_NOMEM;
    w->fd = -1;
    w->overwrite = overwrite ? 1 : 0;
    w->elem_type = elem_type;
    if (fingerprint) memcpy(w->fp, fingerprint, sizeof w->fp);
    size_t cap = strlen(path) + 16;
    w->path = strdup(path);
    w->tmp_path = malloc(cap);
    if (meta_len) w->meta = malloc(meta_len);
    if (!w->path || !w->tmp_path || (meta_len && !w->meta)) {
        stream_writer_free(w);
        return BEAA_ERR_NOMEM;
    }
    if (meta_len) memcpy(w->meta, meta, meta_len);
    w->meta_len = meta_len;
    beaa_status s = beaa_file_temp_create(path, w->tmp_path, cap, &w->fd);
    if (s != BEAA_OK) {
        stream_writer_free(w);
        return s;
    }
    beaa_serial_writer hw;
    beaa_serial_writer_init(&hw, 0);
    s = stream_header_build(&hw, elem_type, w->fp, 0, w->meta, meta_len);
    if (s == BEAA_OK) s = beaa_file_write_fd(w->fd, hw.buf, hw.len);
    beaa_serial_writer_free(&hw);
    if (s != BEAA_OK) {
        beaa_stream_writer_abort(w);
        return s;
    }
    *out = w;
    return BEAA_OK;
}

beaa_status beaa_stream_writer_append(beaa_stream_writer *w, const void *obj, size_t len)
{
    if (!w || !obj) return BEAA_ERR_ARG;
    if (w->failed) return BEAA_ERR_IO;
    beaa_serial_info info;
    if (beaa_serial_header_parse(obj, len, &info) != BEAA_OK || info.type != w->elem_type ||
        memcmp(info.fingerprint, w->fp, sizeof w->fp) != 0 ||
        info.payload_len > (uint64_t)(SIZE_MAX - BEAA_SERIAL_OVERHEAD) ||
        (size_t)info.payload_len + BEAA_SERIAL_OVERHEAD != len)
        return BEAA_ERR_ARG;
    beaa_status s = beaa_file_write_fd(w->fd, obj, len);
    if (s != BEAA_OK) {
        w->failed = 1;
        return s;
    }
    w->count++;
    return BEAA_OK;
}

uint64_t beaa_stream_writer_count(const beaa_stream_writer *w)
{
    return w ? w->count : 0;
}

void beaa_stream_writer_abort(beaa_stream_writer *w)
{
    if (!w) return;
    beaa_file_temp_abort(w->fd, w->tmp_path);
    stream_writer_free(w);
}

beaa_status beaa_stream_writer_close(beaa_stream_writer *w)
{
    if (!w) return BEAA_ERR_ARG;
    if (w->failed) {
        beaa_stream_writer_abort(w);
        return BEAA_ERR_IO;
    }
    beaa_serial_writer hw;
    beaa_serial_writer_init(&hw, 0);
    beaa_status s = stream_header_build(&hw, w->elem_type, w->fp, w->count, w->meta, w->meta_len);
    if (s == BEAA_OK) {
        /* Same size as the placeholder header: rewrite it in place. */
        size_t off = 0;
        while (off < hw.len) {
            ssize_t r = pwrite(w->fd, hw.buf + off, hw.len - off, (off_t)off);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) { s = BEAA_ERR_IO; break; }
            off += (size_t)r;
        }
    }
    beaa_serial_writer_free(&hw);
    if (s != BEAA_OK) {
        beaa_stream_writer_abort(w);
        return s;
    }
    s = beaa_file_temp_commit(w->fd, w->tmp_path, w->path, w->overwrite);
    w->fd = -1; /* commit closed it (and removed the temp file on error) */
    stream_writer_free(w);
    return s;
}

/* ---------------------------------------------------------------- reader */

struct beaa_stream_reader {
    int fd;
    uint64_t file_size;
    uint64_t pos;              /* offset of the next object */
    uint64_t count, index;
    uint32_t elem_type;
    uint8_t fp[BEAA_SERIAL_FINGERPRINT_BYTES];
    uint8_t *meta;
    size_t meta_len;
    size_t max_obj;            /* bound on one object's size */
    uint8_t *buf;              /* current object */
    size_t cap;
    uint64_t *offs;            /* offs[i]: file offset of object i, known for i <= known */
    uint64_t known, offs_cap;
};

/* Reads exactly n bytes at offset off: BEAA_ERR_TRUNCATED at an early end of file. */
static beaa_status read_exact_at(int fd, void *dst, size_t n, uint64_t off)
{
    uint8_t *p = (uint8_t *)dst;
    while (n > 0) {
        size_t want = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t r = pread(fd, p, want, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return BEAA_ERR_IO;
        if (r == 0) return BEAA_ERR_TRUNCATED;
        p += (size_t)r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return BEAA_OK;
}

void beaa_stream_reader_close(beaa_stream_reader *r)
{
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    free(r->offs);
    free(r->meta);
    beaa_free(r->buf);
    free(r);
}

beaa_status beaa_stream_reader_open(const char *path, uint32_t expect_type,
                                    const uint8_t *expect_fp, size_t max_obj_bytes,
                                    beaa_stream_reader **out)
{
    if (!path || !out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_stream_reader *r = calloc(1, sizeof *r);
    if (!r) return BEAA_ERR_NOMEM;
    r->max_obj = max_obj_bytes ? max_obj_bytes : SIZE_MAX - 128;
    do {
        r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    } while (r->fd < 0 && errno == EINTR);
    struct stat st;
    if (r->fd < 0 || fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        beaa_status s = r->fd < 0 && errno == ENOENT ? BEAA_ERR_NOT_FOUND : BEAA_ERR_IO;
        beaa_stream_reader_close(r);
        return s;
    }
    r->file_size = (uint64_t)st.st_size;

    uint8_t head[BEAA_SERIAL_HEADER_BYTES];
    size_t have = r->file_size < sizeof head ? (size_t)r->file_size : sizeof head;
    beaa_serial_info info;
    beaa_status s = read_exact_at(r->fd, head, have, 0);
    if (s == BEAA_OK) s = beaa_serial_header_parse(head, have, &info);
    if (s == BEAA_OK && info.type != BEAA_OBJ_STREAM) s = BEAA_ERR_FORMAT;
    uint64_t total = 0;
    if (s == BEAA_OK) {
        if (info.payload_len < STREAM_FIXED_PAYLOAD ||
            info.payload_len > STREAM_FIXED_PAYLOAD + BEAA_STREAM_MAX_META)
            s = BEAA_ERR_CORRUPT;
        total = info.payload_len + BEAA_SERIAL_OVERHEAD;
        if (s == BEAA_OK && total > r->file_size) s = BEAA_ERR_TRUNCATED;
    }
    uint8_t *hbuf = NULL;
    if (s == BEAA_OK) {
        hbuf = malloc((size_t)total);
        if (!hbuf) s = BEAA_ERR_NOMEM;
    }
    if (s == BEAA_OK) s = read_exact_at(r->fd, hbuf, (size_t)total, 0);
    beaa_serial_reader pr;
    if (s == BEAA_OK)
        s = beaa_serial_envelope_open(hbuf, (size_t)total, BEAA_OBJ_STREAM, expect_fp, &pr,
                                      NULL, NULL);
    uint32_t elem = 0, reserved = 0;
    uint64_t count = 0, meta_len = 0;
    if (s == BEAA_OK) s = beaa_serial_read_u32(&pr, &elem);
    if (s == BEAA_OK) s = beaa_serial_read_u32(&pr, &reserved);
    if (s == BEAA_OK) s = beaa_serial_read_u64(&pr, &count);
    if (s == BEAA_OK) s = beaa_serial_read_u64(&pr, &meta_len);
    if (s == BEAA_OK && (reserved != 0 || meta_len != pr.left)) s = BEAA_ERR_CORRUPT;
    if (s == BEAA_OK && expect_type != BEAA_OBJ_NONE && elem != expect_type) s = BEAA_ERR_FORMAT;
    /* Every object takes at least the envelope overhead: a count the rest of the file cannot
     * hold means the file was cut short. */
    if (s == BEAA_OK && count > (r->file_size - total) / BEAA_SERIAL_OVERHEAD)
        s = BEAA_ERR_TRUNCATED;
    if (s == BEAA_OK && meta_len > 0) {
        r->meta = malloc((size_t)meta_len);
        if (!r->meta) s = BEAA_ERR_NOMEM;
        else memcpy(r->meta, pr.p, (size_t)meta_len);
    }
    if (s == BEAA_OK) {
        r->meta_len = (size_t)meta_len;
        r->elem_type = elem;
        r->count = count;
        memcpy(r->fp, info.fingerprint, sizeof r->fp);
        r->pos = total;
        if (count == 0 && r->pos != r->file_size) s = BEAA_ERR_CORRUPT;
    }
    if (s == BEAA_OK) {
        r->offs_cap = 64;
        r->offs = malloc(r->offs_cap * sizeof *r->offs);
        if (!r->offs) s = BEAA_ERR_NOMEM;
        else r->offs[0] = total;
    }
    free(hbuf);
    if (s != BEAA_OK) {
        beaa_stream_reader_close(r);
        return s;
    }
    *out = r;
    return BEAA_OK;
}

uint64_t beaa_stream_reader_count(const beaa_stream_reader *r) { return r ? r->count : 0; }
uint32_t beaa_stream_reader_elem_type(const beaa_stream_reader *r) { return r ? r->elem_type : 0; }
const uint8_t *beaa_stream_reader_fingerprint(const beaa_stream_reader *r)
{
    return r ? r->fp : NULL;
}
uint64_t beaa_stream_reader_index(const beaa_stream_reader *r) { return r ? r->index : 0; }

const uint8_t *beaa_stream_reader_meta(const beaa_stream_reader *r, size_t *len)
{
    if (len) *len = r ? r->meta_len : 0;
    return r ? r->meta : NULL;
}

/* Reads and checks the next object's header; *total is its full envelope size. */
static beaa_status stream_next_frame(beaa_stream_reader *r, uint8_t head[BEAA_SERIAL_HEADER_BYTES],
                                     size_t *total)
{
    if (r->index >= r->count) return BEAA_ERR_ARG;
    uint64_t rest = r->file_size - r->pos;
    size_t have = rest < BEAA_SERIAL_HEADER_BYTES ? (size_t)rest : BEAA_SERIAL_HEADER_BYTES;
    beaa_serial_info info;
    beaa_status s = read_exact_at(r->fd, head, have, r->pos);
    if (s != BEAA_OK) return s;
    s = beaa_serial_header_parse(head, have, &info);
    if (s != BEAA_OK) return s;
    if (info.type != r->elem_type || memcmp(info.fingerprint, r->fp, sizeof r->fp) != 0)
        return BEAA_ERR_CORRUPT;
    if (info.payload_len > (uint64_t)r->max_obj ||
        info.payload_len + BEAA_SERIAL_OVERHEAD > (uint64_t)r->max_obj)
        return BEAA_ERR_MEMORY_LIMIT;
    uint64_t t = info.payload_len + BEAA_SERIAL_OVERHEAD;
    if (t > rest) return BEAA_ERR_TRUNCATED;
    /* The last object must end exactly at the end of the file. */
    if (r->index + 1 == r->count && t != rest) return BEAA_ERR_CORRUPT;
    *total = (size_t)t;
    return BEAA_OK;
}

/* Moves past the current object (total bytes) and records where the next one starts. */
static beaa_status stream_advance(beaa_stream_reader *r, size_t total)
{
    r->pos += total;
    r->index++;
    if (r->index == r->known + 1) { /* extend the table of known starts by one */
        if (r->index >= r->offs_cap) {
            uint64_t ncap = r->offs_cap * 2;
            uint64_t *no = realloc(r->offs, (size_t)ncap * sizeof *no);
            if (!no) return BEAA_OK; /* only a cache: seek then walks from the last known start */
            r->offs = no;
            r->offs_cap = ncap;
        }
        r->offs[r->index] = r->pos;
        r->known = r->index;
    }
    return BEAA_OK;
}

beaa_status beaa_stream_reader_next(beaa_stream_reader *r, const uint8_t **obj, size_t *len)
{
    if (!r || !obj || !len) return BEAA_ERR_ARG;
    uint8_t head[BEAA_SERIAL_HEADER_BYTES];
    size_t total;
    beaa_status s = stream_next_frame(r, head, &total);
    if (s != BEAA_OK) return s;
    if (total > r->cap) {
        uint8_t *nb = beaa_alloc(total);
        if (!nb) return BEAA_ERR_NOMEM;
        beaa_free(r->buf);
        r->buf = nb;
        r->cap = total;
    }
    memcpy(r->buf, head, BEAA_SERIAL_HEADER_BYTES);
    s = read_exact_at(r->fd, r->buf + BEAA_SERIAL_HEADER_BYTES, total - BEAA_SERIAL_HEADER_BYTES,
                      r->pos + BEAA_SERIAL_HEADER_BYTES);
    if (s != BEAA_OK) return s;
    (void)stream_advance(r, total);
    *obj = r->buf;
    *len = total;
    return BEAA_OK;
}

beaa_status beaa_stream_reader_skip(beaa_stream_reader *r)
{
    if (!r) return BEAA_ERR_ARG;
    uint8_t head[BEAA_SERIAL_HEADER_BYTES];
    size_t total;
    beaa_status s = stream_next_frame(r, head, &total);
    if (s != BEAA_OK) return s;
    return stream_advance(r, total);
}

beaa_status beaa_stream_reader_seek(beaa_stream_reader *r, uint64_t index)
{
    if (!r || index > r->count) return BEAA_ERR_ARG;
    /* offs[0..known] are valid: jump to index if known, else to the last known start and walk
     * the headers forward from there. */
    uint64_t from = index <= r->known ? index : r->known;
    r->pos = r->offs[from];
    r->index = from;
    while (r->index < index) {
        beaa_status s = beaa_stream_reader_skip(r);
        if (s != BEAA_OK) return s;
    }
    return BEAA_OK;
}
