/* serialize.c - CKKS objects <-> checked envelopes (see serialize.h for the rules and
 * docs/serialization.md for the byte layouts). Residues are bit-packed to the bit length of their
 * prime and range-checked on load; seeded 'a' parts are re-expanded with the core's XOF. */
#include "ckks/serialize.h"
#include "ckks/validate.h"
#include "lib/ct.h"
#include "lib/fileio.h"
#include "lib/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SER_SEEDED 1u /* flags bit: uniform 'a' parts stored as their seed */

/* ---------------------------------------------------------------- packed limbs */

size_t beaa_ckks_serial_limb_bytes(size_t n, unsigned bits)
{
    if (bits == 0 || bits > 64 || n > SIZE_MAX / 64) return 0;
    return (n * bits + 7) / 8;
}

/* Groups of 8 values (`bits` bytes each) that the fast loops below may take: the 8-byte loads and
 * stores of a group reach at most 8 bytes past its first `bits`, which must lie in the limb. */
static size_t fast_groups(size_t n, unsigned bits)
{
    size_t total = beaa_ckks_serial_limb_bytes(n, bits), ng = n / 8;
    if (bits > 56 || total < 8) return 0;
    return ng < (total - 8) / bits ? ng : (total - 8) / bits;
}

void beaa_ckks_serial_pack_limb(uint8_t *dst, const uint64_t *v, size_t n, unsigned bits)
{
    uint8_t *p = dst, *end = dst + beaa_ckks_serial_limb_bytes(n, bits);
    /* up to 56 bits: an 8-byte store per value (the bytes past the value are rewritten by the
     * next store), no 128-bit shifts; 8 values fill `bits` whole bytes */
    const size_t ng = fast_groups(n, bits);
    for (size_t g = 0; g < ng; g++) {
        uint64_t a = 0;
        unsigned nb = 0;
        for (size_t k = 0; k < 8; k++) {
            a |= v[8 * g + k] << nb;
            nb += bits;
            memcpy(p, &a, 8);
            p += nb >> 3;
            a >>= nb & ~7u;
            nb &= 7;
        }
    }
    unsigned __int128 acc = 0;
    unsigned nb = 0;
    for (size_t i = 8 * ng; i < n; i++) {
        acc |= (unsigned __int128)v[i] << nb;
        nb += bits;
        if (nb >= 64) {
            uint64_t word = (uint64_t)acc;
            for (int k = 0; k < 8; k++) p[k] = (uint8_t)(word >> (8 * k));
            p += 8;
            acc >>= 64;
            nb -= 64;
        }
    }
    while (p < end) {
        *p++ = (uint8_t)acc;
        acc >>= 8;
    }
}

int beaa_ckks_serial_unpack_limb(const uint8_t *src, uint64_t *out, size_t n, const beaa_modulus *m)
{
    const unsigned bits = m->bits;
    const uint64_t q = m->q, mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
    const uint8_t *p = src, *end = src + beaa_ckks_serial_limb_bytes(n, bits);
    uint64_t bad = 0;
    const size_t ng = fast_groups(n, bits); /* an 8-byte load per value (see pack) */
    for (size_t g = 0; g < ng; g++) {
        unsigned nb = 0;
        for (size_t k = 0; k < 8; k++) {
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t v = (w >> nb) & mask;
            nb += bits;
            p += nb >> 3;
            nb &= 7;
            bad |= (uint64_t)(v >= q);
            out[8 * g + k] = v;
        }
    }
    unsigned __int128 acc = 0;
    unsigned nb = 0;
    for (size_t i = 8 * ng; i < n; i++) {
        if (nb < bits) {
            uint64_t word = 0;
            size_t avail = (size_t)(end - p);
            unsigned take = avail >= 8 ? 8 : (unsigned)avail;
            for (unsigned k = 0; k < take; k++) word |= (uint64_t)p[k] << (8 * k);
            p += take;
            acc |= (unsigned __int128)word << nb;
            nb += 8 * take;
        }
        uint64_t v = (uint64_t)acc & mask;
        acc >>= bits;
        nb -= bits;
        bad |= (uint64_t)(v >= q);
        out[i] = v;
    }
    return bad || acc != 0 || p != end;
}

/* ---------------------------------------------------------------- seed checks */

/* Whether the first coefficients of `limb` are what the XOF (seed, domain) gives for its prime,
 * i.e. whether the limb really is the seed's expansion (the core expands limb k of every 'a'
 * part as successive beaa_xof_uniform(q_k) draws). Storing a seed for a limb that is not its
 * expansion would silently corrupt the object (e.g. a stale has_seed flag on a ciphertext whose
 * data was overwritten in place), so the serializers spot-check 8 coefficients of the first and
 * last limb of every seeded part (~1 microsecond) and fall back to the full form otherwise. */
#define SEED_CHECK_COEFFS 8

static int seed_matches(const uint8_t seed[BEAA_SEED_BYTES], uint64_t domain, const uint64_t *limb,
                        const beaa_modulus *m)
{
    beaa_xof x;
    beaa_xof_init(&x, seed, domain);
    int ok = 1;
    for (size_t i = 0; i < SEED_CHECK_COEFFS && ok; i++) ok = beaa_xof_uniform(&x, m->q) == limb[i];
    return ok;
}

/* ---------------------------------------------------------------- small helpers */

static beaa_status expect_end(const beaa_serial_reader *r)
{
    return r->left == 0 ? BEAA_OK : BEAA_ERR_CORRUPT;
}

static beaa_status open_obj(const beaa_ckks_context *ctx, const void *data, size_t len,
                            uint32_t type, uint32_t allowed_flags, beaa_serial_reader *pr,
                            uint32_t *flags)
{
    if (!ctx || !data) return BEAA_ERR_ARG;
    beaa_serial_info info;
    beaa_status s = beaa_serial_envelope_open(data, len, type, beaa_ckks_context_fingerprint(ctx),
                                              pr, &info, NULL);
    if (s != BEAA_OK) return s;
    if (info.flags & ~allowed_flags) return BEAA_ERR_CORRUPT;
    *flags = info.flags;
    return BEAA_OK;
}

static size_t ctx_n(const beaa_ckks_context *ctx) { return beaa_ckks_context_n(ctx); }
static unsigned ctx_n_data(const beaa_ckks_context *ctx)
{
    return beaa_ckks_context_max_level(ctx) + 1;
}
static unsigned ctx_n_ext(const beaa_ckks_context *ctx)
{
    return ctx_n_data(ctx) + beaa_ckks_context_n_special(ctx);
}

