/* check_roundtrip.c - structure-aware round trips of every serialized CKKS object on a tiny
 * insecure ring (N = 2^10, one 30-bit data prime, one 30-bit special prime; KB-sized objects):
 * parameter set, secret key, public key (seeded, full), relinearization key (seeded, full),
 * Galois keys (one key, seeded; none), plaintext, ciphertexts (seeded, full, size 3).
 *  - fresh objects pass the validity checks of ckks/validate.h; serialize -> deserialize ->
 *    serialize gives the same bytes, and the loaded object passes the same checks;
 *  - every single-byte change (XOR 0xff) of the file and every truncation is rejected with a
 *    status (the checksum and the length checks);
 *  - the same with a recomputed checksum ("re-wrapped": what a deliberate forger gets): every
 *    change of a structural byte (header fields but the length the re-wrap rewrites, sizes,
 *    levels, flags, NTT flags, counts, Galois elements, encodings) is rejected; a change of a
 *    value byte (residues, seeds, the scale, secret-key codes) is rejected or gives an object
 *    that passes every validity check and round-trips; every re-wrapped truncation and an
 *    appended byte are rejected. Value-byte changes and re-wrapped cuts are tried at every
 *    position in the first 64 payload bytes, then at every 11th (vstride below).
 * Under BEAA_TEST_LIGHT (sanitizers) every 7th byte position is tried for the raw changes and
 * every 29th for the re-wrapped value bytes and cuts. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/mem.h"
#include "lib/serial.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "ckks/validate.h"
#include "tests/test_util.h"

typedef beaa_status (*load_fn)(const uint8_t *d, size_t n, int form, beaa_serial_writer *again);

static beaa_ckks_context *g_ctx;

/* ---- loaders: deserialize, check validity, serialize again in the same form ---- */

static beaa_status ld_params(const uint8_t *d, size_t n, int form, beaa_serial_writer *w)
{
    (void)form;
    beaa_ckks_context *c = NULL;
    beaa_status st = beaa_ckks_params_deserialize(d, n, 1, &c);
    if (st != BEAA_OK) { ck_assert_ptr_null(c); return st; }
    beaa_ckks_params_spec sp = *beaa_ckks_context_spec(c);
    sp.allow_insecure = 1;
    ck_assert_int_eq(beaa_ckks_params_spec_check(&sp), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_params_serialize(c, w), BEAA_OK);
    beaa_ckks_context_free(c);
    return BEAA_OK;
}

static beaa_status ld_sk(const uint8_t *d, size_t n, int form, beaa_serial_writer *w)
{
    (void)form;
    beaa_ckks_secret_key *k = NULL;
    beaa_status st = beaa_ckks_secret_key_deserialize(g_ctx, d, n, &k);
    if (st != BEAA_OK) { ck_assert_ptr_null(k); return st; }
    ck_assert_int_eq(beaa_ckks_secret_key_validate(k), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_serialize(k, w), BEAA_OK);
    beaa_ckks_secret_key_free(k);
    return BEAA_OK;
}

static beaa_status ld_pk(const uint8_t *d, size_t n, int full, beaa_serial_writer *w)
{
    beaa_ckks_public_key *k = NULL;
    beaa_status st = beaa_ckks_public_key_deserialize(g_ctx, d, n, &k);
    if (st != BEAA_OK) { ck_assert_ptr_null(k); return st; }
    ck_assert_int_eq(beaa_ckks_public_key_validate(k), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_public_key_serialize(k, full, w), BEAA_OK);
    beaa_ckks_public_key_free(k);
    return BEAA_OK;
}

static beaa_status ld_rk(const uint8_t *d, size_t n, int full, beaa_serial_writer *w)
{
    beaa_ckks_relin_key *k = NULL;
    beaa_status st = beaa_ckks_relin_key_deserialize(g_ctx, d, n, &k);
    if (st != BEAA_OK) { ck_assert_ptr_null(k); return st; }
    ck_assert_int_eq(beaa_ckks_relin_key_validate(k), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_serialize(k, full, w), BEAA_OK);
    beaa_ckks_relin_key_free(k);
    return BEAA_OK;
}

