/* stream.h - a file holding many serialized objects (e.g. 10,000s of ciphertexts), written and
 * read one object at a time so that only one object is ever in memory.
 * Layout: a header envelope (type BEAA_OBJ_STREAM: element type, count, user metadata), then
 * `count` complete envelopes of the element type, all with the stream's fingerprint. */
#ifndef BEAA_STREAM_H
#define BEAA_STREAM_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "lib/serial.h"

#define BEAA_STREAM_MAX_META ((size_t)1 << 20) /* user metadata bound: 1 MiB */

/* ---------------------------------------------------------------- writer */

typedef struct beaa_stream_writer beaa_stream_writer;

/* Starts writing a stream file at path. Objects go to a temporary file next to path; the final
 * name appears only at beaa_stream_writer_close (so a crash never leaves a half file under the
 * real name). overwrite 0: BEAA_ERR_EXISTS if path exists (checked now and again at close).
 * elem_type: the type every appended object must have; fingerprint (32 bytes, may be NULL for
 * zeros): the parameter set every object must carry; meta (meta_len <= BEAA_STREAM_MAX_META
 * bytes, may be NULL when 0): application data stored in the header (e.g. tensor shape).
 * Errors: BEAA_ERR_ARG, BEAA_ERR_EXISTS, BEAA_ERR_IO, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_stream_writer_open(const char *path, int overwrite,
                                                     uint32_t elem_type, const uint8_t *fingerprint,
                                                     const void *meta, size_t meta_len,
                                                     beaa_stream_writer **out);
/* Appends one complete envelope (obj[0..len), e.g. the output of a ckks serializer). Its header
 * must parse, have the stream's element type and fingerprint, and its length must be exactly
 * len (BEAA_ERR_ARG otherwise; the checksum is not recomputed here). BEAA_ERR_IO on write
 * failure; after any error the writer can only be aborted. */
BEAA_MUST_CHECK beaa_status beaa_stream_writer_append(beaa_stream_writer *w, const void *obj,
                                                       size_t len);
/* Objects appended so far. */
uint64_t beaa_stream_writer_count(const beaa_stream_writer *w);
/* Writes the final count into the header, fsyncs, moves the file into place and frees w (also
 * on error, in which case the temporary file is removed). BEAA_ERR_EXISTS, BEAA_ERR_IO. */
BEAA_MUST_CHECK beaa_status beaa_stream_writer_close(beaa_stream_writer *w);
/* Abandons the stream: removes the temporary file and frees w (NULL allowed). */
void beaa_stream_writer_abort(beaa_stream_writer *w);

/* ---------------------------------------------------------------- reader */

typedef struct beaa_stream_reader beaa_stream_reader;

/* Opens a stream file and checks its header (BEAA_ERR_FORMAT, BEAA_ERR_TRUNCATED,
 * BEAA_ERR_CHECKSUM, BEAA_ERR_CORRUPT for bad fields, BEAA_ERR_TRUNCATED when the file is too
 * short for its header or for the count it declares).
 * expect_type: required element type (BEAA_OBJ_NONE: any); expect_fp: required fingerprint
 * (NULL: any; BEAA_ERR_PARAMS_MISMATCH otherwise). max_obj_bytes bounds one object's size
 * (0: no bound): a larger one gives BEAA_ERR_MEMORY_LIMIT when reached. BEAA_ERR_NOT_FOUND if
 * there is no file at path, BEAA_ERR_IO if it cannot be opened or is not a regular file. */
BEAA_MUST_CHECK beaa_status beaa_stream_reader_open(const char *path, uint32_t expect_type,
                                                     const uint8_t *expect_fp,
                                                     size_t max_obj_bytes,
                                                     beaa_stream_reader **out);
/* Number of objects, element type, fingerprint (32 bytes) and metadata (*len bytes, NULL if
 * none) from the header; the pointers stay valid until close. */
uint64_t beaa_stream_reader_count(const beaa_stream_reader *r);
uint32_t beaa_stream_reader_elem_type(const beaa_stream_reader *r);
const uint8_t *beaa_stream_reader_fingerprint(const beaa_stream_reader *r);
const uint8_t *beaa_stream_reader_meta(const beaa_stream_reader *r, size_t *len);
/* Index of the next object to be read (0..count). */
uint64_t beaa_stream_reader_index(const beaa_stream_reader *r);
/* Reads the next object: *obj points at one complete envelope of *len bytes inside the reader's
 * buffer, valid until the next call (hand it to the object's loader, which verifies the
 * checksum). The framing is checked here: BEAA_ERR_FORMAT, BEAA_ERR_TRUNCATED (file ends early),
 * BEAA_ERR_CORRUPT (wrong type or fingerprint inside the stream, or bytes after the last
 * object), BEAA_ERR_MEMORY_LIMIT, BEAA_ERR_IO; BEAA_ERR_ARG when all objects were read. */
BEAA_MUST_CHECK beaa_status beaa_stream_reader_next(beaa_stream_reader *r, const uint8_t **obj,
                                                     size_t *len);
/* Skips the next object without reading its payload (seeks). Same errors as next. */
BEAA_MUST_CHECK beaa_status beaa_stream_reader_skip(beaa_stream_reader *r);
/* Positions the reader so that the next beaa_stream_reader_next returns object `index`
 * (0 <= index <= count; count means "at the end"). Object offsets are remembered as objects
 * are passed, so going back costs nothing and going forward reads only the 56-byte headers of
 * the objects in between (checking their framing: same errors as next). BEAA_ERR_ARG if
 * index > count. */
BEAA_MUST_CHECK beaa_status beaa_stream_reader_seek(beaa_stream_reader *r, uint64_t index);
/* Closes the file and frees r (NULL allowed). */
void beaa_stream_reader_close(beaa_stream_reader *r);

#endif
