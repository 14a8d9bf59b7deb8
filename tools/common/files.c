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
#include "lib/pool.h"
#include "ckks/serialize.h"
#include "nn/pack.h"

const char *tool_prog = "beaa";

const char *tool_nomem_hint(void)
{
    static char buf[320];
    beaa_pool_stats ps;
    beaa_pool_get_stats(&ps);
    if (!ps.refusals) return "";
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur != RLIM_INFINITY) {
        snprintf(buf, sizeof buf, " (the kernel refused new memory mappings: this process may use "
                 "%.0f MiB of address space, `ulimit -v`)", (double)r.rlim_cur / 1048576.0);
        return buf;
    }
    long most = 0;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &most) != 1) most = 0;
        fclose(f);
    }
    if (most > 0)
        snprintf(buf, sizeof buf, " (the kernel refused new memory mappings: a process may hold %ld, "
                 "vm.max_map_count; raise it, e.g. `sysctl -w vm.max_map_count=%ld`)", most, 4 * most);
    else
        snprintf(buf, sizeof buf, " (the kernel refused new memory mappings)");
    return buf;
}

int tool_fail(const char *what, beaa_status st)
{
    const char *hint = "";
    switch (st) {
    case BEAA_ERR_NOMEM: hint = tool_nomem_hint(); break;
    case BEAA_ERR_EXISTS: hint = " (add --overwrite to replace it)"; break;
    case BEAA_ERR_INSECURE: hint = " (rings below 128-bit security need --insecure-small-ring: tests and teaching only)"; break;
    case BEAA_ERR_PARAMS_MISMATCH: hint = " (the files were made with different keys or parameters)"; break;
    case BEAA_ERR_CHECKSUM: case BEAA_ERR_TRUNCATED: hint = " (the file is damaged or incomplete: copy it again)"; break;
    case BEAA_ERR_FORMAT: hint = " (not a file of this kind; `beaa info FILE` says what it is)"; break;
    case BEAA_ERR_CPU: hint = " (unset BEAA_ARCH or choose one of ref, avx2, avx512 that this CPU has)"; break;
    default: break;
    }
    fprintf(stderr, "%s: %s: %s%s\n", tool_prog, what, beaa_strerror(st), hint);
    return 1;
}

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

#ifndef BEAA_SHARE_DIR
#define BEAA_SHARE_DIR "/usr/local/share/beaa" /* the Makefile passes $(PREFIX)/share/beaa */
#endif

const char *find_model(const char *path, char *buf, size_t cap, char *tried, size_t tcap)
{
    if (strcmp(path, DEFAULT_MODEL) != 0) return path;
    char exe[4096], cand[4][MODEL_PATH_MAX];
    int nc = 0;
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    snprintf(cand[nc++], sizeof cand[0], "%s", DEFAULT_MODEL);
    if (l > 0) {
        exe[l] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(cand[nc++], sizeof cand[0], "%s/../%s", exe, DEFAULT_MODEL);
            snprintf(cand[nc++], sizeof cand[0], "%s/../share/beaa/%s", exe, DEFAULT_MODEL);
        }
    }
    snprintf(cand[nc++], sizeof cand[0], "%s/%s", BEAA_SHARE_DIR, DEFAULT_MODEL);
    size_t tl = 0;
    tried[0] = 0;
    for (int i = 0; i < nc; i++) {
        size_t cl = strnlen(cand[i], sizeof cand[0]);
        if (cl < cap && access(cand[i], F_OK) == 0) {
            memcpy(buf, cand[i], cl + 1);
            return buf;
        }
        tl += (size_t)snprintf(tried + tl, tl < tcap ? tcap - tl : 0, "%s%s", i ? ", " : "", cand[i]);
        if (tl >= tcap) tl = tcap - 1;
    }
    return NULL;
}

