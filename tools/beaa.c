/* beaa - privacy-preserving inference with files: keygen / encrypt (client), infer (server,
 * never reads the secret key), decrypt (client), info, and demo (the main job: the whole
 * Fashion-MNIST test set in one batch, every step in one process, with timings and memory). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "lib/cpu.h"
#include "lib/pool.h"
#include "lib/rng.h"
#include "lib/fileio.h"
#include "lib/mem.h"
#include "lib/serial.h"
#include "lib/stream.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/model.h"
#include "nn/pack.h"
#include "nn/plain.h"
#include "nn/plan.h"
#include "nn/quant.h"
#include "nn/upload.h"
#include "train/data.h"
#include "tools/common/files.h"
#include "tools/common/infer.h"

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* ------------------------------------------------------------------ options */

typedef struct opts {
    const char *model, *secret, *keys, *in, *out, *images, *labels, *file;
    size_t count, batch, random;
    const char *mem_limit, *scratch, *scratch_limit;
    int overwrite, threads, insecure, log_n, log_scale, dry_run;
    int flood_set;   /* --flood given: decrypt with noise flooding of deviation 2^flood */
    double flood;
} opts;

/* A whole decimal number in [lo, hi] (no sign, no trailing text): 1, else 0 and a message. */
static int parse_num(const char *name, const char *v, unsigned long lo, unsigned long hi,
                     unsigned long *out)
{
    char *end = NULL;
    unsigned long x = 0;
    int ok = v[0] >= '0' && v[0] <= '9';
    if (ok) {
        errno = 0;
        x = strtoul(v, &end, 10);
        ok = errno == 0 && end && *end == 0 && x >= lo && x <= hi;
    }
    if (!ok) {
        fprintf(stderr, "beaa: %s takes a whole number from %lu to %lu (got '%s')\n", name, lo, hi, v);
        return 0;
    }
    *out = x;
    return 1;
}

static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->model = DEFAULT_MODEL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define STR(name, field) if (!strcmp(a, name)) { if (!v) goto missing; o->field = v; i++; continue; }
#define NUM(name, field, lo, hi) if (!strcmp(a, name)) { unsigned long x_; if (!v) goto missing; \
                                      if (!parse_num(name, v, lo, hi, &x_)) return -1;       \
                                      o->field = x_; i++; continue; }
        STR("--model", model) STR("--secret", secret) STR("--keys", keys) STR("--in", in)
        STR("--out", out) STR("--images", images) STR("--labels", labels)
        STR("--mem-limit", mem_limit) STR("--scratch", scratch) STR("--scratch-limit", scratch_limit)
        NUM("--count", count, 1, 1ul << 31) NUM("--batch", batch, 1, 1ul << 31)
        NUM("--random", random, 1, 1ul << 31) NUM("--threads", threads, 1, 4096)
        NUM("--log-n", log_n, 1, 30) NUM("--log-scale", log_scale, 1, 60)
        if (!strcmp(a, "--flood")) {
            char *end = NULL;
            if (!v) goto missing;
            o->flood = strtod(v, &end);
            if (!end || *end || !(o->flood >= 0 && o->flood <= 50)) {
                fprintf(stderr, "beaa: --flood takes log2 of the noise deviation, 0..50 (got '%s')\n", v);
                return -1;
            }
            o->flood_set = 1;
            i++;
            continue;
        }
        if (!strcmp(a, "--overwrite")) { o->overwrite = 1; continue; }
        if (!strcmp(a, "--dry-run")) { o->dry_run = 1; continue; }
        if (!strcmp(a, "--insecure-small-ring")) { o->insecure = 1; continue; }
        if (a[0] != '-' && !o->file) { o->file = a; continue; }
        fprintf(stderr, "beaa: unknown argument '%s'\n", a);
        return -1;
    missing:
        fprintf(stderr, "beaa: %s needs a value\n", a);
        return -1;
    }
    if (o->threads > 0) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", o->threads);
        setenv("BEAA_THREADS", buf, 1);
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
        "usage: beaa <command> [options]\n"
        "  keygen  --secret SK --keys KEYS [--model M] [--batch B]   client: secret key file (keep it),\n"
        "                                                            public+relinearization keys for the server\n"
        "  encrypt --secret SK --images IDX.gz --out CT [--count n] [--model M]\n"
        "          --random n instead of --images: n images of random pixels in the model's\n"
        "          geometry (any channel count: timing and memory runs without a dataset)\n"
        "  infer   --keys KEYS --in CT --out LOGITS [--model M]       server: never reads a secret key\n"
        "          [--mem-limit SIZE] [--scratch DIR] [--scratch-limit SIZE] [--dry-run]\n"
        "                                                            out of core: inputs read when first\n"
        "                                                            needed, stage outputs spilled to DIR\n"
        "                                                            (default: the output's directory) when\n"
        "                                                            the pass does not fit SIZE (default 3/4\n"
        "                                                            of physical memory); --dry-run: plan only\n"
        "  decrypt --secret SK --in LOGITS [--labels IDX.gz] [--out LABELS.txt] [--flood B]\n"
        "          --flood B: add Gaussian noise of deviation 2^B (coefficient units) before decoding:\n"
        "          needed when the results are shown to anyone but the key owner (docs/security.md)\n"
        "  info    FILE                                               what a file holds (streams: every\n"
        "                                                            object's framing checked, exit 1 if\n"
        "                                                            cut short or followed by other bytes)\n"
        "  demo    [--model M] [--count n] [--flood B]                the main job (10,000 test images);\n"
        "          --flood B adds the precision cost of noise flooding at 2^B and a ladder of deviations\n"
        "common: --overwrite (replace existing outputs), --threads T, --log-scale b (keygen/demo:\n"
        "        scale 2^b between layers), --log-n n with\n"
        "        --insecure-small-ring (small rings for teaching/tests only)\n"
        "default model: " DEFAULT_MODEL "\n");
}