size_t beaa_ckks_serial_limbs_bytes(const beaa_ckks_context *ctx, unsigned k0, unsigned count)
{
    size_t t = 0;
    for (unsigned k = k0; k < k0 + count; k++)
        t += beaa_ckks_serial_limb_bytes(ctx_n(ctx), beaa_ckks_context_prime(ctx, k)->bits);
    return t;
}

/* off[j] = the byte offset of limb j of a packed run (count + 1 entries) */
static void limb_offsets(const beaa_ckks_context *ctx, unsigned k0, unsigned count, size_t *off)
{
    off[0] = 0;
    for (unsigned j = 0; j < count; j++)
        off[j + 1] = off[j] + beaa_ckks_serial_limb_bytes(ctx_n(ctx), beaa_ckks_context_prime(ctx, k0 + j)->bits);
}

void beaa_ckks_serial_pack_limbs(const beaa_ckks_context *ctx, uint8_t *dst, const uint64_t *data,
                                 unsigned k0, unsigned count)
{
    const size_t n = ctx_n(ctx);
    size_t off[BEAA_CKKS_MAX_PRIMES + BEAA_CKKS_MAX_SPECIAL + 1];
    limb_offsets(ctx, k0, count, off);
#pragma omp parallel for schedule(static) if (count > 1)
    for (int j = 0; j < (int)count; j++)
        beaa_ckks_serial_pack_limb(dst + off[j], data + (size_t)j * n, n,
                                   beaa_ckks_context_prime(ctx, k0 + (unsigned)j)->bits);
}

int beaa_ckks_serial_unpack_limbs(const beaa_ckks_context *ctx, const uint8_t *src, uint64_t *data,
                                  unsigned k0, unsigned count)
{
    const size_t n = ctx_n(ctx);
    size_t off[BEAA_CKKS_MAX_PRIMES + BEAA_CKKS_MAX_SPECIAL + 1];
    limb_offsets(ctx, k0, count, off);
    int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (count > 1)
    for (int j = 0; j < (int)count; j++)
        bad |= beaa_ckks_serial_unpack_limb(src + off[j], data + (size_t)j * n, n,
                                            beaa_ckks_context_prime(ctx, k0 + (unsigned)j));
    return bad;
}

/* Writes / reads `count` consecutive limbs (limb j is prime k0 + j) at data, packed.
 * read_limbs gives BEAA_ERR_CORRUPT for a residue out of range. */
static beaa_status write_limbs(beaa_serial_writer *w, const beaa_ckks_context *ctx,
                               const uint64_t *data, unsigned k0, unsigned count)
{
    const size_t total = beaa_ckks_serial_limbs_bytes(ctx, k0, count);
    beaa_status s = beaa_serial_writer_reserve(w, total);
    if (s != BEAA_OK) return s;
    beaa_ckks_serial_pack_limbs(ctx, w->buf + w->len, data, k0, count);
    w->len += total;
    return BEAA_OK;
}

static beaa_status read_limbs(beaa_serial_reader *r, const beaa_ckks_context *ctx, uint64_t *data,
                              unsigned k0, unsigned count)
{
    const uint8_t *src;
    beaa_status s = beaa_serial_read_view(r, &src, beaa_ckks_serial_limbs_bytes(ctx, k0, count));
    if (s != BEAA_OK) return s;
    return beaa_ckks_serial_unpack_limbs(ctx, src, data, k0, count) ? BEAA_ERR_CORRUPT : BEAA_OK;
}

/* Serializes into a fresh writer and saves it to path; wipes the buffer when secret. */
typedef beaa_status (*ser_fn)(const void *obj, int opt, beaa_serial_writer *w);

static beaa_status save_with(ser_fn fn, const void *obj, int opt, const char *path, int overwrite,
                             int secret)
{
    if (!obj || !path) return BEAA_ERR_ARG;
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    beaa_status s = fn(obj, opt, &w);
    if (s == BEAA_OK) s = beaa_file_write_atomic(path, w.buf, w.len, overwrite);
    if (secret) beaa_serial_writer_free_secret(&w);
    else beaa_serial_writer_free(&w);
    return s;
}

/* Reads path with a size bound; *buf must be freed with beaa_free_secret(*buf, *len). */
static beaa_status load_bytes(const char *path, size_t bound, uint8_t **buf, size_t *len)
{
    if (!path) return BEAA_ERR_ARG;
    beaa_status s = beaa_file_read_all(path, bound, buf, len);
    if (s == BEAA_OK && *len == 0) s = BEAA_ERR_TRUNCATED;
    return s;
}

/* ---------------------------------------------------------------- parameter set */

beaa_status beaa_ckks_params_serialize(const beaa_ckks_context *ctx, beaa_serial_writer *w)
{
    if (!ctx || !w) return BEAA_ERR_ARG;
    const beaa_ckks_params_spec *sp = beaa_ckks_context_spec(ctx);
    size_t mark;
    beaa_status s = beaa_serial_envelope_begin(w, BEAA_OBJ_PARAMS, 0,
                                               beaa_ckks_context_fingerprint(ctx), &mark);
    if (s != BEAA_OK) return s;
    s = beaa_serial_write_u32(w, sp->log_n);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, sp->n_primes);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, sp->n_special);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, (uint32_t)sp->secret);
    if (s == BEAA_OK)
        s = beaa_serial_write_u32(w, sp->secret == BEAA_CKKS_SECRET_SPARSE ? sp->hamming_weight : 0);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, 0);
    for (unsigned i = 0; i < sp->n_primes && s == BEAA_OK; i++)
        s = beaa_serial_write_u32(w, sp->prime_bits[i]);
    for (unsigned i = 0; i < sp->n_special && s == BEAA_OK; i++)
        s = beaa_serial_write_u32(w, sp->special_bits[i]);
    for (unsigned k = 0; k < sp->n_primes + sp->n_special && s == BEAA_OK; k++)
        s = beaa_serial_write_u64(w, beaa_ckks_context_prime(ctx, k)->q);
    if (s != BEAA_OK) return s;
    return beaa_serial_envelope_end(w, mark);
}