static beaa_status ld_gk(const uint8_t *d, size_t n, int full, beaa_serial_writer *w)
{
    beaa_ckks_galois_keys *k = NULL;
    beaa_status st = beaa_ckks_galois_keys_deserialize(g_ctx, d, n, &k);
    if (st != BEAA_OK) { ck_assert_ptr_null(k); return st; }
    ck_assert_int_eq(beaa_ckks_galois_keys_validate(k), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_galois_keys_serialize(k, full, w), BEAA_OK);
    beaa_ckks_galois_keys_free(k);
    return BEAA_OK;
}

static beaa_status ld_pt(const uint8_t *d, size_t n, int form, beaa_serial_writer *w)
{
    (void)form;
    beaa_ckks_plaintext *p = NULL;
    beaa_status st = beaa_ckks_plaintext_deserialize(g_ctx, d, n, &p);
    if (st != BEAA_OK) { ck_assert_ptr_null(p); return st; }
    ck_assert_int_eq(beaa_ckks_plaintext_validate(p), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_plaintext_serialize(p, w), BEAA_OK);
    beaa_ckks_plaintext_free(p);
    return BEAA_OK;
}

static beaa_status ld_ct(const uint8_t *d, size_t n, int form, beaa_serial_writer *w)
{
    (void)form;
    beaa_ckks_ciphertext *c = NULL;
    beaa_status st = beaa_ckks_ciphertext_deserialize(g_ctx, d, n, &c);
    if (st != BEAA_OK) { ck_assert_ptr_null(c); return st; }
    ck_assert_int_eq(beaa_ckks_ciphertext_validate(c), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(c, w), BEAA_OK);
    beaa_ckks_ciphertext_free(c);
    return BEAA_OK;
}

/* ---- the objects and their layouts ---- */

/* Payload ranges [a, b) (offsets from the payload start) whose bytes are values (residues,
 * seeds, scale, secret codes): a change there may give another valid object. Everything else is
 * structure. */
typedef struct range { size_t a, b; } range;

typedef struct object {
    const char *name;
    uint8_t *bytes;
    size_t len;
    int form;            /* the `full` argument to serialize it again */
    load_fn load;
    range value[4];      /* up to 4 value ranges, b = 0 ends the list */
    size_t accepted;     /* re-wrapped value-byte changes that loaded (valid) */
    size_t tried;
} object;

#define PAY(o) ((o)->len - BEAA_SERIAL_OVERHEAD)

static object g_obj[12];
static int g_nobj;

static object *add(const char *name, beaa_serial_writer *w, int form, load_fn load)
{
    object *o = &g_obj[g_nobj++];
    memset(o, 0, sizeof *o);
    o->name = name;
    o->bytes = beaa_serial_writer_take(w, &o->len);
    ck_assert_ptr_nonnull(o->bytes);
    o->form = form;
    o->load = load;
    return o;
}