/* ------------------------------------------------------------------ IDX (gzip) */

/* Reads an IDX file (gzip or plain; train/data.h): magic 0x803 images (n,h,w) or 0x801 labels
 * (n). *out holds at most max_n items (idx_bytes(*n, *h, *w) bytes from beaa_alloc: the client's
 * data, free it with beaa_free_secret). On error *why is a sentence naming the path (not found,
 * not a regular file, bad header, shorter than its header). */
static beaa_status idx_read(const char *path, uint32_t magic, size_t max_n, uint8_t **out,
                            size_t *n, uint32_t *h, uint32_t *w, const char **why)
{
    static char msg[4200];
    uint32_t dims[3] = {0, 1, 1};
    msg[0] = 0;
    *why = NULL;
    beaa_status st = beaa_data_idx_read(path, magic == 0x803 ? 3 : 1, max_n, 0, out, n, dims,
                                        msg, sizeof msg);
    if (st != BEAA_OK) {
        *why = msg[0] ? msg : NULL;
        return st;
    }
    *h = dims[1];
    *w = dims[2];
    return BEAA_OK;
}

/* Size of the buffer idx_read returned for n items of h x w (1 x 1 for labels). */
static size_t idx_bytes(size_t n, uint32_t h, uint32_t w)
{
    return n * h * w + 1;
}

/* ------------------------------------------------------------------ key files */

static beaa_status write_meta(beaa_serial_writer *w, const beaa_ckks_context *ctx,
                              const beaa_nn_plan *p)
{
    size_t mark;
    beaa_status st = beaa_serial_envelope_begin(w, NN_META_TYPE, 0,
                                                beaa_ckks_context_fingerprint(ctx), &mark);
    if (st == BEAA_OK) st = beaa_serial_write_f64(w, p->scale);
    if (st == BEAA_OK) st = beaa_serial_write_f64(w, p->in_scale);
    if (st == BEAA_OK) st = beaa_serial_envelope_end(w, mark);
    return st;
}

static int cmd_keygen(const opts *o)
{
    if (!o->secret || !o->keys) { usage(); return 2; }
    setup s;
    if (load_model(o->model, &s)) return 1;
    size_t batch = o->batch ? o->batch : 10000;
    if (make_plan(&s, batch, (unsigned)o->log_n, o->insecure, (unsigned)o->log_scale,
                  (unsigned)o->log_scale)) { setup_free(&s); return 1; }
    fprintf(stderr, "beaa: %s\n", s.plan.msg);
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    beaa_ckks_public_key *pk = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_serial_writer ws, wk;
    beaa_serial_writer_init(&ws, 0);
    beaa_serial_writer_init(&wk, 0);
    beaa_status st = beaa_ckks_context_new(&s.plan.spec, &ctx);
    if (st == BEAA_OK) st = beaa_ckks_secret_key_gen(ctx, &sk);
    if (st == BEAA_OK) st = beaa_ckks_public_key_gen(sk, &pk);
    if (st == BEAA_OK) st = beaa_ckks_relin_key_gen(sk, &rk);
    if (st == BEAA_OK) st = beaa_ckks_params_serialize(ctx, &ws);
    if (st == BEAA_OK) st = beaa_ckks_secret_key_serialize(sk, &ws);
    if (st == BEAA_OK) st = write_meta(&ws, ctx, &s.plan);
    if (st == BEAA_OK) st = beaa_ckks_params_serialize(ctx, &wk);
    if (st == BEAA_OK) st = beaa_ckks_relin_key_serialize(rk, 0, &wk);
    if (st == BEAA_OK) st = beaa_ckks_public_key_serialize(pk, 0, &wk);
    if (st == BEAA_OK) st = write_meta(&wk, ctx, &s.plan);
    const char *failed = "keygen";
    if (st == BEAA_OK && (st = beaa_file_write_atomic(o->secret, ws.buf, ws.len, o->overwrite)) != BEAA_OK)
        failed = o->secret;
    if (st == BEAA_OK) {
        st = beaa_file_write_atomic(o->keys, wk.buf, wk.len, o->overwrite);
        if (st == BEAA_OK)
            fprintf(stderr, "beaa: wrote %s (secret key: keep it on the client) and %s (%.1f MiB, for the server)\n",
                    o->secret, o->keys, wk.len / 1048576.0);
        else
            failed = o->keys;
    }
    beaa_serial_writer_free_secret(&ws);
    beaa_serial_writer_free(&wk);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    setup_free(&s);
    return st == BEAA_OK ? 0 : tool_fail(failed, st);
}

/* n images of uniformly random pixels in the model's geometry (c x h x w bytes each, from the
 * OS): inputs for timing and memory runs of a geometry without a dataset at hand. *out as
 * idx_read's (free with beaa_free_secret, idx_bytes(n, c * h, w) bytes). */