beaa_status beaa_ckks_params_deserialize(const void *data, size_t len, int allow_insecure,
                                         beaa_ckks_context **out)
{
    if (!data || !out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_serial_reader r;
    beaa_serial_info info;
    beaa_status s = beaa_serial_envelope_open(data, len, BEAA_OBJ_PARAMS, NULL, &r, &info, NULL);
    if (s != BEAA_OK) return s;
    if (info.flags != 0) return BEAA_ERR_CORRUPT;
    uint32_t log_n, np, ns, secret, h, reserved;
    if ((s = beaa_serial_read_u32(&r, &log_n)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &np)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &ns)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &secret)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &h)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &reserved)) != BEAA_OK) return s;
    if (reserved != 0 || log_n < BEAA_CKKS_MIN_LOG_N || log_n > BEAA_CKKS_MAX_LOG_N || np < 1 ||
        np > BEAA_CKKS_MAX_PRIMES || ns < 1 || ns > BEAA_CKKS_MAX_SPECIAL ||
        (secret != BEAA_CKKS_SECRET_TERNARY && secret != BEAA_CKKS_SECRET_SPARSE) ||
        (secret == BEAA_CKKS_SECRET_SPARSE && (h < 1 || h > (1u << log_n))) ||
        (secret == BEAA_CKKS_SECRET_TERNARY && h != 0))
        return BEAA_ERR_CORRUPT;
    beaa_ckks_params_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.log_n = log_n;
    spec.n_primes = np;
    spec.n_special = ns;
    spec.secret = (beaa_ckks_secret_dist)secret;
    spec.hamming_weight = h;
    spec.allow_insecure = allow_insecure ? 1 : 0;
    for (unsigned i = 0; i < np; i++) {
        uint32_t b;
        if ((s = beaa_serial_read_u32(&r, &b)) != BEAA_OK) return s;
        if (b < BEAA_CKKS_MIN_PRIME_BITS || b > BEAA_CKKS_MAX_PRIME_BITS) return BEAA_ERR_CORRUPT;
        spec.prime_bits[i] = b;
    }
    for (unsigned i = 0; i < ns; i++) {
        uint32_t b;
        if ((s = beaa_serial_read_u32(&r, &b)) != BEAA_OK) return s;
        if (b < BEAA_CKKS_MIN_PRIME_BITS || b > BEAA_CKKS_MAX_PRIME_BITS) return BEAA_ERR_CORRUPT;
        spec.special_bits[i] = b;
    }
    uint64_t primes[BEAA_CKKS_MAX_PRIMES + BEAA_CKKS_MAX_SPECIAL];
    if ((s = beaa_serial_read_u64_array(&r, primes, np + ns)) != BEAA_OK) return s;
    if ((s = expect_end(&r)) != BEAA_OK) return s;
    s = beaa_ckks_params_spec_check(&spec);
    if (s == BEAA_ERR_PARAMS) return BEAA_ERR_CORRUPT;
    if (s != BEAA_OK) return s; /* BEAA_ERR_INSECURE */
    beaa_ckks_context *ctx = NULL;
    s = beaa_ckks_context_new(&spec, &ctx);
    if (s != BEAA_OK) return s;
    for (unsigned k = 0; k < np + ns; k++)
        if (beaa_ckks_context_prime(ctx, k)->q != primes[k]) s = BEAA_ERR_PARAMS_MISMATCH;
    if (memcmp(beaa_ckks_context_fingerprint(ctx), info.fingerprint,
               BEAA_SERIAL_FINGERPRINT_BYTES) != 0)
        s = BEAA_ERR_PARAMS_MISMATCH;
    if (s != BEAA_OK) {
        beaa_ckks_context_free(ctx);
        return s;
    }
    *out = ctx;
    return BEAA_OK;
}

static beaa_status params_ser(const void *obj, int opt, beaa_serial_writer *w)
{
    (void)opt;
    return beaa_ckks_params_serialize((const beaa_ckks_context *)obj, w);
}

beaa_status beaa_ckks_params_save(const beaa_ckks_context *ctx, const char *path, int overwrite)
{
    return save_with(params_ser, ctx, 0, path, overwrite, 0);
}

beaa_status beaa_ckks_params_load(const char *path, int allow_insecure, beaa_ckks_context **out)
{
    if (!out) return BEAA_ERR_ARG;
    uint8_t *buf = NULL;
    size_t len = 0;
    beaa_status s = load_bytes(path, 1 << 16, &buf, &len);
    if (s == BEAA_OK) s = beaa_ckks_params_deserialize(buf, len, allow_insecure, out);
    beaa_free(buf);
    return s;
}

/* ---------------------------------------------------------------- secret key */

#define SK_ENCODING_2BIT 1u

beaa_status beaa_ckks_secret_key_serialize(const beaa_ckks_secret_key *sk, beaa_serial_writer *w)
{
    if (!sk || !sk->ctx || !sk->coeffs || !w) return BEAA_ERR_ARG;
    const size_t n = ctx_n(sk->ctx);
    size_t mark;
    beaa_status s = beaa_serial_envelope_begin(w, BEAA_OBJ_SECRET_KEY, 0,
                                               beaa_ckks_context_fingerprint(sk->ctx), &mark);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, (uint32_t)n);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, SK_ENCODING_2BIT);
    if (s == BEAA_OK) s = beaa_serial_writer_reserve(w, n / 4);
    if (s != BEAA_OK) return s;
    /* Written straight into the (wipe-on-growth) writer: no other copy of the secret. */
    uint8_t *p = w->buf + w->len;
    for (size_t i = 0; i < n / 4; i++) {
        uint8_t b = 0;
        for (int k = 0; k < 4; k++) {
            /* -1 -> 2, 0 -> 0, 1 -> 1 without a branch on the secret */
            uint8_t c = (uint8_t)sk->coeffs[4 * i + (size_t)k], neg = (uint8_t)(c >> 7);
            uint8_t code = (uint8_t)((c & 1 & (neg ^ 1)) | (neg << 1));
            b |= (uint8_t)(code << (2 * k));
        }
        p[i] = b;
    }
    w->len += n / 4;
    return beaa_serial_envelope_end(w, mark);
}

