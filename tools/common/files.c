/* files.c - what the beaa tools share: the model and its plan, key files, ciphertext stream
 * files (whole, and one ciphertext at a time), see files.h. */
#include "tools/common/files.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "lib/fileio.h"
#include "lib/mem.h"
#include "ckks/serialize.h"
#include "nn/pack.h"

const char *tool_prog = "beaa";

int parse_size(const char *s, size_t *bytes)
{
    if (!s || !*s || *s == '-' || *s == '+') return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0)) return -1;
    double mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1024.0; end++; break;
    case 'm': case 'M': mul = 1048576.0; end++; break;
    case 'g': case 'G': mul = 1073741824.0; end++; break;
    case 't': case 'T': mul = 1099511627776.0; end++; break;
    default: break;
    }
    if (*end == 'i' && end[1] == 'B') end += 2;
    else if (*end == 'B') end++;
    if (*end) return -1;
    v *= mul;
    if (v >= 9.0e18) return -1;
    *bytes = (size_t)v;
    return 0;
}

size_t rss_now_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    int ok = f && fscanf(f, "%lu %lu", &size, &res) == 2;
    if (f) fclose(f);
    long pg = sysconf(_SC_PAGESIZE);
    return ok && pg > 0 ? (size_t)res * (size_t)pg : 0;
}

size_t rss_peak_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (size_t)ru.ru_maxrss * 1024;
}

size_t phys_mem_bytes(void)
{
    long n = sysconf(_SC_PHYS_PAGES), pg = sysconf(_SC_PAGESIZE);
    return n > 0 && pg > 0 ? (size_t)n * (size_t)pg : 0;
}

/* ------------------------------------------------------------------ model and plan */

void setup_free(setup *s)
{
    beaa_nn_net_free(s->net);
    beaa_model_free(s->m);
}

int load_model(const char *path, setup *s)
{
    memset(s, 0, sizeof *s);
    beaa_status st = beaa_model_load(path, &s->m);
    if (st != BEAA_OK) {
        fprintf(stderr, "%s: model %s: %s\n", tool_prog, path, beaa_strerror(st));
        return 1;
    }
    st = beaa_nn_net_fold(s->m, &s->net);
    if (st != BEAA_OK) {
        fprintf(stderr, "%s: model %s cannot be run encrypted: %s%s\n", tool_prog, path, beaa_strerror(st),
                st == BEAA_ERR_MODEL ? " (needs polynomial activations and non-overlapping pools)" : "");
        return 1;
    }
    return 0;
}