static beaa_status random_images(const beaa_model *m, size_t n, uint8_t **out)
{
    size_t bytes = idx_bytes(n, m->in_c * m->in_h, m->in_w);
    uint8_t *px = beaa_alloc(bytes);
    if (!px) return BEAA_ERR_NOMEM;
    beaa_status st = beaa_os_random(px, bytes);
    if (st != BEAA_OK) {
        beaa_free_secret(px, bytes);
        return st;
    }
    *out = px;
    return BEAA_OK;
}

static int cmd_encrypt(const opts *o)
{
    if (!o->secret || !o->out || !o->images == !o->random) { usage(); return 2; }
    if (o->random && o->count) {
        fprintf(stderr, "beaa: --count goes with --images (--random gives the number of images)\n");
        return 2;
    }
    setup s;
    if (load_model(o->model, &s)) return 1;
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    double scale, in_scale;
    beaa_status st = load_secret(o->secret, o->insecure, &ctx, &sk, &scale, &in_scale);
    if (st != BEAA_OK) { setup_free(&s); return tool_fail(o->secret, st); }
    size_t slots = beaa_ckks_context_slots(ctx);
    uint8_t *px = NULL;
    size_t n = 0;
    uint32_t c = 1, h = 0, w = 0;
    const char *why = NULL;
    if (o->random) {
        /* more than the slots is refused below, before any memory for them */
        n = o->random;
        c = s.m->in_c;
        h = s.m->in_h;
        w = s.m->in_w;
        st = n > slots ? BEAA_OK : random_images(s.m, n, &px);
    } else {
        st = idx_read(o->images, 0x803, o->count ? o->count : slots + 1, &px, &n, &h, &w, &why);
    }
    if (st != BEAA_OK) {
        if (why) fprintf(stderr, "beaa: %s\n", why);
        else fprintf(stderr, "beaa: %s: %s\n", o->random ? "random images" : o->images, beaa_strerror(st));
        beaa_ckks_secret_key_free(sk); beaa_ckks_context_free(ctx); setup_free(&s);
        return 1;
    }
    int rc = 0;
    if (n == 0) {
        fprintf(stderr, "beaa: %s holds no images\n", o->images);
        rc = 1;
    } else if (n > slots) {
        fprintf(stderr, "beaa: more images than the %zu slots of this key (use %s or a larger --batch at keygen)\n",
                slots, o->random ? "a smaller --random" : "--count");
        rc = 1;
    } else if (c != s.m->in_c || h != s.m->in_h || w != s.m->in_w) {
        fprintf(stderr, "beaa: images are %ux%u, the model wants %ux%ux%u\n", h, w, s.m->in_c, s.m->in_h, s.m->in_w);
        rc = 1;
    } else if (make_plan(&s, n, beaa_ckks_context_log_n(ctx), 1, log2u(scale), log2u(in_scale)) ||
               s.plan.spec.n_primes != beaa_ckks_context_max_level(ctx) + 1) {
        fprintf(stderr, "beaa: the model needs %u levels, the key's chain has %u: keys for another model?\n",
                s.plan.levels, beaa_ckks_context_max_level(ctx));
        rc = 1;
    } else {
        size_t el = (size_t)c * h * w;
        double *x = beaa_alloc(sizeof(double) * n * el); /* normalized images: wiped below */
        beaa_ckks_ciphertext **cts = calloc(el, sizeof *cts);
        if (!x || !cts) st = BEAA_ERR_NOMEM;
        if (st == BEAA_OK) {
            beaa_nn_normalize(s.m, px, n, x);
            double t0 = now_s();
            st = beaa_nn_pack_encrypt(sk, x, n, el, beaa_ckks_context_max_level(ctx), in_scale, cts);
            double t1 = now_s();
            if (st != BEAA_OK) {
                rc = tool_fail("encrypt", st);
            } else if ((st = write_cts(o->out, o->overwrite, ctx, CT_MAGIC, (uint32_t)n, c, h, w, cts,
                                       el)) != BEAA_OK) {
                rc = tool_fail(o->out, st);
            } else {
                fprintf(stderr, "beaa: encrypted %zu %simages into %zu ciphertexts in %.1f s, wrote %s in %.1f s\n",
                        n, o->random ? "random " : "", el, t1 - t0, o->out, now_s() - t1);
            }
        } else {
            rc = tool_fail("encrypt", st);
        }
        free_cts(cts, el);
        beaa_free_secret(x, sizeof(double) * n * el);
    }
    if (px) beaa_free_secret(px, idx_bytes(n, c * h, w));
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    setup_free(&s);
    return rc;
}

static void progress(void *user, unsigned si, unsigned ns, size_t done, size_t total)
{
    double *t0 = user;
    /* the stages run interleaved (a wavefront down the image): one line per tenth of the pass */
    if (done == total || done % (total / 10 + 1) == 0)
        fprintf(stderr, "beaa: encrypted pass %5.1f%% (%zu of %zu groups, now stage %u/%u), %.0f s\n",
                100.0 * (double)done / (double)total, done, total, si + 1, ns, now_s() - *t0);
}

static int cmd_infer(const opts *o)
{
    if (!o->keys || !o->in || !o->out) { usage(); return 2; }
    infer_args a = { o->model, o->keys, o->in, o->out, o->mem_limit, o->scratch, o->scratch_limit,
                     o->overwrite, o->insecure, o->dry_run };
    int rc = infer_ooc(&a);
    if (rc == 2) usage();
    return rc;
}