beaa_status beaa_ckks_secret_key_deserialize(const beaa_ckks_context *ctx, const void *data,
                                             size_t len, beaa_ckks_secret_key **out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_serial_reader r;
    uint32_t flags, n32, enc;
    beaa_status s = open_obj(ctx, data, len, BEAA_OBJ_SECRET_KEY, 0, &r, &flags);
    if (s != BEAA_OK) return s;
    const size_t n = ctx_n(ctx);
    if ((s = beaa_serial_read_u32(&r, &n32)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &enc)) != BEAA_OK) return s;
    if (n32 != n || enc != SK_ENCODING_2BIT) return BEAA_ERR_CORRUPT;
    const uint8_t *p;
    if ((s = beaa_serial_read_view(&r, &p, n / 4)) != BEAA_OK) return s;
    if ((s = expect_end(&r)) != BEAA_OK) return s;
    int8_t *coeffs = beaa_alloc(n);
    if (!coeffs) return BEAA_ERR_NOMEM;
    /* Constant time in the key: no branch or index depends on a coefficient; one validity bit
     * (code 3 anywhere, or a sparse secret of the wrong weight) decides at the end. */
    size_t weight = 0;
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned code = (p[i / 4] >> (2 * (i % 4))) & 3u, lo = code & 1u, hi = code >> 1;
        bad |= lo & hi;
        coeffs[i] = (int8_t)((int)(lo & (hi ^ 1u)) - (int)(hi & (lo ^ 1u))); /* 1, -1 or 0 */
        weight += lo | hi;
    }
    const beaa_ckks_params_spec *sp = beaa_ckks_context_spec(ctx);
    if (sp->secret == BEAA_CKKS_SECRET_SPARSE) bad |= weight != sp->hamming_weight;
    if (beaa_ct_public(bad)) s = BEAA_ERR_CORRUPT; /* the verdict is public (lib/ct.h) */
    if (s == BEAA_OK) {
        s = beaa_ckks_secret_key_from_coeffs(ctx, coeffs, out);
        if (s == BEAA_ERR_VALUE) s = BEAA_ERR_CORRUPT;
    }
    beaa_free_secret(coeffs, n);
    return s;
}

static beaa_status sk_ser(const void *obj, int opt, beaa_serial_writer *w)
{
    (void)opt;
    return beaa_ckks_secret_key_serialize((const beaa_ckks_secret_key *)obj, w);
}

beaa_status beaa_ckks_secret_key_save(const beaa_ckks_secret_key *sk, const char *path,
                                      int overwrite)
{
    return save_with(sk_ser, sk, 0, path, overwrite, 1);
}

beaa_status beaa_ckks_secret_key_load(const beaa_ckks_context *ctx, const char *path,
                                      beaa_ckks_secret_key **out)
{
    if (!ctx || !out) return BEAA_ERR_ARG;
    uint8_t *buf = NULL;
    size_t len = 0;
    beaa_status s = load_bytes(path, BEAA_SERIAL_OVERHEAD + 8 + ctx_n(ctx) / 4, &buf, &len);
    if (s == BEAA_OK) s = beaa_ckks_secret_key_deserialize(ctx, buf, len, out);
    beaa_free_secret(buf, len);
    return s;
}

/* ---------------------------------------------------------------- public key */

beaa_status beaa_ckks_public_key_serialize(const beaa_ckks_public_key *pk, int full,
                                           beaa_serial_writer *w)
{
    if (!pk || !pk->ctx || !pk->data || !w) return BEAA_ERR_ARG;
    const beaa_ckks_context *ctx = pk->ctx;
    const unsigned nl = ctx_n_data(ctx);
    const size_t n = ctx_n(ctx);
    const uint64_t *a = pk->data + (size_t)nl * n;
    if (!full &&
        (!seed_matches(pk->seed, BEAA_CKKS_DOMAIN_PK_A, a, beaa_ckks_context_prime(ctx, 0)) ||
         !seed_matches(pk->seed, BEAA_CKKS_DOMAIN_PK_A + (nl - 1), a + (size_t)(nl - 1) * n,
                       beaa_ckks_context_prime(ctx, nl - 1))))
        full = 1;
    size_t mark;
    beaa_status s = beaa_serial_writer_reserve(w, BEAA_SERIAL_OVERHEAD + 4 + 32 +
                                                      2 * beaa_ckks_serial_limbs_bytes(ctx, 0, nl));
    if (s == BEAA_OK)
        s = beaa_serial_envelope_begin(w, BEAA_OBJ_PUBLIC_KEY, full ? 0 : SER_SEEDED,
                                       beaa_ckks_context_fingerprint(ctx), &mark);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, nl);
    if (s == BEAA_OK) s = write_limbs(w, ctx, pk->data, 0, nl);
    if (s == BEAA_OK) {
        if (full) s = write_limbs(w, ctx, pk->data + (size_t)nl * n, 0, nl);
        else s = beaa_serial_write_bytes(w, pk->seed, BEAA_SEED_BYTES);
    }
    if (s != BEAA_OK) return s;
    return beaa_serial_envelope_end(w, mark);
}

beaa_status beaa_ckks_public_key_deserialize(const beaa_ckks_context *ctx, const void *data,
                                             size_t len, beaa_ckks_public_key **out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_serial_reader r;
    uint32_t flags, nl32;
    beaa_status s = open_obj(ctx, data, len, BEAA_OBJ_PUBLIC_KEY, SER_SEEDED, &r, &flags);
    if (s != BEAA_OK) return s;
    const unsigned nl = ctx_n_data(ctx);
    const size_t n = ctx_n(ctx);
    if ((s = beaa_serial_read_u32(&r, &nl32)) != BEAA_OK) return s;
    if (nl32 != nl) return BEAA_ERR_CORRUPT;
    beaa_ckks_public_key *pk = NULL;
    if ((s = beaa_ckks_public_key_alloc(ctx, &pk)) != BEAA_OK) return s;
    s = read_limbs(&r, ctx, pk->data, 0, nl);
    if (s == BEAA_OK) {
        if (flags & SER_SEEDED) s = beaa_serial_read_bytes(&r, pk->seed, BEAA_SEED_BYTES);
        else s = read_limbs(&r, ctx, pk->data + (size_t)nl * n, 0, nl);
    }
    if (s == BEAA_OK) s = expect_end(&r);
    if (s != BEAA_OK) {
        beaa_ckks_public_key_free(pk);
        return s;
    }
    if (flags & SER_SEEDED) beaa_ckks_public_key_expand_seed(pk);
    *out = pk;
    return BEAA_OK;
}

static beaa_status pk_ser(const void *obj, int opt, beaa_serial_writer *w)
{
    return beaa_ckks_public_key_serialize((const beaa_ckks_public_key *)obj, opt, w);
}

beaa_status beaa_ckks_public_key_save(const beaa_ckks_public_key *pk, int full, const char *path,
                                      int overwrite)
{
    return save_with(pk_ser, pk, full, path, overwrite, 0);
}

