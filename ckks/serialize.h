/* serialize.h - CKKS objects to bytes and files and back: parameter set, secret, public,
 * relinearization and Galois keys, plaintexts, ciphertexts. Every object is one checked envelope
 * (lib/serial.h) carrying the parameter-set fingerprint; limbs are bit-packed to the size of
 * their prime, and pseudo-random 'a' parts are stored as their 32-byte XOF seed when possible. */
#ifndef BEAA_CKKS_SERIALIZE_H
#define BEAA_CKKS_SERIALIZE_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "lib/serial.h"
#include "ckks/params.h"
#include "ckks/types.h"
#include "ckks/keys.h"

/* Common rules for every function below.
 * - serialize: appends one envelope to w (a beaa_serial_writer, see lib/serial.h). Secret-key
 *   bytes in w must be wiped: free w with beaa_serial_writer_free_secret.
 * - deserialize: reads the envelope at data[0..len) (bytes after it are ignored) and allocates
 *   *out, owned by the caller. The object must belong to ctx's parameter set. Errors:
 *   BEAA_ERR_ARG (NULL), BEAA_ERR_FORMAT (not a libbeaa object, unknown version, wrong object
 *   type), BEAA_ERR_TRUNCATED, BEAA_ERR_CHECKSUM, BEAA_ERR_PARAMS_MISMATCH (other parameter set),
 *   BEAA_ERR_CORRUPT (a field out of range, e.g. a residue >= its prime, level > L, a scale that
 *   is not finite and positive), BEAA_ERR_NOMEM. Nothing is allocated on error.
 * - save: serializes to path atomically (lib/fileio.h); overwrite 0 refuses an existing file
 *   (BEAA_ERR_EXISTS); BEAA_ERR_IO on write errors. Files are created with mode 0600.
 * - load: reads path (bounded by the object's largest possible size for ctx) and deserializes;
 *   BEAA_ERR_NOT_FOUND if there is no file at path, BEAA_ERR_IO if it cannot be read,
 *   BEAA_ERR_MEMORY_LIMIT if it is larger than any valid object of that kind. */

/* Size in bytes of a limb of N residues mod a prime of `bits` bits, as stored (bit-packed). */
size_t beaa_ckks_serial_limb_bytes(size_t n, unsigned bits);
/* Packs n residues (each below 2^bits) into dst (limb_bytes(n, bits) bytes), least significant
 * bit first (little endian). */
void beaa_ckks_serial_pack_limb(uint8_t *dst, const uint64_t *v, size_t n, unsigned bits);
/* Unpacks n residues of m->bits bits each from src (limb_bytes(n, m->bits) bytes) into out,
 * checking that every one is < m->q and that the unused high bits of the last byte are zero (one
 * canonical encoding). Returns 0 if all is well, 1 otherwise. */
int beaa_ckks_serial_unpack_limb(const uint8_t *src, uint64_t *out, size_t n,
                                 const beaa_modulus *m);
/* The same for `count` consecutive limbs of ctx (limb j at data + j*N, prime k0 + j in the
 * extended numbering: data primes, then special primes), packed one after the other into
 * beaa_ckks_serial_limbs_bytes(ctx, k0, count) bytes, in parallel (OpenMP) over the limbs.
 * unpack returns 0 if all is well, 1 if some limb is not canonical (see above). */
size_t beaa_ckks_serial_limbs_bytes(const beaa_ckks_context *ctx, unsigned k0, unsigned count);
void beaa_ckks_serial_pack_limbs(const beaa_ckks_context *ctx, uint8_t *dst, const uint64_t *data,
                                 unsigned k0, unsigned count);
int beaa_ckks_serial_unpack_limbs(const beaa_ckks_context *ctx, const uint8_t *src, uint64_t *data,
                                  unsigned k0, unsigned count);

/* ---- parameter set (the spec, the primes it produced, and the fingerprint) ---- */

BEAA_MUST_CHECK beaa_status beaa_ckks_params_serialize(const beaa_ckks_context *ctx,
                                                        beaa_serial_writer *w);
/* Rebuilds a context from a serialized parameter set. allow_insecure: whether a set above the
 * 128-bit bound may be loaded (the flag is deliberately not taken from the file);
 * BEAA_ERR_INSECURE otherwise. BEAA_ERR_PARAMS_MISMATCH if this library generates other primes
 * or another fingerprint for the stored spec. *out: free with beaa_ckks_context_free. */
BEAA_MUST_CHECK beaa_status beaa_ckks_params_deserialize(const void *data, size_t len,
                                                          int allow_insecure,
                                                          beaa_ckks_context **out);
BEAA_MUST_CHECK beaa_status beaa_ckks_params_save(const beaa_ckks_context *ctx, const char *path,
                                                   int overwrite);
BEAA_MUST_CHECK beaa_status beaa_ckks_params_load(const char *path, int allow_insecure,
                                                   beaa_ckks_context **out);

/* ---- secret key (N ternary coefficients, 2 bits each; wiped everywhere after use) ---- */

BEAA_MUST_CHECK beaa_status beaa_ckks_secret_key_serialize(const beaa_ckks_secret_key *sk,
                                                            beaa_serial_writer *w);
BEAA_MUST_CHECK beaa_status beaa_ckks_secret_key_deserialize(const beaa_ckks_context *ctx,
                                                              const void *data, size_t len,
                                                              beaa_ckks_secret_key **out);