static int cmd_decrypt(const opts *o)
{
    if (!o->secret || !o->in) { usage(); return 2; }
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    double scale, in_scale;
    beaa_status st = load_secret(o->secret, o->insecure, &ctx, &sk, &scale, &in_scale);
    if (st != BEAA_OK) return tool_fail(o->secret, st);
    ct_meta meta;
    memset(&meta, 0, sizeof meta);
    beaa_ckks_ciphertext **cts = NULL;
    size_t n = 0, nl = 0, lg_bytes = 0;
    int rc = 0;
    double *lg = NULL;
    uint8_t *labels = NULL;
    uint32_t h = 1, w = 1;
    const char *why = NULL;
    st = read_cts(o->in, ctx, LG_MAGIC, &meta, &cts, &n, &why);
    if (st != BEAA_OK) {
        fprintf(stderr, "beaa: %s: %s%s%s%s\n", o->in, beaa_strerror(st),
                st == BEAA_ERR_PARAMS_MISMATCH ? " (logits were made for other keys)" : "",
                why ? ": " : "", why ? why : "");
        rc = 1;
        goto out;
    }
    lg_bytes = sizeof(double) * meta.n_images * n;
    lg = beaa_alloc(lg_bytes); /* decrypted logits: wiped below */
    if (!lg) { rc = tool_fail("decrypt", BEAA_ERR_NOMEM); goto out; }
    if (o->flood_set) {
        st = beaa_nn_pack_decrypt_flooded(sk, cts, n, meta.n_images, o->flood, lg);
        if (st == BEAA_OK && n > 0)
            fprintf(stderr, "beaa: decryption flooded: noise deviation 2^%.1f per coefficient, about %.3g "
                    "per logit (scale 2^%.1f)\n", o->flood,
                    exp2(o->flood) * sqrt((double)beaa_ckks_context_slots(ctx)) / cts[0]->scale,
                    log2(cts[0]->scale));
    } else {
        st = beaa_nn_pack_decrypt(sk, cts, n, meta.n_images, lg);
        if (st == BEAA_OK)
            fprintf(stderr, "beaa: decrypted without flooding: fine for the key owner; if these results "
                    "go to anyone else, decrypt with --flood B (IND-CPA-D: docs/security.md)\n");
    }
    if (st != BEAA_OK) { rc = tool_fail("decrypt", st); goto out; }
    if (o->labels) {
        st = idx_read(o->labels, 0x801, meta.n_images, &labels, &nl, &h, &w, &why);
        if (st != BEAA_OK || nl < meta.n_images) {
            if (st != BEAA_OK)
                fprintf(stderr, "beaa: %s (an IDX label file with %u labels is expected)\n",
                        why ? why : beaa_strerror(st), meta.n_images);
            else
                fprintf(stderr, "beaa: %s holds %zu labels, the logits are for %u images\n", o->labels,
                        nl, meta.n_images);
            rc = 1;
            goto out;
        }
    }
    /* predicted labels, one per line: to stdout, or written atomically (no clobbering) */
    size_t txt_bytes = (size_t)meta.n_images * 12 + 1;
    char *txt = beaa_alloc(txt_bytes); /* the predictions: wiped below */
    if (!txt) { rc = tool_fail("decrypt", BEAA_ERR_NOMEM); goto out; }
    size_t tl = 0, correct = 0;
    for (size_t i = 0; i < meta.n_images; i++) {
        size_t p = beaa_nn_argmax(lg + i * n, n);
        tl += (size_t)snprintf(txt + tl, 12, "%zu\n", p);
        if (labels) correct += p == labels[i];
    }
    if (o->out) {
        st = beaa_file_write_atomic(o->out, txt, tl, o->overwrite);
        if (st != BEAA_OK) { beaa_free_secret(txt, txt_bytes); rc = tool_fail(o->out, st); goto out; }
    } else {
        fwrite(txt, 1, tl, stdout);
    }
    beaa_free_secret(txt, txt_bytes);
    if (labels)
        fprintf(stderr, "beaa: accuracy %.2f%% (%zu / %u)\n", 100.0 * (double)correct / meta.n_images,
                correct, meta.n_images);
out:
    beaa_free_secret(labels, idx_bytes(nl, h, w));
    beaa_free_secret(lg, lg_bytes);
    free_cts(cts, n);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    return rc;
}

static const char *type_name(uint32_t t)
{
    switch (t) {
    case BEAA_OBJ_PARAMS: return "parameter set";
    case BEAA_OBJ_SECRET_KEY: return "SECRET KEY";
    case BEAA_OBJ_PUBLIC_KEY: return "public key";
    case BEAA_OBJ_RELIN_KEY: return "relinearization key";
    case BEAA_OBJ_GALOIS_KEYS: return "Galois keys";
    case BEAA_OBJ_GALOIS_KEYS_V1: return "Galois keys of the retired type 5 (regenerate them)";
    case BEAA_OBJ_CIPHERTEXT: return "ciphertext";
    case BEAA_OBJ_STREAM: return "stream";
    case NN_META_TYPE: return "nn scales";
    default: return "unknown";
    }
}