beaa_status beaa_ckks_public_key_load(const beaa_ckks_context *ctx, const char *path,
                                      beaa_ckks_public_key **out)
{
    if (!ctx || !out) return BEAA_ERR_ARG;
    uint8_t *buf = NULL;
    size_t len = 0;
    size_t bound = BEAA_SERIAL_OVERHEAD + 4 + 2 * beaa_ckks_serial_limbs_bytes(ctx, 0, ctx_n_data(ctx));
    beaa_status s = load_bytes(path, bound, &buf, &len);
    if (s == BEAA_OK) s = beaa_ckks_public_key_deserialize(ctx, buf, len, out);
    beaa_free(buf);
    return s;
}

/* ---------------------------------------------------------------- switching keys */

/* Body of one switching key: u32 dnum, u32 n_limbs, [seed], per digit: b limbs, [a limbs]. */
static size_t switch_key_max_bytes(const beaa_ckks_context *ctx)
{
    return 8 + BEAA_SEED_BYTES +
           (size_t)beaa_ckks_context_dnum(ctx) * 2 * beaa_ckks_serial_limbs_bytes(ctx, 0, ctx_n_ext(ctx));
}

/* Whether every a_j of key is its seed's expansion (spot check, see seed_matches). */
static int switch_key_seeded(const beaa_ckks_switch_key *key)
{
    const beaa_ckks_context *ctx = key->ctx;
    if (!key->data) return 0;
    for (unsigned j = 0; j < key->dnum; j++) {
        unsigned last = key->n_limbs - 1;
        uint64_t dom = BEAA_CKKS_DOMAIN_SWK_A + (uint64_t)j * 256;
        uint64_t a0[SEED_CHECK_COEFFS], al[SEED_CHECK_COEFFS];
        /* the first residues of the packed limbs (whole bytes: SEED_CHECK_COEFFS = 8) */
        if (beaa_ckks_serial_unpack_limb(beaa_ckks_switch_key_limb(key, j, 1, 0), a0,
                                         SEED_CHECK_COEFFS, beaa_ckks_context_prime(ctx, 0)) ||
            beaa_ckks_serial_unpack_limb(beaa_ckks_switch_key_limb(key, j, 1, last), al,
                                         SEED_CHECK_COEFFS, beaa_ckks_context_prime(ctx, last)))
            return 0;
        if (!seed_matches(key->seed, dom, a0, beaa_ckks_context_prime(ctx, 0)) ||
            !seed_matches(key->seed, dom + last, al, beaa_ckks_context_prime(ctx, last)))
            return 0;
    }
    return 1;
}

/* A switching key's polynomials are held in the serialized limb form (keys.h): written as
 * they are. */
static beaa_status write_switch_key(beaa_serial_writer *w, const beaa_ckks_switch_key *key,
                                    int full)
{
    const beaa_ckks_context *ctx = key->ctx;
    if (!key->data || key->dnum != beaa_ckks_context_dnum(ctx) || key->n_limbs != ctx_n_ext(ctx) ||
        key->row_bytes != beaa_ckks_serial_limbs_bytes(ctx, 0, key->n_limbs))
        return BEAA_ERR_ARG;
    beaa_status s = beaa_serial_write_u32(w, key->dnum);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, key->n_limbs);
    if (s == BEAA_OK && !full) s = beaa_serial_write_bytes(w, key->seed, BEAA_SEED_BYTES);
    for (unsigned j = 0; j < key->dnum && s == BEAA_OK; j++) {
        const uint8_t *b = key->data + (size_t)(j * 2) * key->row_bytes;
        s = beaa_serial_write_bytes(w, b, key->row_bytes);
        if (s == BEAA_OK && full) s = beaa_serial_write_bytes(w, b + key->row_bytes, key->row_bytes);
    }
    return s;
}

/* One packed polynomial of a switching key, every residue checked against its prime (unpacked
 * into tmp, n_limbs limbs, in parallel over the limbs), then copied as it is. */
static beaa_status read_key_row(beaa_serial_reader *r, const beaa_ckks_context *ctx,
                                uint8_t *row, uint64_t *tmp)
{
    const uint8_t *src;
    const unsigned nl = ctx_n_ext(ctx);
    const size_t bytes = beaa_ckks_serial_limbs_bytes(ctx, 0, nl);
    beaa_status s = beaa_serial_read_view(r, &src, bytes);
    if (s != BEAA_OK) return s;
    if (beaa_ckks_serial_unpack_limbs(ctx, src, tmp, 0, nl)) return BEAA_ERR_CORRUPT;
    memcpy(row, src, bytes);
    return BEAA_OK;
}

/* Reads a body into key (allocated here; cleared on error). */
static beaa_status read_switch_key(beaa_serial_reader *r, const beaa_ckks_context *ctx,
                                   int seeded, beaa_ckks_switch_key *key)
{
    uint32_t dnum, nl;
    beaa_status s = beaa_serial_read_u32(r, &dnum);
    if (s == BEAA_OK) s = beaa_serial_read_u32(r, &nl);
    if (s != BEAA_OK) return s;
    if (dnum != beaa_ckks_context_dnum(ctx) || nl != ctx_n_ext(ctx)) return BEAA_ERR_CORRUPT;
    if ((s = beaa_ckks_switch_key_alloc(ctx, key)) != BEAA_OK) return s;
    uint64_t *tmp = beaa_alloc((size_t)nl * ctx_n(ctx) * sizeof *tmp);
    if (!tmp) s = BEAA_ERR_NOMEM;
    if (s == BEAA_OK && seeded) s = beaa_serial_read_bytes(r, key->seed, BEAA_SEED_BYTES);
    for (unsigned j = 0; j < dnum && s == BEAA_OK; j++) {
        uint8_t *b = key->data + (size_t)(j * 2) * key->row_bytes;
        s = read_key_row(r, ctx, b, tmp);
        if (s == BEAA_OK && !seeded) s = read_key_row(r, ctx, b + key->row_bytes, tmp);
    }
    beaa_free(tmp);
    if (s == BEAA_OK && seeded) s = beaa_ckks_switch_key_expand_seed(key);
    if (s != BEAA_OK) beaa_ckks_switch_key_clear(key);
    return s;
}

