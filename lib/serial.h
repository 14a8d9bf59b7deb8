/* serial.h - bounded little-endian byte writer/reader and the checked object envelope that every
 * libbeaa file and message uses ("BEAA" magic, format version, object type, parameter-set
 * fingerprint, payload length, payload, 16-byte SHAKE256 checksum: plain up to 256 KiB, a
 * two-level SHAKE256 tree hashed on all cores above; see docs/serialization.md). */
#ifndef BEAA_SERIAL_H
#define BEAA_SERIAL_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"

/* ---------------------------------------------------------------- writer */

/* A growable output buffer with an upper bound. Zero-initialize it (or beaa_serial_writer_init)
 * before use. Errors are sticky: after the first failure every later write is a no-op that
 * returns the same status, so a sequence of writes can be checked once at the end (err).
 * Growth never leaves stale copies behind: the old buffer is wiped before it is freed, so a
 * writer may hold secret-key bytes (free it with beaa_serial_writer_free_secret then). */
typedef struct beaa_serial_writer {
    uint8_t *buf;     /* len bytes of output, owned (beaa_alloc) */
    size_t len;       /* bytes written */
    size_t cap;       /* bytes allocated */
    size_t limit;     /* maximum len; 0 means no limit (SIZE_MAX) */
    beaa_status err;  /* first error, BEAA_OK if none */
} beaa_serial_writer;

/* Empty writer that refuses to grow above `limit` bytes (0: no limit) with BEAA_ERR_MEMORY_LIMIT. */
void beaa_serial_writer_init(beaa_serial_writer *w, size_t limit);
/* Makes room for `extra` more bytes now (avoids repeated growth for a known size).
 * BEAA_ERR_NOMEM, BEAA_ERR_MEMORY_LIMIT, or the sticky error. */
BEAA_MUST_CHECK beaa_status beaa_serial_writer_reserve(beaa_serial_writer *w, size_t extra);
/* Frees the buffer (NULL allowed) and resets the writer to empty. */
void beaa_serial_writer_free(beaa_serial_writer *w);
/* Wipes the written bytes, then frees (for buffers that held secrets). */
void beaa_serial_writer_free_secret(beaa_serial_writer *w);
/* Empties the writer but keeps its buffer and limit (reuse for the next object; clears a sticky
 * error). Does not wipe: use beaa_serial_writer_free_secret for secrets. */
void beaa_serial_writer_reset(beaa_serial_writer *w);
/* Hands the buffer to the caller (free with beaa_free or beaa_free_secret) and resets w.
 * Returns NULL (and frees nothing) if w has a sticky error or is empty. */
uint8_t *beaa_serial_writer_take(beaa_serial_writer *w, size_t *len);

/* Appends fixed-size little-endian values. Return BEAA_OK or the (sticky) error. */
BEAA_MUST_CHECK beaa_status beaa_serial_write_u8(beaa_serial_writer *w, uint8_t v);
BEAA_MUST_CHECK beaa_status beaa_serial_write_u32(beaa_serial_writer *w, uint32_t v);
BEAA_MUST_CHECK beaa_status beaa_serial_write_u64(beaa_serial_writer *w, uint64_t v);
/* IEEE-754 binary64 bit pattern as a little-endian u64 (NaN and inf are stored as they are). */
BEAA_MUST_CHECK beaa_status beaa_serial_write_f64(beaa_serial_writer *w, double v);
/* n raw bytes (src may be NULL only when n == 0). */
BEAA_MUST_CHECK beaa_status beaa_serial_write_bytes(beaa_serial_writer *w, const void *src, size_t n);
/* n words as little-endian u64 (the bulk path for polynomial limbs). */
BEAA_MUST_CHECK beaa_status beaa_serial_write_u64_array(beaa_serial_writer *w, const uint64_t *src,
                                                         size_t n);

/* ---------------------------------------------------------------- reader */

/* A read cursor over caller-owned memory: every read checks the remaining length first and
 * fails with BEAA_ERR_TRUNCATED (consuming nothing) when too few bytes are left. */
typedef struct beaa_serial_reader {
    const uint8_t *p;  /* next unread byte */
    size_t left;       /* bytes remaining */
} beaa_serial_reader;

/* Reader over data[0..len). */
void beaa_serial_reader_init(beaa_serial_reader *r, const void *data, size_t len);
BEAA_MUST_CHECK beaa_status beaa_serial_read_u8(beaa_serial_reader *r, uint8_t *v);
BEAA_MUST_CHECK beaa_status beaa_serial_read_u32(beaa_serial_reader *r, uint32_t *v);
BEAA_MUST_CHECK beaa_status beaa_serial_read_u64(beaa_serial_reader *r, uint64_t *v);
BEAA_MUST_CHECK beaa_status beaa_serial_read_f64(beaa_serial_reader *r, double *v);
/* Copies n bytes into dst. */
BEAA_MUST_CHECK beaa_status beaa_serial_read_bytes(beaa_serial_reader *r, void *dst, size_t n);
/* n little-endian u64 words into dst (n * 8 bytes; overflow-safe). */
BEAA_MUST_CHECK beaa_status beaa_serial_read_u64_array(beaa_serial_reader *r, uint64_t *dst,
                                                        size_t n);
/* Points *view at the next n bytes without copying (valid as long as the underlying data) and
 * advances past them. */