static int cmd_info(const opts *o)
{
    if (!o->file) { usage(); return 2; }
    beaa_model *m = NULL;
    if (beaa_model_load(o->file, &m) == BEAA_OK) {
        printf("%s: model \"%s\", input %ux%ux%u, %u classes, %u modules, %u activation layers, "
               "%zu activated elements/image, %zu parameters\n", o->file, m->desc, m->in_c, m->in_h,
               m->in_w, m->num_classes, m->n_modules, beaa_model_act_layers(m),
               beaa_model_act_elements(m), beaa_model_trainable_params(m));
        beaa_nn_net *net = NULL;
        if (beaa_nn_net_fold(m, &net) == BEAA_OK) {
            beaa_nn_plan p;
            beaa_nn_plan_opts po;
            beaa_nn_plan_opts_default(&po);
            po.batch = 10000;
            beaa_status st = beaa_nn_plan_make(net, &po, &p);
            printf("  folded: %u stages, %zu scalar MACs and %zu products per image\n", net->nstages,
                   beaa_nn_net_macs(net), beaa_nn_net_products(net));
            int nraw = 0;
            for (uint32_t si = 0; si < net->nstages; si++)
                if (net->stages[si].raw_in)
                    printf("%s%u", nraw++ ? ", " : "  stages taking the previous stage's products raw "
                                                   "(key switches after their linear maps): ", si + 1);
            if (nraw) printf("\n");
            printf("  plan (10,000 images): %s%s\n", st == BEAA_OK ? "" : "refused: ", p.msg);
            if (st == BEAA_OK)
                printf("  planned peak memory %.1f GiB (inputs held as sent until first read; %.1f GiB "
                       "with every input whole from the start)\n",
                       p.peak_upload_bytes / 1073741824.0, p.peak_bytes / 1073741824.0);
            beaa_nn_net_free(net);
        }
        beaa_model_free(m);
        return 0;
    }
    beaa_stream_reader *r = NULL;
    if (beaa_stream_reader_open(o->file, BEAA_OBJ_NONE, NULL, 0, &r) == BEAA_OK) {
        size_t ml = 0;
        const uint8_t *mp = beaa_stream_reader_meta(r, &ml);
        printf("%s: stream of %llu %s objects", o->file,
               (unsigned long long)beaa_stream_reader_count(r), type_name(beaa_stream_reader_elem_type(r)));
        ct_meta cm;
        const char *why = NULL;
        int logits = mp && ml >= 8 && !memcmp(mp, LG_MAGIC, 8);
        if (mp && ml >= 8 && (logits || !memcmp(mp, CT_MAGIC, 8))) {
            if (meta_read(mp, ml, logits ? LG_MAGIC : CT_MAGIC, &cm, &why) != BEAA_OK)
                printf(": bad metadata (%s)", why);
            else if (logits)
                printf(": encrypted logits of %u images (%u classes)", cm.n_images, cm.c);
            else
                printf(": encrypted inputs of %u images (%ux%ux%u)", cm.n_images, cm.c, cm.h, cm.w);
        }
        printf("\n");
        /* the objects' framing, header by header (no payload is read): a stream cut short or
         * with bytes after its last object is reported, not described as whole */
        beaa_status fs = beaa_stream_reader_seek(r, beaa_stream_reader_count(r));
        if (fs == BEAA_OK) {
            const uint8_t *ob;
            size_t ol;
            fs = beaa_stream_reader_next(r, &ob, &ol);
            if (fs == BEAA_ERR_ARG) fs = BEAA_OK; /* nothing after the last object */
        }
        beaa_stream_reader_close(r);
        if (fs != BEAA_OK) return tool_fail(o->file, fs);
        return 0;
    }
    keyfile kf;
    memset(&kf, 0, sizeof kf);
    beaa_status st = beaa_file_read_all(o->file, MAX_KEYFILE, &kf.data, &kf.len);
    if (st != BEAA_OK) return tool_fail(o->file, st);
    printf("%s: %zu bytes\n", o->file, kf.len);
    int any = 0;
    while (kf.off < kf.len) {
        beaa_serial_reader rr;
        beaa_serial_info info;
        size_t used = 0;
        st = beaa_serial_envelope_open(kf.data + kf.off, kf.len - kf.off, BEAA_OBJ_NONE, NULL, &rr,
                                       &info, &used);
        if (st != BEAA_OK) { printf("  at byte %zu: %s\n", kf.off, beaa_strerror(st)); break; }
        printf("  %s (%llu bytes)\n", type_name(info.type), (unsigned long long)info.payload_len);
        if (info.type == BEAA_OBJ_PARAMS) {
            beaa_ckks_context *ctx = NULL;
            if (beaa_ckks_params_deserialize(kf.data + kf.off, used, 1, &ctx) == BEAA_OK) {
                printf("    N=2^%u, %u levels, log2(QP)=%.1f\n", beaa_ckks_context_log_n(ctx),
                       beaa_ckks_context_max_level(ctx), beaa_ckks_context_log2_qp(ctx));
                beaa_ckks_context_free(ctx);
            }
        }
        kf.off += used;
        any = 1;
    }
    kf_close(&kf, 1);
    return any ? 0 : 1;
}

/* ------------------------------------------------------------------ demo (the main job) */

/* Wipes and frees the images (n x h x w) and labels (nl) from idx_read; NULLs are allowed. */
static void free_inputs(uint8_t *px, size_t n, uint32_t h, uint32_t w, uint8_t *lab, size_t nl)
{
    beaa_free_secret(px, idx_bytes(n, h, w));
    beaa_free_secret(lab, idx_bytes(nl, 1, 1));
}