beaa_status beaa_ckks_relin_key_serialize(const beaa_ckks_relin_key *rk, int full,
                                          beaa_serial_writer *w)
{
    if (!rk || !rk->key.ctx || !w) return BEAA_ERR_ARG;
    const beaa_ckks_context *ctx = rk->key.ctx;
    if (!rk->key.data || rk->key.dnum != beaa_ckks_context_dnum(ctx) ||
        rk->key.n_limbs != ctx_n_ext(ctx))
        return BEAA_ERR_ARG;
    if (!full && !switch_key_seeded(&rk->key)) full = 1;
    size_t mark;
    beaa_status s = beaa_serial_writer_reserve(w, BEAA_SERIAL_OVERHEAD + switch_key_max_bytes(ctx));
    if (s == BEAA_OK)
        s = beaa_serial_envelope_begin(w, BEAA_OBJ_RELIN_KEY, full ? 0 : SER_SEEDED,
                                       beaa_ckks_context_fingerprint(ctx), &mark);
    if (s == BEAA_OK) s = write_switch_key(w, &rk->key, full);
    if (s != BEAA_OK) return s;
    return beaa_serial_envelope_end(w, mark);
}

beaa_status beaa_ckks_relin_key_deserialize(const beaa_ckks_context *ctx, const void *data,
                                            size_t len, beaa_ckks_relin_key **out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_serial_reader r;
    uint32_t flags;
    beaa_status s = open_obj(ctx, data, len, BEAA_OBJ_RELIN_KEY, SER_SEEDED, &r, &flags);
    if (s != BEAA_OK) return s;
    beaa_ckks_relin_key *rk = beaa_calloc(1, sizeof *rk);
    if (!rk) return BEAA_ERR_NOMEM;
    s = read_switch_key(&r, ctx, (flags & SER_SEEDED) != 0, &rk->key);
    if (s == BEAA_OK) s = expect_end(&r);
    if (s == BEAA_OK) s = beaa_ckks_switch_key_make_fp(&rk->key);
    if (s != BEAA_OK) {
        beaa_ckks_relin_key_free(rk);
        return s;
    }
    *out = rk;
    return BEAA_OK;
}

static beaa_status rk_ser(const void *obj, int opt, beaa_serial_writer *w)
{
    return beaa_ckks_relin_key_serialize((const beaa_ckks_relin_key *)obj, opt, w);
}

beaa_status beaa_ckks_relin_key_save(const beaa_ckks_relin_key *rk, int full, const char *path,
                                     int overwrite)
{
    return save_with(rk_ser, rk, full, path, overwrite, 0);
}

beaa_status beaa_ckks_relin_key_load(const beaa_ckks_context *ctx, const char *path,
                                     beaa_ckks_relin_key **out)
{
    if (!ctx || !out) return BEAA_ERR_ARG;
    uint8_t *buf = NULL;
    size_t len = 0;
    beaa_status s = load_bytes(path, BEAA_SERIAL_OVERHEAD + switch_key_max_bytes(ctx), &buf, &len);
    if (s == BEAA_OK) s = beaa_ckks_relin_key_deserialize(ctx, buf, len, out);
    beaa_free(buf);
    return s;
}

/* ---------------------------------------------------------------- Galois keys */

beaa_status beaa_ckks_galois_keys_serialize(const beaa_ckks_galois_keys *gk, int full,
                                            beaa_serial_writer *w)
{
    if (!gk || !gk->ctx || !w || (gk->count && (!gk->elts || !gk->keys))) return BEAA_ERR_ARG;
    const beaa_ckks_context *ctx = gk->ctx;
    for (size_t i = 0; i < gk->count; i++) {
        const beaa_ckks_switch_key *k = &gk->keys[i];
        if (k->ctx != ctx) return BEAA_ERR_PARAMS_MISMATCH;
        if (!k->data || k->dnum != beaa_ckks_context_dnum(ctx) || k->n_limbs != ctx_n_ext(ctx))
            return BEAA_ERR_ARG;
        if (!full && !switch_key_seeded(k)) full = 1;
    }
    size_t mark;
    beaa_status s = beaa_serial_envelope_begin(w, BEAA_OBJ_GALOIS_KEYS, full ? 0 : SER_SEEDED,
                                               beaa_ckks_context_fingerprint(ctx), &mark);
    if (s == BEAA_OK) s = beaa_serial_write_u64(w, (uint64_t)gk->count);
    if (s == BEAA_OK) s = beaa_serial_write_u64_array(w, gk->elts, gk->count);
    for (size_t i = 0; i < gk->count && s == BEAA_OK; i++) {
        if (gk->keys[i].ctx != ctx) s = BEAA_ERR_PARAMS_MISMATCH;
        else s = write_switch_key(w, &gk->keys[i], full);
    }
    if (s != BEAA_OK) return s;
    return beaa_serial_envelope_end(w, mark);
}

beaa_status beaa_ckks_galois_keys_deserialize(const beaa_ckks_context *ctx, const void *data,
                                              size_t len, beaa_ckks_galois_keys **out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_serial_reader r;
    uint32_t flags;
    beaa_status s = open_obj(ctx, data, len, BEAA_OBJ_GALOIS_KEYS, SER_SEEDED, &r, &flags);
    if (s != BEAA_OK) return s;
    uint64_t count;
    if ((s = beaa_serial_read_u64(&r, &count)) != BEAA_OK) return s;
    const size_t n = ctx_n(ctx);
    /* There are N odd residues mod 2N; anything above cannot be a set of distinct elements. */
    if (count > n) return BEAA_ERR_CORRUPT;
    if (count > r.left / 8) return BEAA_ERR_TRUNCATED;
    uint64_t *elts = malloc((size_t)(count ? count : 1) * sizeof *elts);
    if (!elts) return BEAA_ERR_NOMEM;
    s = beaa_serial_read_u64_array(&r, elts, (size_t)count);
    for (size_t i = 0; i < count && s == BEAA_OK; i++)
        if ((elts[i] & 1) == 0 || elts[i] >= 2 * (uint64_t)n || (i && elts[i] <= elts[i - 1]))
            s = BEAA_ERR_CORRUPT;
    /* Every key takes at least its smallest body: refuse counts the payload cannot hold before
     * allocating count switching keys. */
    size_t min_body = 8 + ((flags & SER_SEEDED) ? BEAA_SEED_BYTES : 0) +
                      (size_t)beaa_ckks_context_dnum(ctx) * beaa_ckks_serial_limbs_bytes(ctx, 0, ctx_n_ext(ctx));
    if (s == BEAA_OK && count > r.left / min_body) s = BEAA_ERR_TRUNCATED;
    beaa_ckks_galois_keys *gk = NULL;
    if (s == BEAA_OK) s = beaa_ckks_galois_keys_alloc(ctx, elts, (size_t)count, &gk);
    free(elts);
    if (s != BEAA_OK) return s;
    /* alloc made every key; read_switch_key allocates again, so release each first. */
    for (size_t i = 0; i < gk->count && s == BEAA_OK; i++) {
        beaa_ckks_switch_key_clear(&gk->keys[i]);
        s = read_switch_key(&r, ctx, (flags & SER_SEEDED) != 0, &gk->keys[i]);
    }
    if (s == BEAA_OK) s = expect_end(&r);
    if (s != BEAA_OK) {
        beaa_ckks_galois_keys_free(gk);
        return s;
    }
    *out = gk;
    return BEAA_OK;
}