int load_model(const char *path, setup *s)
{
    memset(s, 0, sizeof *s);
    char buf[MODEL_PATH_MAX], tried[MODEL_TRIED_MAX];
    const char *use = find_model(path, buf, sizeof buf, tried, sizeof tried);
    if (!use) {
        fprintf(stderr, "%s: model %s: not found (tried %s); give the model file with --model PATH\n",
                tool_prog, path, tried);
        return 1;
    }
    beaa_status st = beaa_model_load(use, &s->m);
    if (st != BEAA_OK) {
        fprintf(stderr, "%s: model %s: %s%s\n", tool_prog, use, beaa_strerror(st),
                st == BEAA_ERR_NOT_FOUND ? "; give the model file with --model PATH" : "");
        return 1;
    }
    st = beaa_nn_net_fold(s->m, &s->net);
    if (st != BEAA_OK) {
        fprintf(stderr, "%s: model %s cannot be run encrypted: %s%s\n", tool_prog, path,
                beaa_strerror(st),
                st == BEAA_ERR_MODEL ? " (needs polynomial activations and non-overlapping pools)" : "");
        return 1;
    }
    return 0;
}

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

/* A key file of either side: the secret key (sk non-NULL; the file's bytes are wiped) or the
 * relinearization key (rk; the public key after it is checked and skipped), then the scales. */
static beaa_status load_keys(const char *path, int insecure, beaa_ckks_context **ctx,
                             beaa_ckks_secret_key **sk, beaa_ckks_relin_key **rk, double *scale,
                             double *in_scale)
{
    keyfile kf;
    const uint8_t *obj;
    size_t len;
    if (sk) *sk = NULL;
    if (rk) *rk = NULL;
    beaa_status st = kf_open(path, insecure, &kf, ctx);
    if (sk) {
        if (st == BEAA_OK) st = kf_next(&kf, BEAA_OBJ_SECRET_KEY, &obj, &len);
        if (st == BEAA_OK) st = beaa_ckks_secret_key_deserialize(*ctx, obj, len, sk);
    } else {
        if (st == BEAA_OK) st = kf_next(&kf, BEAA_OBJ_RELIN_KEY, &obj, &len);
        if (st == BEAA_OK) st = beaa_ckks_relin_key_deserialize(*ctx, obj, len, rk);
        if (st == BEAA_OK) st = kf_next(&kf, BEAA_OBJ_PUBLIC_KEY, &obj, &len);
    }
    if (st == BEAA_OK) st = kf_meta(&kf, *ctx, scale, in_scale);
    kf_close(&kf, sk != NULL);
    if (st != BEAA_OK) {
        if (sk) { beaa_ckks_secret_key_free(*sk); *sk = NULL; }
        if (rk) { beaa_ckks_relin_key_free(*rk); *rk = NULL; }
        beaa_ckks_context_free(*ctx);
        *ctx = NULL;
    }
    return st;
}

beaa_status load_secret(const char *path, int insecure, beaa_ckks_context **ctx,
                        beaa_ckks_secret_key **sk, double *scale, double *in_scale)
{
    return load_keys(path, insecure, ctx, sk, NULL, scale, in_scale);
}