/* demo --flood B: the precision cost of noise flooding on this batch. The logits' CKKS noise is
 * measured against the quantized plaintext reference (the same integer weights, no encryption)
 * in every slot: slots j < n hold image j, the others the network's output on an all-zero
 * input (what the packer encrypts there). The deviation beaa_ckks_flood_log2_sigma asks for
 * (statistical security 30, one decryption) is printed, and the batch is decrypted again with
 * flooding at 2^B and at a ladder of deviations: accuracy, agreement with the plaintext model
 * and the logit error against the quantized reference for each. */
static void flood_report(const beaa_nn_net *net, const beaa_ckks_secret_key *sk,
                         beaa_ckks_ciphertext **lg, size_t nc, size_t n, size_t el, const double *x,
                         const beaa_nn_qnet *qn, const double *ref, const uint8_t *lab, double bits)
{
    const size_t slots = beaa_ckks_context_slots(sk->ctx), lg_bytes = sizeof(double) * n * nc;
    double *q = beaa_alloc(lg_bytes), *col = beaa_alloc(sizeof(double) * slots), *got = beaa_alloc(lg_bytes);
    double *zero = calloc(el ? el : 1, sizeof *zero), *zl = calloc(nc, sizeof *zl);
    double worst = -INFINITY;
    beaa_status st = q && col && got && zero && zl ? beaa_nn_quant_plain_forward(net, qn, x, n, q)
                                                   : BEAA_ERR_NOMEM;
    if (st == BEAA_OK) st = beaa_nn_quant_plain_forward(net, qn, zero, 1, zl);
    for (size_t k = 0; k < nc && st == BEAA_OK; k++) {
        double l2;
        for (size_t i = 0; i < slots; i++) col[i] = i < n ? q[i * nc + k] : zl[k];
        st = beaa_ckks_noise_measure(sk, lg[k], col, slots, &l2);
        if (st == BEAA_OK && l2 > worst) worst = l2;
    }
    if (st != BEAA_OK) {
        fprintf(stderr, "beaa: flooding report: %s\n", beaa_strerror(st));
    } else {
        double need = beaa_ckks_flood_log2_sigma(sk->ctx, worst, 30, 0.0);
        const double off = 0.5 * log2((double)slots) - log2(lg[0]->scale);
        printf("\nnoise flooding (logit scale 2^%.1f, N = 2^%u; a deviation 2^B adds about "
               "2^(B %c %.1f) to each logit):\n", log2(lg[0]->scale), beaa_ckks_context_log_n(sk->ctx),
               off < 0 ? '-' : '+', fabs(off));
        printf("  measured logit noise: max |coefficient| 2^%.1f; flooding for 2^-30 statistical distance, "
               "one decryption: deviation 2^%.1f\n", worst, need);
        double ladder[11] = {bits, 6, 8, 10, 11, 12, 13, 14, 16, 18, 20};
        for (int j = 0; j < 11; j++) {
            double b = ladder[j];
            if (j > 0 && b == bits) continue;
            st = beaa_nn_pack_decrypt_flooded(sk, lg, nc, n, b, got);
            if (st != BEAA_OK) { printf("  flood 2^%.1f: %s\n", b, beaa_strerror(st)); continue; }
            size_t acc = 0, agree = 0;
            double sq = 0;
            for (size_t i = 0; i < n; i++) {
                size_t p = beaa_nn_argmax(got + i * nc, nc);
                acc += p == lab[i];
                agree += p == beaa_nn_argmax(ref + i * nc, nc);
                for (size_t k = 0; k < nc; k++) sq += (got[i * nc + k] - q[i * nc + k]) * (got[i * nc + k] - q[i * nc + k]);
            }
            printf("  flood 2^%4.1f%s: accuracy %6.2f%%, agreement %6.2f%%, rms logit error %.3g (2^%.1f)\n",
                   b, j == 0 ? " (--flood)" : "          ", 100.0 * acc / n, 100.0 * agree / n,
                   sqrt(sq / (double)(n * nc)), log2(sqrt(sq / (double)(n * nc))));
        }
    }
    beaa_free_secret(q, lg_bytes);
    beaa_free_secret(col, sizeof(double) * slots);
    beaa_free_secret(got, lg_bytes);
    free(zero);
    free(zl);
}