static beaa_status gk_ser(const void *obj, int opt, beaa_serial_writer *w)
{
    return beaa_ckks_galois_keys_serialize((const beaa_ckks_galois_keys *)obj, opt, w);
}

beaa_status beaa_ckks_galois_keys_save(const beaa_ckks_galois_keys *gk, int full, const char *path,
                                       int overwrite)
{
    return save_with(gk_ser, gk, full, path, overwrite, 0);
}

beaa_status beaa_ckks_galois_keys_load(const beaa_ckks_context *ctx, const char *path,
                                       beaa_ckks_galois_keys **out)
{
    if (!ctx || !out) return BEAA_ERR_ARG;
    uint8_t *buf = NULL;
    size_t len = 0;
    size_t one = switch_key_max_bytes(ctx) + 8, n = ctx_n(ctx);
    size_t bound = one > (SIZE_MAX - 1024) / n ? SIZE_MAX - 1024 : BEAA_SERIAL_OVERHEAD + 8 + n * one;
    beaa_status s = load_bytes(path, bound, &buf, &len);
    if (s == BEAA_OK) s = beaa_ckks_galois_keys_deserialize(ctx, buf, len, out);
    beaa_free(buf);
    return s;
}

/* ---------------------------------------------------------------- plaintext */

/* The scale rule of ckks/validate.h (>= 1, below Q_L): what library operations can produce. */
static int scale_ok(const beaa_ckks_context *ctx, unsigned level, double scale)
{
    return beaa_ckks_scale_in_range(ctx, level, scale);
}

beaa_status beaa_ckks_plaintext_serialize(const beaa_ckks_plaintext *pt, beaa_serial_writer *w)
{
    if (!pt || !pt->ctx || !pt->data || !w) return BEAA_ERR_ARG;
    const beaa_ckks_context *ctx = pt->ctx;
    if (pt->level > beaa_ckks_context_max_level(ctx) || !scale_ok(ctx, pt->level, pt->scale))
        return BEAA_ERR_ARG;
    size_t mark;
    beaa_status s = beaa_serial_writer_reserve(w, BEAA_SERIAL_OVERHEAD + 16 +
                                                      beaa_ckks_serial_limbs_bytes(ctx, 0, pt->level + 1));
    if (s == BEAA_OK)
        s = beaa_serial_envelope_begin(w, BEAA_OBJ_PLAINTEXT, 0, beaa_ckks_context_fingerprint(ctx),
                                       &mark);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, pt->level);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, pt->ntt_form ? 1 : 0);
    if (s == BEAA_OK) s = beaa_serial_write_f64(w, pt->scale);
    if (s == BEAA_OK) s = write_limbs(w, ctx, pt->data, 0, pt->level + 1);
    if (s != BEAA_OK) return s;
    return beaa_serial_envelope_end(w, mark);
}

beaa_status beaa_ckks_plaintext_deserialize(const beaa_ckks_context *ctx, const void *data,
                                            size_t len, beaa_ckks_plaintext **out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_serial_reader r;
    uint32_t flags, level, ntt;
    double scale;
    beaa_status s = open_obj(ctx, data, len, BEAA_OBJ_PLAINTEXT, 0, &r, &flags);
    if (s != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &level)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &ntt)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_f64(&r, &scale)) != BEAA_OK) return s;
    if (level > beaa_ckks_context_max_level(ctx) || ntt > 1 || !scale_ok(ctx, level, scale))
        return BEAA_ERR_CORRUPT;
    if (beaa_ckks_serial_limbs_bytes(ctx, 0, level + 1) != r.left) return BEAA_ERR_CORRUPT;
    beaa_ckks_plaintext *pt = NULL;
    if ((s = beaa_ckks_plaintext_new(ctx, level, &pt)) != BEAA_OK) return s;
    pt->ntt_form = (int)ntt;
    pt->scale = scale;
    s = read_limbs(&r, ctx, pt->data, 0, level + 1);
    if (s == BEAA_OK) s = expect_end(&r);
    if (s != BEAA_OK) {
        beaa_ckks_plaintext_free(pt);
        return s;
    }
    *out = pt;
    return BEAA_OK;
}

static beaa_status pt_ser(const void *obj, int opt, beaa_serial_writer *w)
{
    (void)opt;
    return beaa_ckks_plaintext_serialize((const beaa_ckks_plaintext *)obj, w);
}

beaa_status beaa_ckks_plaintext_save(const beaa_ckks_plaintext *pt, const char *path, int overwrite)
{
    return save_with(pt_ser, pt, 0, path, overwrite, 1);
}

beaa_status beaa_ckks_plaintext_load(const beaa_ckks_context *ctx, const char *path,
                                     beaa_ckks_plaintext **out)
{
    if (!ctx || !out) return BEAA_ERR_ARG;
    uint8_t *buf = NULL;
    size_t len = 0;
    size_t bound = BEAA_SERIAL_OVERHEAD + 16 + beaa_ckks_serial_limbs_bytes(ctx, 0, ctx_n_data(ctx));
    beaa_status s = load_bytes(path, bound, &buf, &len);
    if (s == BEAA_OK) s = beaa_ckks_plaintext_deserialize(ctx, buf, len, out);
    beaa_free_secret(buf, len);
    return s;
}

/* ---------------------------------------------------------------- ciphertext */

size_t beaa_ckks_ciphertext_max_bytes(const beaa_ckks_context *ctx)
{
    if (!ctx) return 0;
    return BEAA_SERIAL_OVERHEAD + 20 + 3 * beaa_ckks_serial_limbs_bytes(ctx, 0, ctx_n_data(ctx));
}