beaa_status load_server_keys(const char *path, int insecure, beaa_ckks_context **ctx,
                             beaa_ckks_relin_key **rk, double *scale, double *in_scale)
{
    return load_keys(path, insecure, ctx, NULL, rk, scale, in_scale);
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

/* Starts a ciphertext stream at path: the metadata into sbuf (initialized here; the caller
 * frees it), the stream opened in *sw (NULL on error). */
static beaa_status ct_writer_open(const char *path, int overwrite, const beaa_ckks_context *ctx,
                                  const char *magic, uint32_t n_images, uint32_t c, uint32_t h,
                                  uint32_t w, beaa_serial_writer *sbuf, beaa_stream_writer **sw)
{
    ct_meta meta;
    memcpy(meta.magic, magic, 8);
    meta.n_images = n_images; meta.c = c; meta.h = h; meta.w = w;
    *sw = NULL;
    beaa_serial_writer_init(sbuf, 0);
    beaa_status st = meta_write(sbuf, &meta);
    if (st == BEAA_OK)
        st = beaa_stream_writer_open(path, overwrite, BEAA_OBJ_CIPHERTEXT,
                                     beaa_ckks_context_fingerprint(ctx), sbuf->buf, sbuf->len, sw);
    return st;
}

/* Appends ct to the stream, serialized through sbuf. */
static beaa_status ct_writer_append(beaa_stream_writer *sw, beaa_serial_writer *sbuf,
                                    const beaa_ckks_ciphertext *ct)
{
    beaa_serial_writer_reset(sbuf);
    beaa_status st = beaa_ckks_ciphertext_serialize(ct, sbuf);
    if (st == BEAA_OK) st = beaa_stream_writer_append(sw, sbuf->buf, sbuf->len);
    return st;
}

/* Ends the stream: closed (renamed into place) when st is BEAA_OK, else aborted; sbuf freed. */
static beaa_status ct_writer_end(beaa_stream_writer *sw, beaa_serial_writer *sbuf, beaa_status st)
{
    beaa_serial_writer_free(sbuf);
    if (!sw) return st;
    if (st != BEAA_OK) { beaa_stream_writer_abort(sw); return st; }
    return beaa_stream_writer_close(sw);
}

beaa_status write_cts(const char *path, int overwrite, const beaa_ckks_context *ctx,
                      const char *magic, uint32_t n_images, uint32_t c, uint32_t h, uint32_t w,
                      beaa_ckks_ciphertext *const *cts, size_t count)
{
    beaa_serial_writer sbuf;
    beaa_stream_writer *sw;
    beaa_status st = ct_writer_open(path, overwrite, ctx, magic, n_images, c, h, w, &sbuf, &sw);
    for (size_t i = 0; i < count && st == BEAA_OK; i++) st = ct_writer_append(sw, &sbuf, cts[i]);
    return ct_writer_end(sw, &sbuf, st);
}

beaa_status read_cts(const char *path, const beaa_ckks_context *ctx, const char *magic,
                     ct_meta *meta, beaa_ckks_ciphertext ***cts, size_t *count, const char **why)
{
    *cts = NULL;
    ct_source src;
    beaa_status st = ct_source_open(path, ctx, magic, &src, why);
    *meta = src.meta;
    if (st != BEAA_OK) return st;
    size_t n = src.count;
    *cts = calloc(n, sizeof **cts);
    if (!*cts) { ct_source_close(&src); return BEAA_ERR_NOMEM; }
    for (size_t i = 0; i < n && st == BEAA_OK; i++) {
        const uint8_t *obj;
        size_t len;
        st = beaa_stream_reader_next(src.r, &obj, &len);
        if (st == BEAA_OK) st = beaa_ckks_ciphertext_deserialize(ctx, obj, len, &(*cts)[i]);
    }
    ct_source_close(&src);
    if (st != BEAA_OK) {
        free_cts(*cts, n);
        *cts = NULL;
        return st;
    }
    *count = n;
    return BEAA_OK;
}

void free_cts(beaa_ckks_ciphertext **cts, size_t n)
{
    if (!cts) return;
    for (size_t i = 0; i < n; i++) beaa_ckks_ciphertext_free(cts[i]);
    free(cts);
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
    beaa_serial_writer sbuf;
    beaa_stream_writer *sw;
    beaa_status st = ct_writer_open(path, overwrite, ctx, CT_MAGIC, n, c, h, w, &sbuf, &sw);
    size_t xb = sizeof(double) * (size_t)n * chunk;
    double *xc = st == BEAA_OK ? beaa_alloc(xb) : NULL; /* the client's values: wiped below */
    beaa_ckks_ciphertext *cts[32];
    if (st == BEAA_OK && !xc) st = BEAA_ERR_NOMEM;
    for (size_t e0 = 0; e0 < el && st == BEAA_OK; e0 += chunk) {
        size_t m = el - e0 < chunk ? el - e0 : chunk;
        for (size_t i = 0; i < n; i++)
            for (size_t e = 0; e < m; e++) xc[i * m + e] = x[i * el + e0 + e];
        st = beaa_nn_pack_encrypt(sk, xc, n, m, beaa_ckks_context_max_level(ctx), in_scale, cts);
        for (size_t e = 0; e < m && st == BEAA_OK; e++) st = ct_writer_append(sw, &sbuf, cts[e]);
        for (size_t e = 0; e < m; e++) beaa_ckks_ciphertext_free(cts[e]); /* NULL after an error */
    }
    beaa_free_secret(xc, xb);
    return ct_writer_end(sw, &sbuf, st);
}