static int cmd_demo(const opts *o)
{
    double t_start = now_s();
    setup s;
    if (load_model(o->model, &s)) return 1;
    char p_img[512], p_lab[512];
    snprintf(p_img, sizeof p_img, "%s/t10k-images-idx3-ubyte.gz", FMNIST_DIR);
    snprintf(p_lab, sizeof p_lab, "%s/t10k-labels-idx1-ubyte.gz", FMNIST_DIR);
    const char *fi = o->images ? o->images : p_img, *fl = o->labels ? o->labels : p_lab;
    uint8_t *px = NULL, *lab = NULL;
    size_t n = 0, nl = 0;
    uint32_t h = 0, w = 0, hh = 1, ww = 1;
    size_t want = o->count ? o->count : 10000;
    const char *why = NULL;
    beaa_status st = idx_read(fi, 0x803, want, &px, &n, &h, &w, &why);
    if (st == BEAA_OK) st = idx_read(fl, 0x801, want, &lab, &nl, &hh, &ww, &why);
    if (st == BEAA_OK && n == 0) st = BEAA_ERR_DATA; /* no images */
    if (st != BEAA_OK || nl != n) {
        if (why)
            fprintf(stderr, "beaa: cannot read the test set: %s%s\n", why,
                    o->images ? "" : " (the Debian package dataset-fashion-mnist installs it; or give --images and --labels)");
        else if (st != BEAA_OK)
            fprintf(stderr, "beaa: cannot read the test set (%s, %s): %s\n", fi, fl, beaa_strerror(st));
        else
            fprintf(stderr, "beaa: %s holds %zu images but %s holds %zu labels\n", fi, n, fl, nl);
        free_inputs(px, n, h, w, lab, nl);
        setup_free(&s);
        return 1;
    }
    if (h != s.m->in_h || w != s.m->in_w || s.m->in_c != 1) {
        fprintf(stderr, "beaa: images are %ux%u, the model wants %ux%ux%u\n", h, w, s.m->in_c, s.m->in_h, s.m->in_w);
        free_inputs(px, n, h, w, lab, nl);
        setup_free(&s);
        return 1;
    }
    printf("beaa demo: model %s (\"%s\"), %zu test images in ONE batch, %d threads, kernels %s\n",
           o->model, s.m->desc, n, beaa_cpu_threads(), beaa_kernels_get()->name);
    if (make_plan(&s, n, (unsigned)o->log_n, o->insecure, (unsigned)o->log_scale,
                  (unsigned)o->log_scale)) {
        free_inputs(px, n, h, w, lab, nl);
        setup_free(&s);
        return 1;
    }
    printf("plan: %s\n", s.plan.msg);
    printf("plan: %u stages, %zu scalar MACs + %zu ct-ct products per batch; planned peak memory %.2f GiB\n",
           s.net->nstages, beaa_nn_net_macs(s.net), beaa_nn_net_products(s.net),
           s.plan.peak_upload_bytes / 1073741824.0);
    fflush(stdout);

    /* images, their logits and the decrypted logits are the client's data: wiped before free */
    size_t el = (size_t)h * w, nc = s.m->num_classes;
    size_t x_bytes = sizeof(double) * n * el, lg_bytes = sizeof(double) * n * nc;
    double *x = beaa_alloc(x_bytes), *ref = beaa_alloc(lg_bytes), *ref_m = beaa_alloc(lg_bytes),
           *got = beaa_alloc(lg_bytes);
    beaa_ckks_ciphertext **lg = calloc(nc, sizeof *lg);
    beaa_nn_upload *up = NULL; /* the client's upload: c_0 and the seed of c_1 per input */
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_nn_qnet *qn = NULL;
    int rc = 0;
    if (!x || !ref || !ref_m || !got || !lg) { rc = tool_fail("demo", BEAA_ERR_NOMEM); goto out; }
    beaa_nn_normalize(s.m, px, n, x);
    double t0 = now_s();
    st = beaa_nn_plain_model_forward(s.m, x, n, ref_m);
    if (st == BEAA_OK) st = beaa_nn_plain_folded_forward(s.net, x, n, ref);
    if (st != BEAA_OK) { rc = tool_fail("plaintext reference", st); goto out; }
    double t_plain = now_s() - t0;
    t0 = now_s();
    st = beaa_ckks_context_new(&s.plan.spec, &ctx);
    if (st == BEAA_OK) st = beaa_ckks_secret_key_gen(ctx, &sk);
    if (st == BEAA_OK) st = beaa_ckks_relin_key_gen(sk, &rk);
    if (st == BEAA_OK) st = beaa_nn_quantize(s.net, &s.plan, ctx, &qn);
    if (st != BEAA_OK) { rc = tool_fail("keygen", st); goto out; }
    double t_keygen = now_s() - t0;
    printf("keygen + weight quantization: %.1f s (smallest max|integer weight| of a row %.0f, worst "
           "row L1 at %.0f%% of the exactness limit; u derived from x for %zu of %zu products: "
           "%zu integer MACs per image)\n", t_keygen, qn->min_row_max, 100 * qn->worst_l1,
           qn->n_derived, beaa_nn_net_products(s.net), qn->n_macs);
    fflush(stdout);
    t0 = now_s();
    st = beaa_nn_upload_encrypt(sk, x, n, el, s.plan.levels, s.plan.in_scale, &up);
    if (st != BEAA_OK) { rc = tool_fail("encrypt", st); goto out; }
    double t_enc = now_s() - t0;
    printf("client encrypt: %zu ciphertexts in %.1f s (held as sent: c_0 and the seed of c_1, %.2f GiB)\n",
           el, t_enc, beaa_nn_upload_bytes(up) / 1073741824.0);
    fflush(stdout);
    double tf = now_s();
    beaa_nn_forward_opts fo = { 0, progress, &tf };
    beaa_nn_forward_stats fs;
    st = beaa_nn_forward_upload(s.net, qn, rk, up, lg, &fo, &fs);
    if (st != BEAA_OK) { rc = tool_fail("encrypted forward pass", st); goto out; }
    t0 = now_s();
    st = beaa_nn_pack_decrypt(sk, lg, nc, n, got);
    if (st != BEAA_OK) { rc = tool_fail("decrypt", st); goto out; }
    double t_dec = now_s() - t0;

    size_t acc_enc = 0, acc_ref = 0, acc_model = 0, agree = 0, agree_model = 0, agree_q = 0;
    double maxerr = 0, maxerr_q = 0;
    double *qref = beaa_alloc(lg_bytes);
    if (!qref || beaa_nn_quant_plain_forward(s.net, qn, x, n, qref) != BEAA_OK) {
        beaa_free_secret(qref, lg_bytes);
        rc = tool_fail("quantized reference", BEAA_ERR_NOMEM);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t pe = beaa_nn_argmax(got + i * nc, nc), pr = beaa_nn_argmax(ref + i * nc, nc);
        size_t pm = beaa_nn_argmax(ref_m + i * nc, nc);
        acc_enc += pe == lab[i];
        acc_ref += pr == lab[i];
        acc_model += pm == lab[i];
        agree += pe == pr;
        agree_model += pr == pm;
        agree_q += beaa_nn_argmax(qref + i * nc, nc) == pr;
        for (size_t k = 0; k < nc; k++) {
            double d = fabs(got[i * nc + k] - ref[i * nc + k]);
            if (d > maxerr) maxerr = d;
            d = fabs(qref[i * nc + k] - ref[i * nc + k]);
            if (d > maxerr_q) maxerr_q = d;
        }
    }
    double total = t_enc + fs.total_s + t_dec;
    printf("\nper stage (server, encrypted):\n");
    for (unsigned si = 0; si < fs.nstages; si++)
        printf("  stage %u (%2ux%2ux%2u -> %2ux%2ux%2u%s): %7.1f s  (linear maps + products %6.1f s, relin/rescale %6.1f s: %4zu)\n",
               si + 1, s.net->stages[si].cin, s.net->stages[si].hin, s.net->stages[si].win,
               s.net->stages[si].cout, s.net->stages[si].hout, s.net->stages[si].wout,
               s.net->stages[si].pool_kh ? ", pooled" : "", fs.stage_s[si], fs.linear_s[si], fs.act_s[si],
               fs.key_switches[si]);
    printf("\nresults on %zu Fashion-MNIST test images (one batch):\n", n);
    printf("  encrypted accuracy            %.2f%%\n", 100.0 * acc_enc / n);
    printf("  plaintext (folded) accuracy   %.2f%%   (unfolded model: %.2f%%, folded==unfolded on %.2f%%)\n",
           100.0 * acc_ref / n, 100.0 * acc_model / n, 100.0 * agree_model / n);
    printf("  agreement enc vs plaintext    %.2f%%   (max |logit error| %.3g)\n", 100.0 * agree / n, maxerr);
    printf("  (weight quantization alone, no encryption: agreement %.2f%%, max |logit error| %.3g)\n",
           100.0 * agree_q / n, maxerr_q);
    beaa_free_secret(qref, lg_bytes);
    if (o->flood_set) flood_report(s.net, sk, lg, nc, n, el, x, qn, ref, lab, o->flood);
    printf("  time: encrypt %.1f s, forward %.1f s, decrypt %.2f s; total %.1f s\n", t_enc, fs.total_s,
           t_dec, total);
    printf("  amortized time per image      %.2f ms  (forward only %.2f ms)\n", 1e3 * total / n,
           1e3 * fs.total_s / n);
    printf("  plaintext reference           %.1f s; keygen %.1f s; whole demo %.1f s\n", t_plain,
           t_keygen, now_s() - t_start);
    printf("  peak memory: planned %.2f GiB, measured (ru_maxrss) %.2f GiB\n",
           s.plan.peak_upload_bytes / 1073741824.0, peak_rss_mib() / 1024.0);
    beaa_pool_stats ps;
    beaa_pool_get_stats(&ps);
    printf("  ciphertext memory pool: %zu blocks with fresh pages from the OS, %zu reused, %zu assembled "
           "from cached pages (%zu grown in place, %.2f GiB moved), %zu split parts rejoined; peak %.2f GiB\n",
           ps.os_maps, ps.reuses, ps.assembled, ps.grown, ps.moved_bytes / 1073741824.0, ps.merged,
           ps.peak_bytes / 1073741824.0);
out:
    if (lg) free_cts(lg, nc);
    beaa_nn_upload_free(up);
    beaa_nn_qnet_free(qn);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    beaa_free_secret(x, x_bytes);
    beaa_free_secret(ref, lg_bytes);
    beaa_free_secret(ref_m, lg_bytes);
    beaa_free_secret(got, lg_bytes);
    free_inputs(px, n, h, w, lab, nl);
    setup_free(&s);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(); return 2; }
    opts o;
    if (parse(argc, argv, &o) != 0) { usage(); return 2; }
    const char *c = argv[1];
    if (!strcmp(c, "keygen")) return cmd_keygen(&o);
    if (!strcmp(c, "encrypt")) return cmd_encrypt(&o);
    if (!strcmp(c, "infer")) return cmd_infer(&o);
    if (!strcmp(c, "decrypt")) return cmd_decrypt(&o);
    if (!strcmp(c, "info")) return cmd_info(&o);
    if (!strcmp(c, "demo")) return cmd_demo(&o);
    if (!strcmp(c, "-h") || !strcmp(c, "--help") || !strcmp(c, "help")) { usage(); return 0; }
    fprintf(stderr, "beaa: unknown command '%s'\n", c);
    usage();
    return 2;
}
