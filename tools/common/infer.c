/* infer.c - `beaa infer` out of core (see infer.h). */
#include "tools/common/infer.h"
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/cpu.h"
#include "lib/pool.h"
#include "nn/exec.h"
#include "nn/ooc.h"
#include "nn/quant.h"
#include "nn/schedule.h"
#include "tools/common/files.h"
#include "tools/common/scratch.h"

#define MIB 1048576.0

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Input readers: one open file per thread that reads inputs (the pass loads the inputs a group
 * needs in parallel; the seed expansion and checksums of a ciphertext take milliseconds). */
#define INFER_MAX_SLOTS 8
_Static_assert(INFER_MAX_SLOTS <= SCRATCH_SLOTS, "a scratch slot per input reader");

typedef struct io_ctx {
    ct_source *src[INFER_MAX_SLOTS];
    unsigned nsrc;
    scratch *scr;
    int scratch_failed, source_failed;
    size_t failed_idx;
} io_ctx;

static beaa_status io_load_slot(void *user, unsigned slot, size_t idx, beaa_ckks_ciphertext **ct)
{
    io_ctx *c = user;
    beaa_status st = slot < c->nsrc ? ct_source_get(c->src[slot], idx, ct) : BEAA_ERR_ARG;
    if (st != BEAA_OK) {
        __atomic_store_n(&c->failed_idx, idx, __ATOMIC_RELAXED);
        __atomic_store_n(&c->source_failed, 1, __ATOMIC_RELAXED);
    }
    return st;
}

static beaa_status io_load(void *user, size_t idx, beaa_ckks_ciphertext **ct)
{
    return io_load_slot(user, 0, idx, ct);
}

static beaa_status io_spill_slot(void *user, unsigned slot, uint32_t si, size_t idx,
                                 const beaa_ckks_ciphertext *ct)
{
    io_ctx *c = user;
    beaa_status st = scratch_put(c->scr, slot, si, idx, ct);
    if (st != BEAA_OK) __atomic_store_n(&c->scratch_failed, 1, __ATOMIC_RELAXED);
    return st;
}

static beaa_status io_spill(void *user, uint32_t si, size_t idx, const beaa_ckks_ciphertext *ct)
{
    return io_spill_slot(user, 0, si, idx, ct);
}

static beaa_status io_reload_slot(void *user, unsigned slot, uint32_t si, size_t idx,
                                  beaa_ckks_ciphertext **ct)
{
    (void)slot; /* reading back needs no buffer of its own */
    io_ctx *c = user;
    beaa_status st = scratch_get(c->scr, si, idx, ct);
    if (st != BEAA_OK) __atomic_store_n(&c->scratch_failed, 1, __ATOMIC_RELAXED);
    return st;
}

static beaa_status io_reload(void *user, uint32_t si, size_t idx, beaa_ckks_ciphertext **ct)
{
    return io_reload_slot(user, 0, si, idx, ct);
}

static beaa_status io_check(void *user)
{
    (void)user;
    return g_signal ? BEAA_ERR_IO : BEAA_OK;
}

static void progress(void *user, unsigned si, unsigned ns, size_t done, size_t total)
{
    double *t0 = user;
    /* the stages run interleaved (a wavefront down the image): one line per tenth of the pass */
    if (done == total || done % (total / 10 + 1) == 0)
        fprintf(stderr, "%s: encrypted pass %5.1f%% (%zu of %zu groups, now stage %u/%u), %.0f s\n",
                tool_prog, 100.0 * (double)done / (double)total, done, total, si + 1, ns,
                now_s() - *t0);
}

/* Memory the process needs beyond its resident size now and the planned ciphertexts: the
 * threads' key-switching scratch (about 4 size-3 ciphertexts each), a serialized ciphertext of
 * I/O buffer per input reader and two per scratch slot (its serialization buffer, kept, and a
 * file read back; there are as many slots as readers), and 16 MiB of allocator slack. */
static size_t reserve_bytes(unsigned log_n, unsigned L, int threads, unsigned readers)
{
    return (size_t)threads * 4 * beaa_nn_ct_bytes(log_n, 3, L) +
           3 * (size_t)readers * beaa_nn_ct_bytes(log_n, 2, L) + ((size_t)16 << 20);
}