static void build(void)
{
    beaa_ckks_params_spec sp;
    const unsigned bits[1] = {30};
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 10, bits, 1, 1, 30), BEAA_OK);
    sp.allow_insecure = 1;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &g_ctx), BEAA_OK);
    beaa_ckks_secret_key *sk;
    beaa_ckks_public_key *pk;
    beaa_ckks_relin_key *rk;
    beaa_ckks_galois_keys *gk, *gk0;
    const int step = 1;
    ck_assert_int_eq(beaa_ckks_secret_key_gen(g_ctx, &sk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_public_key_gen(sk, &pk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_gen(sk, &rk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_galois_keys_gen(sk, &step, 1, 0, &gk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_galois_keys_gen(sk, NULL, 0, 0, &gk0), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_validate(sk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_public_key_validate(pk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_validate(rk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_galois_keys_validate(gk), BEAA_OK);

    double v[6] = {0.5, -1.0, 2.0, 0.25, -3.0, 1.5};
    beaa_ckks_plaintext *pt;
    beaa_ckks_ciphertext *cs, *cp, *c3;
    ck_assert_int_eq(beaa_ckks_plaintext_new(g_ctx, 0, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(g_ctx, v, 6, 0x1p12, 0, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(g_ctx, 2, 0, &cs), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(g_ctx, 2, 0, &cp), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(g_ctx, 2, 0, &c3), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encrypt_sk(sk, pt, cs), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encrypt_pk(pk, pt, cp), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul(cs, cp, c3), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_plaintext_validate(pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_validate(cs), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_validate(c3), BEAA_OK);

    const size_t n = beaa_ckks_context_n(g_ctx), limb = beaa_ckks_serial_limb_bytes(n, 30);
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    object *o;
    ck_assert_int_eq(beaa_ckks_params_serialize(g_ctx, &w), BEAA_OK);
    add("params", &w, 0, ld_params); /* no value bytes */
    ck_assert_int_eq(beaa_ckks_secret_key_serialize(sk, &w), BEAA_OK);
    o = add("secret key", &w, 0, ld_sk);
    o->value[0] = (range){8, 8 + n / 4};
    ck_assert_int_eq(beaa_ckks_public_key_serialize(pk, 0, &w), BEAA_OK);
    o = add("public key, seeded", &w, 0, ld_pk);
    o->value[0] = (range){4, PAY(o)};
    ck_assert_int_eq(beaa_ckks_public_key_serialize(pk, 1, &w), BEAA_OK);
    o = add("public key, full", &w, 1, ld_pk);
    o->value[0] = (range){4, PAY(o)};
    ck_assert_int_eq(beaa_ckks_relin_key_serialize(rk, 0, &w), BEAA_OK);
    o = add("relinearization key, seeded", &w, 0, ld_rk);
    o->value[0] = (range){8, PAY(o)};
    ck_assert_int_eq(beaa_ckks_relin_key_serialize(rk, 1, &w), BEAA_OK);
    o = add("relinearization key, full", &w, 1, ld_rk);
    o->value[0] = (range){8, PAY(o)};
    ck_assert_int_eq(beaa_ckks_galois_keys_serialize(gk, 0, &w), BEAA_OK);
    o = add("Galois keys (one), seeded", &w, 0, ld_gk);
    o->value[0] = (range){8 + 8 + 8, PAY(o)}; /* count, one element, dnum + n_limbs */
    ck_assert_int_eq(beaa_ckks_galois_keys_serialize(gk0, 0, &w), BEAA_OK);
    add("Galois keys (none)", &w, 0, ld_gk);
    ck_assert_int_eq(beaa_ckks_plaintext_serialize(pt, &w), BEAA_OK);
    o = add("plaintext", &w, 0, ld_pt);
    o->value[0] = (range){8, PAY(o)};
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(cs, &w), BEAA_OK);
    o = add("ciphertext, seeded", &w, 0, ld_ct);
    o->value[0] = (range){12, PAY(o)};
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(cp, &w), BEAA_OK);
    o = add("ciphertext, full", &w, 0, ld_ct);
    o->value[0] = (range){12, PAY(o)};
    ck_assert_int_eq(beaa_ckks_ciphertext_serialize(c3, &w), BEAA_OK);
    o = add("ciphertext, size 3", &w, 0, ld_ct);
    o->value[0] = (range){12, PAY(o)};
    ck_assert_uint_eq(PAY(&g_obj[2]), 4 + limb + BEAA_SEED_BYTES); /* the layout assumed above */
    beaa_serial_writer_free_secret(&w);
    beaa_ckks_ciphertext_free(cs);
    beaa_ckks_ciphertext_free(cp);
    beaa_ckks_ciphertext_free(c3);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_galois_keys_free(gk);
    beaa_ckks_galois_keys_free(gk0);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(sk);
}

static void teardown(void)
{
    for (int i = 0; i < g_nobj; i++) beaa_free_secret(g_obj[i].bytes, g_obj[i].len);
    g_nobj = 0;
    beaa_ckks_context_free(g_ctx);
    g_ctx = NULL;
}

static int is_value(const object *o, size_t payload_off)
{
    for (int k = 0; k < 4 && o->value[k].b; k++)
        if (payload_off >= o->value[k].a && payload_off < o->value[k].b) return 1;
    return 0;
}

/* The envelope with d's header fields (length and checksum recomputed) around payload p. */
static uint8_t *rewrap(const uint8_t *hdr, const uint8_t *p, size_t plen, size_t *len)
{
    beaa_serial_info info;
    ck_assert_int_eq(beaa_serial_header_parse(hdr, BEAA_SERIAL_HEADER_BYTES, &info), BEAA_OK);
    beaa_serial_writer w;
    size_t mark;
    beaa_serial_writer_init(&w, 0);
    ck_assert_int_eq(beaa_serial_envelope_begin(&w, info.type, info.flags, info.fingerprint, &mark), BEAA_OK);
    ck_assert_int_eq(beaa_serial_write_bytes(&w, p, plen), BEAA_OK);
    ck_assert_int_eq(beaa_serial_envelope_end(&w, mark), BEAA_OK);
    return beaa_serial_writer_take(&w, len);
}

static size_t stride(void) { return test_light() ? 7 : 1; }
/* Re-wrapped value-byte changes and cuts (each recomputes the checksum, loads, validates and
 * serializes again: the costly part): every one in the first 64 payload bytes, then every 11th
 * (29th under BEAA_TEST_LIGHT), which still visits every byte position of the bit-packed
 * residues (11 and 29 are prime to the packing periods) - a few seconds instead of a minute. */
static size_t vstride(size_t k) { return k < 64 ? 1 : test_light() ? 29 : 11; }

START_TEST(test_round_trip)
{
    build();
    for (int i = 0; i < g_nobj; i++) {
        object *o = &g_obj[i];
        beaa_serial_writer w;
        beaa_serial_writer_init(&w, 0);
        ck_assert_msg(o->load(o->bytes, o->len, o->form, &w) == BEAA_OK, "%s does not load", o->name);
        ck_assert_msg(w.len == o->len && memcmp(w.buf, o->bytes, o->len) == 0,
                      "%s: serialize -> deserialize -> serialize differs", o->name);
        beaa_serial_writer_free_secret(&w);
    }
    teardown();
}
END_TEST

START_TEST(test_raw_changes)
{
    build();
    for (int i = 0; i < g_nobj; i++) {
        object *o = &g_obj[i];
        uint8_t *c = malloc(o->len);
        ck_assert_ptr_nonnull(c);
        beaa_serial_writer w;
        beaa_serial_writer_init(&w, 0);
        for (size_t k = 0; k < o->len; k += stride()) {
            memcpy(c, o->bytes, o->len);
            c[k] ^= 0xff;
            beaa_serial_writer_reset(&w);
            beaa_status st = o->load(c, o->len, o->form, &w);
            EXPECT(st != BEAA_OK, "%s: byte %zu changed and still accepted", o->name, k);
        }
        for (size_t len = 0; len < o->len; len += (len < 80 ? 1 : stride())) {
            beaa_serial_writer_reset(&w);
            beaa_status st = o->load(o->bytes, len, o->form, &w);
            EXPECT(st == BEAA_ERR_TRUNCATED, "%s: truncation to %zu bytes gives %s", o->name, len,
                   beaa_strerror(st));
        }
        beaa_serial_writer_free_secret(&w);
        free(c);
    }
    teardown();
}
END_TEST

START_TEST(test_rewrapped_changes)
{
    build();
    size_t total_struct = 0, total_value = 0, total_accepted = 0;
    for (int i = 0; i < g_nobj; i++) {
        object *o = &g_obj[i];
        const size_t plen = PAY(o);
        uint8_t *hdr = malloc(BEAA_SERIAL_HEADER_BYTES), *p = malloc(plen + 1);
        ck_assert(hdr && p);
        beaa_serial_writer w;
        beaa_serial_writer_init(&w, 0);
        /* header bytes but the length field (48..55), which the re-wrap rewrites */
        for (size_t k = 0; k < 48; k++) {
            memcpy(hdr, o->bytes, BEAA_SERIAL_HEADER_BYTES);
            hdr[k] ^= 0xff;
            if (beaa_serial_header_parse(hdr, BEAA_SERIAL_HEADER_BYTES, NULL) != BEAA_OK) continue;
            size_t len;
            uint8_t *e = rewrap(hdr, o->bytes + BEAA_SERIAL_HEADER_BYTES, plen, &len);
            beaa_serial_writer_reset(&w);
            beaa_status st = o->load(e, len, o->form, &w);
            EXPECT(st != BEAA_OK, "%s: header byte %zu changed (checksum recomputed) accepted", o->name, k);
            beaa_free(e);
            total_struct++;
        }
        for (size_t k = 0; k < plen; k += (is_value(o, k) && is_value(o, k + vstride(k)) ? vstride(k) : 1)) {
            memcpy(p, o->bytes + BEAA_SERIAL_HEADER_BYTES, plen);
            p[k] ^= 0xff;
            size_t len;
            uint8_t *e = rewrap(o->bytes, p, plen, &len);
            beaa_serial_writer_reset(&w);
            beaa_status st = o->load(e, len, o->form, &w);
            if (is_value(o, k)) {
                o->tried++;
                total_value++;
                if (st == BEAA_OK) { /* another valid object: it validated; it must round-trip */
                    o->accepted++;
                    EXPECT(w.len == len && memcmp(w.buf, e, len) == 0,
                           "%s: value byte %zu changed: accepted but does not round-trip", o->name, k);
                }
            } else {
                total_struct++;
                EXPECT(st != BEAA_OK, "%s: structural payload byte %zu changed (checksum recomputed) accepted",
                       o->name, k);
            }
            beaa_free(e);
        }
        /* every shorter payload, and one appended byte, with a valid checksum */
        for (size_t cut = 1; cut <= plen; cut += vstride(cut)) {
            size_t len;
            uint8_t *e = rewrap(o->bytes, o->bytes + BEAA_SERIAL_HEADER_BYTES, plen - cut, &len);
            beaa_serial_writer_reset(&w);
            beaa_status st = o->load(e, len, o->form, &w);
            EXPECT(st != BEAA_OK, "%s: payload cut by %zu bytes (checksum recomputed) accepted", o->name, cut);
            beaa_free(e);
        }
        memcpy(p, o->bytes + BEAA_SERIAL_HEADER_BYTES, plen);
        p[plen] = 0;
        size_t len;
        uint8_t *e = rewrap(o->bytes, p, plen + 1, &len);
        beaa_serial_writer_reset(&w);
        ck_assert_msg(o->load(e, len, o->form, &w) != BEAA_OK, "%s: a trailing payload byte accepted", o->name);
        beaa_free(e);
        total_accepted += o->accepted;
        /* the value bytes that change into another valid object: they must be a minority of
         * the value bytes tried, except for secret-key codes, seeds and residues of small
         * primes where most changes stay in range */
        fprintf(stderr, "  %-28s %6zu payload bytes: value-byte changes tried %6zu, loaded as valid %6zu\n",
                o->name, plen, o->tried, o->accepted);
        beaa_serial_writer_free_secret(&w);
        free(hdr);
        free(p);
    }
    fprintf(stderr, "  structural changes rejected: %zu of %zu; value changes accepted (valid): %zu of %zu\n",
            total_struct, total_struct, total_accepted, total_value);
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("roundtrip");
    TCase *tc = tcase_create("objects");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_raw_changes);
    tcase_add_test(tc, test_rewrapped_changes);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 0);
}
