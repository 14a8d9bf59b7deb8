/* plan.c - parameter choice and peak-memory estimate for encrypted inference (see plan.h).
 * Chain: q_0 (base_bits), then one stage_bits prime per stage; the input is encrypted at the
 * top level L = stages and each stage ends one level lower, the logits at level 0. */
#include "nn/plan.h"
#include "ckks/serialize.h"
#include <stdio.h>
#include <string.h>
#include "lib/cpu.h"
#include "ckks/keys.h"
#include "nn/ooc.h"
#include "nn/schedule.h"

void beaa_nn_plan_opts_default(beaa_nn_plan_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 1;
    o->log_scale = 25;
    o->stage_bits = 50;
    o->base_bits = 50;
    o->n_special = 0; /* automatic: about a third of the data primes (3 key-switching digits) */
    o->special_bits = 50;
    o->min_log_n = 10;
}

size_t beaa_nn_ct_bytes(unsigned log_n, unsigned size, unsigned level)
{
    return (size_t)size * (level + 1) * ((size_t)1 << log_n) * 8;
}

static unsigned dflt(unsigned v, unsigned d) { return v ? v : d; }

/* Estimated peaks: the ciphertexts the pass holds when it follows its schedule (nn/schedule.h:
 * inputs until their last reader, bands of each stage's outputs, the running group's working
 * set), 1% more for the pool's blocks (page rounding and cache-colouring offsets: the pool splits
 * and assembles blocks to the size asked, lib/pool.h), the keys, and for the rest of the process
 * 128 MiB (context tables, code, the model and the data) plus 32 MiB per thread (its
 * key-switching scratch, its buffers of the pass, OpenBLAS's): the main job at 2 threads holds
 * 207 MiB besides its ciphertexts and keys (ru_maxrss less the pool's peak). *peak: every input
 * resident from the start (beaa_nn_forward); *upload: inputs held as their packed c_0 until
 * first read (nn/upload.h; the main job: planned 2.96 GiB, ru_maxrss 2.88 GiB). Both 0 if the
 * schedule cannot be built. */
static void estimate_peaks(const beaa_nn_net *net, const beaa_ckks_params_spec *spec, int threads,
                           size_t key_bytes, size_t *peak, size_t *upload)
{
    const unsigned log_n = spec->log_n;
    size_t c0 = 0; /* an upload's c_0 per input: the limbs bit-packed (nn/upload.h) */
    for (unsigned i = 0; i < spec->n_primes; i++)
        c0 += beaa_ckks_serial_limb_bytes((size_t)1 << log_n, spec->prime_bits[i]);
    beaa_nn_schedule *sc = NULL;
    beaa_nn_ooc_plan *op = NULL;
    *peak = *upload = 0;
    if (beaa_nn_schedule_make(net, &sc) != BEAA_OK) return;
    size_t fixed = key_bytes + ((size_t)128 << 20) + (size_t)threads * ((size_t)32 << 20);
    size_t p = beaa_nn_schedule_peak_bytes(net, sc, log_n, threads);
    *peak = p + p / 100 + fixed;
    if (beaa_nn_ooc_plan_make_upload(net, sc, log_n, threads, c0, &op) == BEAA_OK) {
        p = op->peak_upload_bytes;
        *upload = p + p / 100 + fixed;
    }
    beaa_nn_ooc_plan_free(op);
    beaa_nn_schedule_free(sc);
}