beaa_status beaa_ckks_ciphertext_serialize(const beaa_ckks_ciphertext *ct, beaa_serial_writer *w)
{
    if (!ct || !ct->ctx || !ct->data || !w) return BEAA_ERR_ARG;
    const beaa_ckks_context *ctx = ct->ctx;
    if ((ct->size != 2 && ct->size != 3) || ct->level > beaa_ckks_context_max_level(ctx) ||
        !scale_ok(ctx, ct->level, ct->scale))
        return BEAA_ERR_ARG;
    const unsigned nl = ct->level + 1;
    const int seeded =
        ct->has_seed && ct->size == 2 && ct->ntt_form &&
        seed_matches(ct->seed, BEAA_CKKS_DOMAIN_CT_A, beaa_ckks_ct_limb(ct, 1, 0),
                     beaa_ckks_context_prime(ctx, 0)) &&
        seed_matches(ct->seed, BEAA_CKKS_DOMAIN_CT_A + ct->level, beaa_ckks_ct_limb(ct, 1, ct->level),
                     beaa_ckks_context_prime(ctx, ct->level));
    size_t mark;
    beaa_status s = beaa_serial_writer_reserve(w, BEAA_SERIAL_OVERHEAD + 20 + BEAA_SEED_BYTES +
                                                      ct->size * beaa_ckks_serial_limbs_bytes(ctx, 0, nl));
    if (s == BEAA_OK)
        s = beaa_serial_envelope_begin(w, BEAA_OBJ_CIPHERTEXT, seeded ? SER_SEEDED : 0,
                                       beaa_ckks_context_fingerprint(ctx), &mark);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, ct->size);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, ct->level);
    if (s == BEAA_OK) s = beaa_serial_write_u32(w, ct->ntt_form ? 1 : 0);
    if (s == BEAA_OK) s = beaa_serial_write_f64(w, ct->scale);
    for (unsigned k = 0; k < ct->size && s == BEAA_OK; k++) {
        if (k == 1 && seeded) s = beaa_serial_write_bytes(w, ct->seed, BEAA_SEED_BYTES);
        else s = write_limbs(w, ctx, beaa_ckks_ct_limb(ct, k, 0), 0, nl);
    }
    if (s != BEAA_OK) return s;
    return beaa_serial_envelope_end(w, mark);
}

beaa_status beaa_ckks_ciphertext_deserialize_into(const void *data, size_t len,
                                                  beaa_ckks_ciphertext *ct)
{
    if (!ct || !ct->ctx) return BEAA_ERR_ARG;
    const beaa_ckks_context *ctx = ct->ctx;
    beaa_serial_reader r;
    uint32_t flags, size, level, ntt;
    double scale;
    beaa_status s = open_obj(ctx, data, len, BEAA_OBJ_CIPHERTEXT, SER_SEEDED, &r, &flags);
    if (s != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &size)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &level)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &ntt)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_f64(&r, &scale)) != BEAA_OK) return s;
    const int seeded = (flags & SER_SEEDED) != 0;
    if ((size != 2 && size != 3) || level > beaa_ckks_context_max_level(ctx) || ntt > 1 ||
        !scale_ok(ctx, level, scale) || (seeded && (size != 2 || ntt != 1)))
        return BEAA_ERR_CORRUPT;
    size_t lb = beaa_ckks_serial_limbs_bytes(ctx, 0, level + 1);
    size_t want = seeded ? lb + BEAA_SEED_BYTES : (size_t)size * lb;
    if (r.left != want) return r.left < want ? BEAA_ERR_TRUNCATED : BEAA_ERR_CORRUPT;
    if ((s = beaa_ckks_ciphertext_resize(ct, size, level)) != BEAA_OK) return s;
    ct->ntt_form = (int)ntt;
    ct->scale = scale;
    for (unsigned k = 0; k < size && s == BEAA_OK; k++) {
        if (k == 1 && seeded) s = beaa_serial_read_bytes(&r, ct->seed, BEAA_SEED_BYTES);
        else s = read_limbs(&r, ctx, beaa_ckks_ct_limb(ct, k, 0), 0, level + 1);
    }
    if (s == BEAA_OK) s = expect_end(&r);
    if (s == BEAA_OK && seeded) s = beaa_ckks_ciphertext_expand_seed(ct);
    return s;
}

beaa_status beaa_ckks_ciphertext_deserialize(const beaa_ckks_context *ctx, const void *data,
                                             size_t len, beaa_ckks_ciphertext **out)
{
    if (!ctx || !out) return BEAA_ERR_ARG;
    *out = NULL;
    /* Check the envelope and header first so that bad input allocates nothing. */
    beaa_serial_reader r;
    uint32_t flags, size, level;
    beaa_status s = open_obj(ctx, data, len, BEAA_OBJ_CIPHERTEXT, SER_SEEDED, &r, &flags);
    if (s != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &size)) != BEAA_OK) return s;
    if ((s = beaa_serial_read_u32(&r, &level)) != BEAA_OK) return s;
    if ((size != 2 && size != 3) || level > beaa_ckks_context_max_level(ctx))
        return BEAA_ERR_CORRUPT;
    beaa_ckks_ciphertext *ct = NULL;
    if ((s = beaa_ckks_ciphertext_new(ctx, size, level, &ct)) != BEAA_OK) return s;
    s = beaa_ckks_ciphertext_deserialize_into(data, len, ct);
    if (s != BEAA_OK) {
        beaa_ckks_ciphertext_free(ct);
        return s;
    }
    *out = ct;
    return BEAA_OK;
}

static beaa_status ct_ser(const void *obj, int opt, beaa_serial_writer *w)
{
    (void)opt;
    return beaa_ckks_ciphertext_serialize((const beaa_ckks_ciphertext *)obj, w);
}

beaa_status beaa_ckks_ciphertext_save(const beaa_ckks_ciphertext *ct, const char *path,
                                      int overwrite)
{
    return save_with(ct_ser, ct, 0, path, overwrite, 0);
}

beaa_status beaa_ckks_ciphertext_load(const beaa_ckks_context *ctx, const char *path,
                                      beaa_ckks_ciphertext **out)
{
    if (!ctx || !out) return BEAA_ERR_ARG;
    uint8_t *buf = NULL;
    size_t len = 0;
    beaa_status s = load_bytes(path, beaa_ckks_ciphertext_max_bytes(ctx), &buf, &len);
    if (s == BEAA_OK) s = beaa_ckks_ciphertext_deserialize(ctx, buf, len, out);
    beaa_free(buf);
    return s;
}