/* Plans for batch images; log_n forces a ring (0: choose). */
int make_plan(setup *s, size_t batch, unsigned log_n, int insecure, unsigned log_scale,
                     unsigned in_log_scale)
{
    beaa_nn_plan_opts o;
    beaa_nn_plan_opts_default(&o);
    o.batch = batch;
    o.force_log_n = log_n;
    o.allow_insecure = insecure;
    if (log_scale) o.log_scale = log_scale;
    if (in_log_scale) o.in_log_scale = in_log_scale;
    beaa_status st = beaa_nn_plan_make(s->net, &o, &s->plan);
    if (st != BEAA_OK) {
        fprintf(stderr, "%s: cannot plan encrypted inference: %s: %s\n", tool_prog, beaa_strerror(st),
                s->plan.msg);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ key files */

beaa_status kf_next(keyfile *kf, uint32_t type, const uint8_t **obj, size_t *len)
{
    size_t used = 0;
    beaa_serial_reader r;
    if (kf->off >= kf->len) return BEAA_ERR_TRUNCATED;
    beaa_status st = beaa_serial_envelope_open(kf->data + kf->off, kf->len - kf->off, type, NULL,
                                               &r, NULL, &used);
    if (st != BEAA_OK) return st;
    *obj = kf->data + kf->off;
    *len = used;
    kf->off += used;
    return BEAA_OK;
}

beaa_status kf_meta(keyfile *kf, const beaa_ckks_context *ctx, double *scale, double *in_scale)
{
    size_t used = 0;
    beaa_serial_reader r;
    if (kf->off >= kf->len) return BEAA_ERR_TRUNCATED;
    beaa_status st = beaa_serial_envelope_open(kf->data + kf->off, kf->len - kf->off, NN_META_TYPE,
                                               beaa_ckks_context_fingerprint(ctx), &r, NULL, &used);
    if (st == BEAA_OK) st = beaa_serial_read_f64(&r, scale);
    if (st == BEAA_OK) st = beaa_serial_read_f64(&r, in_scale);
    if (st == BEAA_OK && (!(*scale >= 2) || !(*in_scale >= 2) || *scale > 1e15 || *in_scale > 1e15))
        st = BEAA_ERR_CORRUPT;
    kf->off += used;
    return st;
}

unsigned log2u(double v)
{
    unsigned k = 0;
    while (k < 62 && (double)(1ull << k) < v) k++;
    return k;
}

/* Opens a key file: context from its params envelope. */
beaa_status kf_open(const char *path, int insecure, keyfile *kf, beaa_ckks_context **ctx)
{
    memset(kf, 0, sizeof *kf);
    *ctx = NULL;
    beaa_status st = beaa_file_read_all(path, MAX_KEYFILE, &kf->data, &kf->len);
    if (st != BEAA_OK) return st;
    const uint8_t *obj;
    size_t len;
    st = kf_next(kf, BEAA_OBJ_PARAMS, &obj, &len);
    if (st == BEAA_OK) st = beaa_ckks_params_deserialize(obj, len, insecure, ctx);
    return st;
}

void kf_close(keyfile *kf, int secret)
{
    if (secret && kf->data) beaa_memzero(kf->data, kf->len);
    free(kf->data);
    memset(kf, 0, sizeof *kf);
}

/* ------------------------------------------------------------------ ciphertext streams */


beaa_status meta_write(beaa_serial_writer *w, const ct_meta *m)
{
    beaa_status st = beaa_serial_write_bytes(w, m->magic, 8);
    if (st == BEAA_OK) st = beaa_serial_write_u32(w, m->n_images);
    if (st == BEAA_OK) st = beaa_serial_write_u32(w, m->c);
    if (st == BEAA_OK) st = beaa_serial_write_u32(w, m->h);
    if (st == BEAA_OK) st = beaa_serial_write_u32(w, m->w);
    return st;
}

/* Parses and bounds the metadata: BEAA_ERR_FORMAT (size, magic other than `magic`) or
 * BEAA_ERR_CORRUPT (a field out of range), with a sentence in *why. The shape is bounded per
 * field (c <= BEAA_MODEL_MAX_CH, h and w <= BEAA_MODEL_MAX_DIM, all >= 1) before the product is
 * formed, so c*h*w cannot overflow; it must be at most CT_MAX_COUNT. */
beaa_status meta_read(const uint8_t *p, size_t len, const char *magic, ct_meta *m,
                             const char **why)
{
    beaa_serial_reader r;
    memset(m, 0, sizeof *m);
    *why = "metadata has the wrong size (not a file of the beaa tool, or another version)";
    if (!p || len != CT_META_BYTES) return BEAA_ERR_FORMAT;
    beaa_serial_reader_init(&r, p, len);
    beaa_status st = beaa_serial_read_bytes(&r, m->magic, 8);
    if (st == BEAA_OK) st = beaa_serial_read_u32(&r, &m->n_images);
    if (st == BEAA_OK) st = beaa_serial_read_u32(&r, &m->c);
    if (st == BEAA_OK) st = beaa_serial_read_u32(&r, &m->h);
    if (st == BEAA_OK) st = beaa_serial_read_u32(&r, &m->w);
    if (st != BEAA_OK) return BEAA_ERR_FORMAT;
    if (memcmp(m->magic, magic, 8) != 0) {
        *why = !memcmp(magic, CT_MAGIC, 8) ? "not a file of encrypted inputs (beaa encrypt writes them)"
                                            : "not a file of encrypted logits (beaa infer writes them)";
        return BEAA_ERR_FORMAT;
    }
    if (m->c == 0 || m->h == 0 || m->w == 0 || m->c > BEAA_MODEL_MAX_CH ||
        m->h > BEAA_MODEL_MAX_DIM || m->w > BEAA_MODEL_MAX_DIM) {
        *why = "tensor shape out of range (channels 1..4096, height and width 1..1024)";
        return BEAA_ERR_CORRUPT;
    }
    if ((uint64_t)m->c * m->h * m->w > CT_MAX_COUNT) {
        *why = "tensor shape holds more than 1,000,000 elements";
        return BEAA_ERR_CORRUPT;
    }
    if (m->n_images == 0) {
        *why = "image count is 0";
        return BEAA_ERR_CORRUPT;
    }
    *why = NULL;
    return BEAA_OK;
}

beaa_status write_cts(const char *path, int overwrite, const beaa_ckks_context *ctx,
                      const char *magic, uint32_t n_images, uint32_t c, uint32_t h, uint32_t w,
                      beaa_ckks_ciphertext *const *cts, size_t count)
{
    ct_meta meta;
    memcpy(meta.magic, magic, 8);
    meta.n_images = n_images; meta.c = c; meta.h = h; meta.w = w;
    beaa_serial_writer sbuf;
    beaa_serial_writer_init(&sbuf, 0);
    beaa_status st = meta_write(&sbuf, &meta);
    beaa_stream_writer *sw = NULL;
    if (st == BEAA_OK)
        st = beaa_stream_writer_open(path, overwrite, BEAA_OBJ_CIPHERTEXT,
                                     beaa_ckks_context_fingerprint(ctx), sbuf.buf, sbuf.len, &sw);
    if (st != BEAA_OK) { beaa_serial_writer_free(&sbuf); return st; }
    for (size_t i = 0; i < count && st == BEAA_OK; i++) {
        beaa_serial_writer_reset(&sbuf);
        st = beaa_ckks_ciphertext_serialize(cts[i], &sbuf);
        if (st == BEAA_OK) st = beaa_stream_writer_append(sw, sbuf.buf, sbuf.len);
    }
    beaa_serial_writer_free(&sbuf);
    if (st != BEAA_OK) { beaa_stream_writer_abort(sw); return st; }
    return beaa_stream_writer_close(sw);
}

/* Reads a ciphertext stream of the given kind for ctx; *cts gets meta->c*h*w ciphertexts.
 * On a metadata error *why (else NULL) says what is wrong in a sentence. */
beaa_status read_cts(const char *path, const beaa_ckks_context *ctx, const char *magic,
                     ct_meta *meta, beaa_ckks_ciphertext ***cts, size_t *count, const char **why)
{
    *cts = NULL;
    *why = NULL;
    beaa_stream_reader *r = NULL;
    beaa_status st = beaa_stream_reader_open(path, BEAA_OBJ_CIPHERTEXT,
                                             beaa_ckks_context_fingerprint(ctx),
                                             beaa_ckks_ciphertext_max_bytes(ctx), &r);
    if (st != BEAA_OK) return st;
    size_t ml = 0;
    const uint8_t *mp = beaa_stream_reader_meta(r, &ml);
    st = meta_read(mp, ml, magic, meta, why);
    if (st != BEAA_OK) { beaa_stream_reader_close(r); return st; }
    uint64_t n = beaa_stream_reader_count(r);
    if (n != (uint64_t)meta->c * meta->h * meta->w) {
        *why = "the number of ciphertexts does not match the tensor shape";
        beaa_stream_reader_close(r);
        return BEAA_ERR_CORRUPT;
    }
    if (meta->n_images > beaa_ckks_context_slots(ctx)) {
        *why = "more images than the keys' slots";
        beaa_stream_reader_close(r);
        return BEAA_ERR_CORRUPT;
    }
    *cts = calloc((size_t)n, sizeof **cts);
    if (!*cts) { beaa_stream_reader_close(r); return BEAA_ERR_NOMEM; }
    for (uint64_t i = 0; i < n && st == BEAA_OK; i++) {
        const uint8_t *obj;
        size_t len;
        st = beaa_stream_reader_next(r, &obj, &len);
        if (st == BEAA_OK) st = beaa_ckks_ciphertext_deserialize(ctx, obj, len, &(*cts)[i]);
    }
    beaa_stream_reader_close(r);
    if (st != BEAA_OK) {
        for (uint64_t i = 0; i < n; i++) beaa_ckks_ciphertext_free((*cts)[i]);
        free(*cts);
        *cts = NULL;
        return st;
    }
    *count = (size_t)n;
    return BEAA_OK;
}

void free_cts(beaa_ckks_ciphertext **cts, size_t n)
{
    if (!cts) return;
    for (size_t i = 0; i < n; i++) beaa_ckks_ciphertext_free(cts[i]);
    free(cts);
}

beaa_status load_server_keys(const char *path, int insecure, beaa_ckks_context **ctx,
                             beaa_ckks_relin_key **rk, double *scale, double *in_scale)
{
    keyfile kf;
    const uint8_t *obj;
    size_t len;
    *rk = NULL;
    beaa_status st = kf_open(path, insecure, &kf, ctx);
    if (st == BEAA_OK) st = kf_next(&kf, BEAA_OBJ_RELIN_KEY, &obj, &len);
    if (st == BEAA_OK) st = beaa_ckks_relin_key_deserialize(*ctx, obj, len, rk);
    if (st == BEAA_OK) st = kf_next(&kf, BEAA_OBJ_PUBLIC_KEY, &obj, &len);
    if (st == BEAA_OK) st = kf_meta(&kf, *ctx, scale, in_scale);
    kf_close(&kf, 0);
    if (st != BEAA_OK) {
        beaa_ckks_relin_key_free(*rk);
        *rk = NULL;
        beaa_ckks_context_free(*ctx);
        *ctx = NULL;
    }
    return st;
}

beaa_status ct_source_open(const char *path, const beaa_ckks_context *ctx, const char *magic,
                           ct_source *src, const char **why)
{
    memset(src, 0, sizeof *src);
    *why = NULL;
    src->ctx = ctx;
    beaa_status st = beaa_stream_reader_open(path, BEAA_OBJ_CIPHERTEXT,
                                             beaa_ckks_context_fingerprint(ctx),
                                             beaa_ckks_ciphertext_max_bytes(ctx), &src->r);
    if (st != BEAA_OK) return st;
    size_t ml = 0;
    const uint8_t *mp = beaa_stream_reader_meta(src->r, &ml);
    st = meta_read(mp, ml, magic, &src->meta, why);
    uint64_t n = beaa_stream_reader_count(src->r);
    if (st == BEAA_OK && n != (uint64_t)src->meta.c * src->meta.h * src->meta.w) {
        *why = "the number of ciphertexts does not match the tensor shape";
        st = BEAA_ERR_CORRUPT;
    }
    if (st == BEAA_OK && src->meta.n_images > beaa_ckks_context_slots(ctx)) {
        *why = "more images than the keys' slots";
        st = BEAA_ERR_CORRUPT;
    }
    if (st != BEAA_OK) { ct_source_close(src); return st; }
    src->count = (size_t)n;
    return BEAA_OK;
}

beaa_status ct_source_get(ct_source *src, size_t i, beaa_ckks_ciphertext **ct)
{
    *ct = NULL;
    if (!src->r || i >= src->count) return BEAA_ERR_ARG;
    const uint8_t *obj;
    size_t len = 0;
    beaa_status st = beaa_stream_reader_seek(src->r, i);
    if (st == BEAA_OK) st = beaa_stream_reader_next(src->r, &obj, &len);
    if (st == BEAA_OK) st = beaa_ckks_ciphertext_deserialize(src->ctx, obj, len, ct);
    if (st == BEAA_OK) { src->reads++; src->read_bytes += len; }
    return st;
}

void ct_source_close(ct_source *src)
{
    beaa_stream_reader_close(src->r);
    src->r = NULL;
}

beaa_status encrypt_to_file(const char *path, int overwrite, const beaa_ckks_secret_key *sk,
                            const double *x, uint32_t n, uint32_t c, uint32_t h, uint32_t w,
                            double in_scale)
{
    const beaa_ckks_context *ctx = sk->ctx;
    const size_t el = (size_t)c * h * w, chunk = 32;
    ct_meta meta;
    memcpy(meta.magic, CT_MAGIC, 8);
    meta.n_images = n; meta.c = c; meta.h = h; meta.w = w;
    beaa_serial_writer sbuf;
    beaa_serial_writer_init(&sbuf, 0);
    beaa_status st = meta_write(&sbuf, &meta);
    beaa_stream_writer *sw = NULL;
    if (st == BEAA_OK)
        st = beaa_stream_writer_open(path, overwrite, BEAA_OBJ_CIPHERTEXT,
                                     beaa_ckks_context_fingerprint(ctx), sbuf.buf, sbuf.len, &sw);
    size_t xb = sizeof(double) * (size_t)n * chunk;
    double *xc = st == BEAA_OK ? beaa_alloc(xb) : NULL; /* the client's values: wiped below */
    beaa_ckks_ciphertext *cts[32];
    if (st == BEAA_OK && !xc) st = BEAA_ERR_NOMEM;
    for (size_t e0 = 0; e0 < el && st == BEAA_OK; e0 += chunk) {
        size_t m = el - e0 < chunk ? el - e0 : chunk;
        for (size_t i = 0; i < n; i++)
            for (size_t e = 0; e < m; e++) xc[i * m + e] = x[i * el + e0 + e];
        st = beaa_nn_pack_encrypt(sk, xc, n, m, beaa_ckks_context_max_level(ctx), in_scale, cts);
        for (size_t e = 0; e < m && st == BEAA_OK; e++) {
            beaa_serial_writer_reset(&sbuf);
            st = beaa_ckks_ciphertext_serialize(cts[e], &sbuf);
            if (st == BEAA_OK) st = beaa_stream_writer_append(sw, sbuf.buf, sbuf.len);
        }
        for (size_t e = 0; e < m; e++) beaa_ckks_ciphertext_free(cts[e]); /* NULL after an error */
    }
    beaa_free_secret(xc, xb);
    beaa_serial_writer_free(&sbuf);
    if (!sw) return st;
    if (st != BEAA_OK) { beaa_stream_writer_abort(sw); return st; }
    return beaa_stream_writer_close(sw);
}