BEAA_MUST_CHECK beaa_status beaa_ckks_secret_key_save(const beaa_ckks_secret_key *sk,
                                                       const char *path, int overwrite);
BEAA_MUST_CHECK beaa_status beaa_ckks_secret_key_load(const beaa_ckks_context *ctx,
                                                       const char *path,
                                                       beaa_ckks_secret_key **out);

/* ---- public, relinearization and Galois keys ----
 * full = 0 stores each uniform 'a' part as the key's 32-byte seed (half the size; loading
 * re-expands it with the XOF, which also costs time) when the 'a' limbs are that seed's
 * expansion (spot-checked on 8 coefficients of the first and last limb of each part; otherwise
 * the full form is written, so a key whose 'a' parts did not come from its seed field is never
 * stored wrongly); full = 1 always stores every limb (faster to load). */

BEAA_MUST_CHECK beaa_status beaa_ckks_public_key_serialize(const beaa_ckks_public_key *pk, int full,
                                                            beaa_serial_writer *w);
BEAA_MUST_CHECK beaa_status beaa_ckks_public_key_deserialize(const beaa_ckks_context *ctx,
                                                              const void *data, size_t len,
                                                              beaa_ckks_public_key **out);
BEAA_MUST_CHECK beaa_status beaa_ckks_public_key_save(const beaa_ckks_public_key *pk, int full,
                                                       const char *path, int overwrite);
BEAA_MUST_CHECK beaa_status beaa_ckks_public_key_load(const beaa_ckks_context *ctx,
                                                       const char *path,
                                                       beaa_ckks_public_key **out);

BEAA_MUST_CHECK beaa_status beaa_ckks_relin_key_serialize(const beaa_ckks_relin_key *rk, int full,
                                                           beaa_serial_writer *w);
BEAA_MUST_CHECK beaa_status beaa_ckks_relin_key_deserialize(const beaa_ckks_context *ctx,
                                                             const void *data, size_t len,
                                                             beaa_ckks_relin_key **out);
BEAA_MUST_CHECK beaa_status beaa_ckks_relin_key_save(const beaa_ckks_relin_key *rk, int full,
                                                      const char *path, int overwrite);
BEAA_MUST_CHECK beaa_status beaa_ckks_relin_key_load(const beaa_ckks_context *ctx,
                                                      const char *path,
                                                      beaa_ckks_relin_key **out);

/* Galois keys: the element list (odd, < 2N, strictly ascending, at most N/2 + 1 keys) then one
 * switching key per element. */
BEAA_MUST_CHECK beaa_status beaa_ckks_galois_keys_serialize(const beaa_ckks_galois_keys *gk,
                                                             int full, beaa_serial_writer *w);
BEAA_MUST_CHECK beaa_status beaa_ckks_galois_keys_deserialize(const beaa_ckks_context *ctx,
                                                               const void *data, size_t len,
                                                               beaa_ckks_galois_keys **out);
BEAA_MUST_CHECK beaa_status beaa_ckks_galois_keys_save(const beaa_ckks_galois_keys *gk, int full,
                                                        const char *path, int overwrite);
BEAA_MUST_CHECK beaa_status beaa_ckks_galois_keys_load(const beaa_ckks_context *ctx,
                                                        const char *path,
                                                        beaa_ckks_galois_keys **out);

/* ---- plaintexts and ciphertexts ----
 * A ciphertext with has_seed (a fresh secret-key encryption, size 2, NTT form) is stored with
 * c_1 replaced by its seed, after the same spot check as for keys (a stale has_seed on data
 * written in place falls back to the full form); after loading, c_1 is re-expanded and has_seed
 * is 1 again. */

BEAA_MUST_CHECK beaa_status beaa_ckks_plaintext_serialize(const beaa_ckks_plaintext *pt,
                                                           beaa_serial_writer *w);
BEAA_MUST_CHECK beaa_status beaa_ckks_plaintext_deserialize(const beaa_ckks_context *ctx,
                                                             const void *data, size_t len,
                                                             beaa_ckks_plaintext **out);
BEAA_MUST_CHECK beaa_status beaa_ckks_plaintext_save(const beaa_ckks_plaintext *pt,
                                                      const char *path, int overwrite);
BEAA_MUST_CHECK beaa_status beaa_ckks_plaintext_load(const beaa_ckks_context *ctx,
                                                      const char *path,
                                                      beaa_ckks_plaintext **out);

BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_serialize(const beaa_ckks_ciphertext *ct,
                                                            beaa_serial_writer *w);
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_deserialize(const beaa_ckks_context *ctx,
                                                              const void *data, size_t len,
                                                              beaa_ckks_ciphertext **out);
/* Same, into an existing ciphertext (re-shaped as needed; for loops over a stream of many
 * ciphertexts without reallocating). On error *ct's contents are unspecified. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_deserialize_into(const void *data, size_t len,
                                                                   beaa_ckks_ciphertext *ct);
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_save(const beaa_ckks_ciphertext *ct,
                                                       const char *path, int overwrite);
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_load(const beaa_ckks_context *ctx,
                                                       const char *path,
                                                       beaa_ckks_ciphertext **out);

/* Largest serialized size of a ciphertext for ctx (size 3, top level, no seed): a safe
 * max_obj_bytes for beaa_stream_reader_open on ciphertext streams. */
size_t beaa_ckks_ciphertext_max_bytes(const beaa_ckks_context *ctx);

#endif