/* Process bytes for `ct` bytes of ciphertexts: the block pool's blocks are about 1% larger than
 * what they hold (page rounding and cache colouring; lib/pool.h). */
static size_t with_overhead(size_t base, size_t ct)
{
    return base + ct + ct / 100;
}

int infer_ooc(const infer_args *a)
{
    setup s;
    if (load_model(a->model, &s)) return 1;
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_nn_qnet *qn = NULL;
    beaa_nn_schedule *sc = NULL;
    beaa_nn_ooc_plan *lazy = NULL, *plan = NULL;
    beaa_ckks_ciphertext **lg = NULL;
    ct_source src, more[INFER_MAX_SLOTS - 1];
    scratch scr;
    memset(&src, 0, sizeof src);
    memset(more, 0, sizeof more);
    memset(&scr, 0, sizeof scr);
    double scale = 0, in_scale = 0;
    int rc = 1;
    size_t limit = 0, scratch_limit = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    /* a file size limit (RLIMIT_FSIZE) makes a too-large write fail with EFBIG, reported as a
     * scratch error, instead of killing the process with the scratch files left behind */
    struct sigaction ign, old_xfsz;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old_xfsz);
    g_signal = 0;

    if (a->mem_limit && parse_size(a->mem_limit, &limit) != 0) {
        fprintf(stderr, "%s: --mem-limit '%s': not a size (e.g. 512M, 16G)\n", tool_prog, a->mem_limit);
        rc = 2;
        goto out;
    }
    if (a->scratch_limit && parse_size(a->scratch_limit, &scratch_limit) != 0) {
        fprintf(stderr, "%s: --scratch-limit '%s': not a size (e.g. 512M, 16G)\n", tool_prog,
                a->scratch_limit);
        rc = 2;
        goto out;
    }
    if (!a->mem_limit) limit = phys_mem_bytes() / 4 * 3;
    if (!a->overwrite && !a->dry_run && access(a->out, F_OK) == 0) {
        fprintf(stderr, "%s: %s: %s (use --overwrite to replace it)\n", tool_prog, a->out,
                beaa_strerror(BEAA_ERR_EXISTS));
        goto out;
    }
    beaa_status st = load_server_keys(a->keys, a->insecure, &ctx, &rk, &scale, &in_scale);
    if (st != BEAA_OK) { tool_fail(a->keys, st); goto out; }
    const char *why = NULL;
    st = ct_source_open(a->in, ctx, CT_MAGIC, &src, &why);
    if (st != BEAA_OK) {
        fprintf(stderr, "%s: %s: %s%s%s%s\n", tool_prog, a->in, beaa_strerror(st),
                st == BEAA_ERR_PARAMS_MISMATCH ? " (ciphertexts were made for other keys)" : "",
                why ? ": " : "", why ? why : "");
        goto out;
    }
    if (src.meta.c != s.m->in_c || src.meta.h != s.m->in_h || src.meta.w != s.m->in_w) {
        fprintf(stderr, "%s: ciphertexts hold %ux%ux%u inputs, the model wants %ux%ux%u\n", tool_prog,
                src.meta.c, src.meta.h, src.meta.w, s.m->in_c, s.m->in_h, s.m->in_w);
        goto out;
    }
    if (make_plan(&s, src.meta.n_images, beaa_ckks_context_log_n(ctx), 1, log2u(scale), log2u(in_scale)))
        goto out;
    if (s.plan.levels != beaa_ckks_context_max_level(ctx)) {
        fprintf(stderr, "%s: model is %u levels deep but the keys' chain has %u levels (%s)\n", tool_prog,
                s.plan.levels, beaa_ckks_context_max_level(ctx), beaa_strerror(BEAA_ERR_DEPTH));
        goto out;
    }
    st = beaa_nn_quantize(s.net, &s.plan, ctx, &qn);
    if (st != BEAA_OK) { fprintf(stderr, "%s: quantize: %s\n", tool_prog, beaa_strerror(st)); goto out; }

    /* the plan: all inputs resident, lazily read, under the limit */
    const unsigned log_n = beaa_ckks_context_log_n(ctx), L = s.plan.levels;
    const int threads = beaa_cpu_threads();
    const unsigned readers = threads < INFER_MAX_SLOTS ? (unsigned)threads : INFER_MAX_SLOTS;
    st = beaa_nn_schedule_make(s.net, &sc);
    if (st == BEAA_OK) st = beaa_nn_ooc_plan_make(s.net, sc, log_n, threads, 0, &lazy);
    if (st != BEAA_OK) { fprintf(stderr, "%s: plan: %s\n", tool_prog, beaa_strerror(st)); goto out; }
    size_t resident = beaa_nn_schedule_peak_bytes(s.net, sc, log_n, threads);
    size_t base = rss_now_bytes() + reserve_bytes(log_n, L, threads, readers);
    size_t need_lazy = with_overhead(base, lazy->peak_bytes), need_min = with_overhead(base, lazy->min_budget);
    size_t budget = 0;
    budget = limit > base ? (size_t)((double)(limit - base) / 1.01) : 0;
    if (budget == 0) budget = 1; /* nothing left beside the process: one byte, refused below */
    if (need_lazy > limit) {
        st = beaa_nn_ooc_plan_make(s.net, sc, log_n, threads, budget, &plan);
        if (st != BEAA_OK && st != BEAA_ERR_MEMORY_LIMIT) {
            fprintf(stderr, "%s: plan: %s\n", tool_prog, beaa_strerror(st));
            goto out;
        }
    }
    fprintf(stderr, "%s: plan: %s\n", tool_prog, s.plan.msg);
    fprintf(stderr, "%s: plan: peak memory with every input resident %.0f MiB; reading inputs when "
                    "first needed, without spilling %.0f MiB; smallest limit with spilling %.0f MiB; "
                    "limit %.0f MiB%s\n", tool_prog,
            with_overhead(base, resident) / MIB, need_lazy / MIB, need_min / MIB,
            limit / MIB, a->mem_limit ? "" : " (3/4 of physical memory; --mem-limit sets it)");
    if (plan && st == BEAA_OK)
        fprintf(stderr, "%s: plan: under the limit: peak %.0f MiB, spilling %zu ciphertexts (%.1f MiB "
                        "written, at most %.1f MiB at once), %zu input reads (%.1f MiB)\n", tool_prog,
                with_overhead(base, plan->peak_bytes) / MIB, plan->spills, plan->spill_bytes / MIB,
                plan->scratch_peak_bytes / MIB, plan->input_reads, plan->input_read_bytes / MIB);
    else if (!plan)
        fprintf(stderr, "%s: plan: fits the limit without spilling\n", tool_prog);
    if (plan && st == BEAA_ERR_MEMORY_LIMIT) {
        fprintf(stderr, "%s: --mem-limit %.0f MiB is below the smallest limit this pass can run in "
                        "(%.0f MiB: one group's inputs, working set and outputs, plus %.0f MiB of process)\n",
                tool_prog, limit / MIB, need_min / MIB, base / MIB);
        goto out;
    }
    if (a->dry_run) { rc = 0; goto out; }
    io_ctx ioc;
    memset(&ioc, 0, sizeof ioc);
    ioc.src[0] = &src;
    ioc.nsrc = 1;
    ioc.scr = &scr;
    /* more readers of the input file (fewer if the file cannot be opened again) */
    for (unsigned i = 1; i < readers; i++) {
        const char *why2 = NULL;
        if (ct_source_open(a->in, ctx, CT_MAGIC, &more[i - 1], &why2) != BEAA_OK) break;
        ioc.src[ioc.nsrc++] = &more[i - 1];
    }
    if (plan && plan->spills) {
        char buf[4096];
        const char *dir = a->scratch;
        if (!dir) {
            snprintf(buf, sizeof buf, "%s", a->out);
            dir = dirname(buf);
        }
        size_t freeb = scratch_free_bytes(dir);
        if (scratch_limit && plan->scratch_peak_bytes + plan->scratch_peak_bytes / 20 > scratch_limit) {
            fprintf(stderr, "%s: the plan keeps up to %.1f MiB on scratch at once, more than "
                            "--scratch-limit %.1f MiB: raise one of the limits\n", tool_prog,
                    plan->scratch_peak_bytes / MIB, scratch_limit / MIB);
            goto out;
        }
        if (freeb != SIZE_MAX && plan->scratch_peak_bytes + plan->scratch_peak_bytes / 20 > freeb) {
            fprintf(stderr, "%s: scratch directory %s has %.1f MiB free, the plan keeps up to %.1f MiB "
                            "there at once: use --scratch on a larger disk or a higher --mem-limit\n",
                    tool_prog, dir, freeb / MIB, plan->scratch_peak_bytes / MIB);
            goto out;
        }
        if (scratch_open(&scr, dir, scratch_limit, ctx) != BEAA_OK) {
            fprintf(stderr, "%s: scratch: %s\n", tool_prog, scr.why);
            goto out;
        }
    }
    /* the pool keeps freed blocks for reuse: live and cached blocks together stay within the
     * budget (the plan, or the lazy pass that fits, bounds the live ones), so the cache takes
     * whatever the pass leaves free at each moment. (A fixed share, budget - planned peak, left
     * no cache at all when the plan spills: every block then came fresh from the OS; CIFAR
     * geometry under 4G: system time 29 s against 5 s.) */
    beaa_pool_set_limit(budget);
    beaa_pool_set_total_limit(budget);
    lg = calloc(s.m->num_classes, sizeof *lg);
    if (!lg) { fprintf(stderr, "%s: %s\n", tool_prog, beaa_strerror(BEAA_ERR_NOMEM)); goto out; }
    double t0 = now_s();
    beaa_nn_forward_opts fo = { threads, progress, &t0 };
    beaa_nn_forward_stats fs;
    beaa_nn_ooc_io io = { io_load, io_spill, io_reload, io_check, &ioc, io_load_slot, ioc.nsrc,
                          io_spill_slot, io_reload_slot, readers };
    st = beaa_nn_forward_ooc(s.net, qn, rk, sc, plan ? plan : lazy, &io, lg, &fo, &fs);
    if (st != BEAA_OK) {
        if (g_signal)
            fprintf(stderr, "%s: stopped by signal %d; no output written, scratch removed\n", tool_prog,
                    (int)g_signal);
        else if (ioc.scratch_failed)
            fprintf(stderr, "%s: scratch %s: %s; no output written, scratch removed\n", tool_prog,
                    scr.dir, scr.why);
        else if (ioc.source_failed)
            fprintf(stderr, "%s: %s: reading ciphertext %zu: %s; no output written\n", tool_prog,
                    a->in, ioc.failed_idx, beaa_strerror(st));
        else
            fprintf(stderr, "%s: encrypted forward pass: %s%s\n", tool_prog, beaa_strerror(st),
                    st == BEAA_ERR_NOMEM ? tool_nomem_hint() : "");
        goto out;
    }
    size_t reads = 0, read_bytes = 0;
    for (unsigned i = 0; i < ioc.nsrc; i++) {
        reads += ioc.src[i]->reads;
        read_bytes += ioc.src[i]->read_bytes;
    }
    fprintf(stderr, "%s: encrypted forward pass of %u images: %.1f s (%.1f s reading inputs and "
                    "scratch); read %zu input ciphertexts (%.1f MiB), spilled %zu (%.1f MiB written)\n",
            tool_prog, src.meta.n_images, fs.total_s, fs.io_s, reads, read_bytes / MIB,
            scr.files, scr.written / MIB);
    /* the logits file: written atomically; a signal now is held until it is in place (or not) */
    sigset_t block, prev;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &prev);
    st = write_cts(a->out, a->overwrite, ctx, LG_MAGIC, src.meta.n_images, s.m->num_classes, 1, 1, lg,
                   s.m->num_classes);
    sigprocmask(SIG_SETMASK, &prev, NULL);
    if (st != BEAA_OK) { tool_fail(a->out, st); goto out; }
    size_t peak = rss_peak_bytes();
    fprintf(stderr, "%s: wrote encrypted logits to %s; peak memory (ru_maxrss) %.0f MiB, limit %.0f MiB\n",
            tool_prog, a->out, peak / MIB, limit / MIB);
    rc = 0;
out:
    scratch_close(&scr);
    ct_source_close(&src);
    for (unsigned i = 0; i + 1 < INFER_MAX_SLOTS; i++) ct_source_close(&more[i]);
    if (lg) free_cts(lg, s.m->num_classes);
    beaa_nn_ooc_plan_free(plan);
    beaa_nn_ooc_plan_free(lazy);
    beaa_nn_schedule_free(sc);
    beaa_nn_qnet_free(qn);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_context_free(ctx);
    setup_free(&s);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGXFSZ, &old_xfsz, NULL);
    return rc;
}