BEAA_MUST_CHECK beaa_status beaa_serial_read_view(beaa_serial_reader *r, const uint8_t **view,
                                                   size_t n);
/* Skips n bytes. */
BEAA_MUST_CHECK beaa_status beaa_serial_read_skip(beaa_serial_reader *r, size_t n);

/* ---------------------------------------------------------------- envelope */

#define BEAA_SERIAL_MAGIC "BEAA"          /* 4 bytes, not NUL-terminated in the data */
#define BEAA_SERIAL_VERSION 1u            /* envelope format version written and accepted */
#define BEAA_SERIAL_FINGERPRINT_BYTES 32  /* parameter-set fingerprint (see ckks/params.h) */
#define BEAA_SERIAL_CHECKSUM_BYTES 16     /* SHAKE256 of header || payload; tree above 256 KiB */
#define BEAA_SERIAL_HEADER_BYTES 56       /* magic 4, version 4, type 4, flags 4, fp 32, len 8 */
#define BEAA_SERIAL_OVERHEAD (BEAA_SERIAL_HEADER_BYTES + BEAA_SERIAL_CHECKSUM_BYTES)

/* Object types. Values are part of the file format: never renumber, only append. */
typedef enum beaa_serial_type {
    BEAA_OBJ_NONE = 0,
    BEAA_OBJ_PARAMS = 1,        /* CKKS parameter spec */
    BEAA_OBJ_SECRET_KEY = 2,
    BEAA_OBJ_PUBLIC_KEY = 3,
    BEAA_OBJ_RELIN_KEY = 4,
    BEAA_OBJ_GALOIS_KEYS_V1 = 5, /* retired: keys phi_g(s) -> s (before 2026-11); refused */
    BEAA_OBJ_PLAINTEXT = 6,
    BEAA_OBJ_CIPHERTEXT = 7,
    BEAA_OBJ_STREAM = 8,        /* header of a streamed container (lib/stream.h) */
    BEAA_OBJ_GALOIS_KEYS = 9,   /* keys s -> phi_g^-1(s) (ckks/keys.h) */
    BEAA_OBJ_MODEL = 16,        /* reserved for nn/ model files */
    BEAA_OBJ_CHECKPOINT = 17,   /* reserved for train/ checkpoints */
    BEAA_OBJ_USER = 0x10000     /* first value free for applications */
} beaa_serial_type;

/* Decoded envelope header. */
typedef struct beaa_serial_info {
    uint32_t version;
    uint32_t type;
    uint32_t flags;                                   /* object-specific bits */
    uint8_t fingerprint[BEAA_SERIAL_FINGERPRINT_BYTES];
    uint64_t payload_len;
} beaa_serial_info;

/* Starts an envelope in w: writes the 56-byte header with payload length 0 and returns in *mark
 * the offset of the header. Write the payload with the write functions, then call
 * beaa_serial_envelope_end. fingerprint may be NULL (all zeros: "no parameter set"). */
BEAA_MUST_CHECK beaa_status beaa_serial_envelope_begin(beaa_serial_writer *w, uint32_t type,
                                                        uint32_t flags, const uint8_t *fingerprint,
                                                        size_t *mark);
/* Patches the payload length of the envelope begun at mark and appends the checksum. */
BEAA_MUST_CHECK beaa_status beaa_serial_envelope_end(beaa_serial_writer *w, size_t mark);

/* Parses only the 56-byte header at data (no checksum): BEAA_ERR_FORMAT (magic, version),
 * BEAA_ERR_TRUNCATED (fewer than 56 bytes). Used by stream readers to frame objects. */
BEAA_MUST_CHECK beaa_status beaa_serial_header_parse(const void *data, size_t len,
                                                      beaa_serial_info *info);

/* Opens the envelope at the start of data[0..len): checks, in this order, magic and version
 * (BEAA_ERR_FORMAT), that header, payload and checksum fit in len (BEAA_ERR_TRUNCATED), the
 * checksum (BEAA_ERR_CHECKSUM), the type (BEAA_ERR_FORMAT unless expect_type is BEAA_OBJ_NONE or
 * equal), and the fingerprint (BEAA_ERR_PARAMS_MISMATCH if expect_fp is non-NULL and differs).
 * On success *payload reads the payload in place, *info (may be NULL) is filled, and *consumed
 * (may be NULL) is the envelope's total size (bytes after it are not looked at). */
BEAA_MUST_CHECK beaa_status beaa_serial_envelope_open(const void *data, size_t len,
                                                       uint32_t expect_type,
                                                       const uint8_t *expect_fp,
                                                       beaa_serial_reader *payload,
                                                       beaa_serial_info *info, size_t *consumed);

/* An 8-message SHAKE256, out[j][0..outlen) = SHAKE256(in[j][0..len)) for j < 8, that the
 * checksums of bodies larger than one 256 KiB leaf use for their full leaves, 8 at a time; NULL
 * (the default): one leaf after the other. The kernel dispatch (ckks/kernels/dispatch.c) sets
 * the AVX-512 one (8 Keccak states in the lanes of one permutation) where it runs. The
 * checksums are the same either way. */
typedef void (*beaa_serial_hash8_fn)(uint8_t *const *out, size_t outlen, const uint8_t *const *in,
                                     size_t len);
void beaa_serial_set_hash8(beaa_serial_hash8_fn fn);

#endif