beaa_status beaa_nn_plan_make(const beaa_nn_net *net, const beaa_nn_plan_opts *oin,
                              beaa_nn_plan *plan)
{
    if (!net || !plan) return BEAA_ERR_ARG;
    memset(plan, 0, sizeof *plan);
    beaa_nn_plan_opts o;
    beaa_nn_plan_opts_default(&o);
    if (oin) {
        o.batch = oin->batch ? oin->batch : 1;
        o.log_scale = dflt(oin->log_scale, o.log_scale);
        o.in_log_scale = oin->in_log_scale;
        o.stage_bits = dflt(oin->stage_bits, o.stage_bits);
        o.base_bits = dflt(oin->base_bits, o.base_bits);
        o.n_special = oin->n_special;
        o.special_bits = dflt(oin->special_bits, o.special_bits);
        o.min_log_n = dflt(oin->min_log_n, o.min_log_n);
        o.force_log_n = oin->force_log_n;
        o.allow_insecure = oin->allow_insecure;
        o.threads = oin->threads;
    }
    if (!o.in_log_scale) o.in_log_scale = o.log_scale;
    int threads = o.threads > 0 ? o.threads : beaa_cpu_threads();
    unsigned L = net->nstages;
    plan->levels = L;
    plan->batch = o.batch;
    plan->scale = (double)(1ull << o.log_scale);
    plan->in_scale = (double)(1ull << o.in_log_scale);
    if (o.log_scale < 10 || o.log_scale > 40 || o.in_log_scale > 45 ||
        o.stage_bits < o.log_scale + 10 || o.stage_bits > BEAA_CKKS_MAX_PRIME_BITS ||
        o.base_bits < o.log_scale + 10 || o.base_bits > BEAA_CKKS_MAX_PRIME_BITS ||
        o.n_special > BEAA_CKKS_MAX_SPECIAL || o.special_bits < 20 || o.special_bits > BEAA_CKKS_MAX_PRIME_BITS) {
        snprintf(plan->msg, sizeof plan->msg, "plan options out of range");
        return BEAA_ERR_PARAMS;
    }
    if (L + 1 > BEAA_CKKS_MAX_PRIMES) {
        snprintf(plan->msg, sizeof plan->msg,
                 "model has %u activation stages; at most %u levels are supported", L,
                 BEAA_CKKS_MAX_PRIMES - 1);
        return BEAA_ERR_DEPTH;
    }
    if (o.batch > ((size_t)1 << (BEAA_CKKS_MAX_LOG_N - 1))) {
        snprintf(plan->msg, sizeof plan->msg, "batch of %zu images exceeds the %u slots of N=2^%u",
                 o.batch, 1u << (BEAA_CKKS_MAX_LOG_N - 1), BEAA_CKKS_MAX_LOG_N);
        return BEAA_ERR_SLOTS;
    }
    if (o.n_special == 0) {
        /* hybrid key switching with few digits: fewer NTTs per relinearization, at the price of
         * special primes that count against the security bound (reduced below if they do not fit) */
        o.n_special = (L + 1 + 2) / 3;
        if (o.n_special > BEAA_CKKS_MAX_SPECIAL) o.n_special = BEAA_CKKS_MAX_SPECIAL;
        unsigned data = o.base_bits + L * o.stage_bits, cap = beaa_ckks_security_max_logqp(BEAA_CKKS_MAX_LOG_N);
        for (unsigned ln = BEAA_CKKS_MIN_LOG_N; ln <= BEAA_CKKS_MAX_LOG_N; ln++)
            if (((size_t)1 << (ln - 1)) >= o.batch && (!o.force_log_n || ln == o.force_log_n) &&
                data + o.special_bits <= beaa_ckks_security_max_logqp(ln)) {
                cap = beaa_ckks_security_max_logqp(ln);
                break;
            }
        while (o.n_special > 1 && !o.allow_insecure && data + o.n_special * o.special_bits > cap)
            o.n_special--;
    }
    unsigned total = o.base_bits + L * o.stage_bits + o.n_special * o.special_bits;
    plan->total_bits = total;
    unsigned log_n = 0;
    unsigned lo = o.min_log_n < BEAA_CKKS_MIN_LOG_N ? BEAA_CKKS_MIN_LOG_N : o.min_log_n;
    if (o.force_log_n) lo = o.force_log_n;
    for (unsigned ln = lo; ln <= BEAA_CKKS_MAX_LOG_N; ln++) {
        if (((size_t)1 << (ln - 1)) < o.batch) {
            if (o.force_log_n) break;
            continue;
        }
        if (o.allow_insecure || total <= beaa_ckks_security_max_logqp(ln)) { log_n = ln; break; }
        if (o.force_log_n) break;
    }
    if (!log_n) {
        /* the levels a secure chain holds in the forced ring, else in the largest one */
        unsigned ring = o.force_log_n ? o.force_log_n : BEAA_CKKS_MAX_LOG_N;
        unsigned maxb = beaa_ckks_security_max_logqp(ring);
        long room = (long)maxb - (long)o.base_bits - (long)o.n_special * (long)o.special_bits;
        int fit = room < 0 ? 0 : (int)(room / (long)o.stage_bits);
        if (o.force_log_n && ((size_t)1 << (o.force_log_n - 1)) < o.batch)
            snprintf(plan->msg, sizeof plan->msg, "batch of %zu images does not fit the %zu slots of N=2^%u",
                     o.batch, (size_t)1 << (o.force_log_n - 1), o.force_log_n);
        else
            snprintf(plan->msg, sizeof plan->msg,
                     "model is %u levels deep (needs log2(QP) = %u bits); a 128-bit secure chain"
                     "%s holds at most %d levels (N=2^%u allows %u bits)",
                     L, total, o.force_log_n ? " for the forced ring" : "", fit, ring, maxb);
        return (o.force_log_n && ((size_t)1 << (o.force_log_n - 1)) < o.batch) ? BEAA_ERR_SLOTS
                                                                              : BEAA_ERR_DEPTH;
    }
    unsigned bits[BEAA_CKKS_MAX_PRIMES];
    bits[0] = o.base_bits;
    for (unsigned i = 1; i <= L; i++) bits[i] = o.stage_bits;
    beaa_status st = beaa_ckks_params_spec_make(&plan->spec, log_n, bits, L + 1, o.n_special,
                                                o.special_bits);
    if (st != BEAA_OK) {
        snprintf(plan->msg, sizeof plan->msg, "parameter spec rejected: %s", beaa_strerror(st));
        return st;
    }
    plan->spec.allow_insecure = o.allow_insecure;
    plan->max_bits = beaa_ckks_security_max_logqp(log_n);
    unsigned dnum = (L + 1 + o.n_special - 1) / o.n_special;
    /* the relinearization key, bit-packed (ckks/keys.h): N/8 groups of `bits` bytes per limb */
    const size_t row_bits = o.base_bits + (size_t)L * o.stage_bits + (size_t)o.n_special * o.special_bits;
    plan->key_bytes = (size_t)dnum * 2 * row_bits * (((size_t)1 << log_n) / 8);
    /* and its copy as doubles where the kernel table reads those (beaa_ckks_switch_key_make_fp) */
    plan->key_bytes += beaa_ckks_switch_key_fp_bytes_spec(&plan->spec);
    plan->input_cts = (size_t)net->in_c * net->in_h * net->in_w;
    plan->output_cts = net->num_classes;
    estimate_peaks(net, &plan->spec, threads, plan->key_bytes, &plan->peak_bytes, &plan->peak_upload_bytes);
    snprintf(plan->msg, sizeof plan->msg,
             "N=2^%u (%zu slots, batch %zu), %u levels: q0 %u bits + %u x %u bits + %u special x %u "
             "bits = %u bits (128-bit bound %u), scale 2^%u",
             log_n, (size_t)1 << (log_n - 1), o.batch, L, o.base_bits, L, o.stage_bits,
             o.n_special, o.special_bits, total, plan->max_bits, o.log_scale);
    return BEAA_OK;
}
