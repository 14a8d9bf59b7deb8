/* upload.c - the client's batch as c_0 and the seed of c_1 per position, and the pass that
 * expands each input when first read (see upload.h). */
#include "nn/upload.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lib/cpu.h"
#include "lib/pool.h"
#include "ckks/serialize.h"
#include "nn/ooc.h"
#include "nn/pack_internal.h"
#include "nn/schedule.h"

typedef struct upload_pos {
    uint8_t *c0;                  /* c_0's limbs bit-packed to their primes' sizes (as in the
                                     ciphertext files: beaa_nn_upload_c0_bytes), pool memory;
                                     NULL once taken */
    uint8_t seed[BEAA_SEED_BYTES];
} upload_pos;

struct beaa_nn_upload {
    const beaa_ckks_context *ctx;
    unsigned level;
    double scale;
    size_t npos;
    upload_pos *pos;
};

size_t beaa_nn_upload_c0_bytes(const beaa_ckks_context *ctx, unsigned level)
{
    return beaa_ckks_serial_limbs_bytes(ctx, 0, level + 1);
}

/* The encryption loop's sink: c_0 (packed) and the seed are kept, the ciphertext is reused. */
static beaa_status sink_keep(void *user, size_t e, beaa_ckks_ciphertext **ct)
{
    beaa_nn_upload *u = user;
    uint8_t *c0 = beaa_pool_alloc(beaa_nn_upload_c0_bytes(u->ctx, u->level), NULL);
    if (!c0) return BEAA_ERR_NOMEM;
    beaa_ckks_serial_pack_limbs(u->ctx, c0, beaa_ckks_ct_limb(*ct, 0, 0), 0, u->level + 1);
    memcpy(u->pos[e].seed, (*ct)->seed, BEAA_SEED_BYTES);
    u->pos[e].c0 = c0;
    return BEAA_OK;
}

beaa_status beaa_nn_upload_encrypt(const beaa_ckks_secret_key *sk, const double *x, size_t n,
                                   size_t el, unsigned level, double scale, beaa_nn_upload **out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    if (!sk || !sk->ctx || !x || n == 0 || el == 0) return BEAA_ERR_ARG;
    beaa_nn_upload *u = calloc(1, sizeof *u);
    if (!u || !(u->pos = calloc(el, sizeof *u->pos))) { free(u); return BEAA_ERR_NOMEM; }
    u->ctx = sk->ctx;
    u->level = level;
    u->scale = scale;
    u->npos = el;
    beaa_status st = beaa_nn_pack_encrypt_each(sk, x, n, el, level, scale, sink_keep, u);
    if (st != BEAA_OK) { beaa_nn_upload_free(u); return st; }
    *out = u;
    return BEAA_OK;
}

size_t beaa_nn_upload_positions(const beaa_nn_upload *u) { return u ? u->npos : 0; }

size_t beaa_nn_upload_pending(const beaa_nn_upload *u)
{
    size_t k = 0;
    for (size_t e = 0; u && e < u->npos; e++) k += u->pos[e].c0 != NULL;
    return k;
}

size_t beaa_nn_upload_bytes(const beaa_nn_upload *u)
{
    return u ? beaa_nn_upload_pending(u) * beaa_nn_upload_c0_bytes(u->ctx, u->level) : 0;
}

beaa_status beaa_nn_upload_take(beaa_nn_upload *u, size_t e, beaa_ckks_ciphertext **ct)
{
    if (!ct) return BEAA_ERR_ARG;
    *ct = NULL;
    if (!u || e >= u->npos || !u->pos[e].c0) return BEAA_ERR_ARG;
    beaa_ckks_ciphertext *c = NULL;
    beaa_status st = beaa_ckks_ciphertext_new_uninit(u->ctx, 2, u->level, &c);
    if (st != BEAA_OK) return st;
    if (beaa_ckks_serial_unpack_limbs(u->ctx, u->pos[e].c0, beaa_ckks_ct_limb(c, 0, 0), 0, u->level + 1)) { beaa_ckks_ciphertext_free(c); return BEAA_ERR_INTERNAL; } /* (packed by us: never) */
    memcpy(c->seed, u->pos[e].seed, BEAA_SEED_BYTES);
    st = beaa_ckks_ciphertext_expand_seed(c);
    if (st != BEAA_OK) { beaa_ckks_ciphertext_free(c); return st; }
    c->scale = u->scale;
    beaa_pool_free(u->pos[e].c0);
    u->pos[e].c0 = NULL;
    *ct = c;
    return BEAA_OK;
}

void beaa_nn_upload_free(beaa_nn_upload *u)
{
    if (!u) return;
    for (size_t e = 0; e < u->npos; e++) beaa_pool_free(u->pos[e].c0);
    free(u->pos);
    free(u);
}

/* ------------------------------------------------------------------ the pass */

static beaa_status io_load(void *user, size_t idx, beaa_ckks_ciphertext **ct)
{
    return beaa_nn_upload_take(user, idx, ct);
}

static beaa_status io_load_slot(void *user, unsigned slot, size_t idx, beaa_ckks_ciphertext **ct)
{
    (void)slot;
    return beaa_nn_upload_take(user, idx, ct);
}

/* a plan without a budget never spills */
static beaa_status io_spill(void *user, uint32_t si, size_t idx, const beaa_ckks_ciphertext *ct)
{
    (void)user; (void)si; (void)idx; (void)ct;
    return BEAA_ERR_INTERNAL;
}

static beaa_status io_reload(void *user, uint32_t si, size_t idx, beaa_ckks_ciphertext **ct)
{
    (void)user; (void)si; (void)idx; (void)ct;
    return BEAA_ERR_INTERNAL;
}

beaa_status beaa_nn_forward_upload(const beaa_nn_net *net, const beaa_nn_qnet *qn,
                                   const beaa_ckks_relin_key *rk, beaa_nn_upload *u,
                                   beaa_ckks_ciphertext **logits, const beaa_nn_forward_opts *opts,
                                   beaa_nn_forward_stats *stats)
{
    if (!net || !qn || !u || !logits) return BEAA_ERR_ARG;
    for (uint32_t k = 0; k < net->num_classes; k++) logits[k] = NULL;
    const size_t nin0 = (size_t)net->in_c * net->in_h * net->in_w;
    if (!rk) return BEAA_ERR_NO_KEY;
    if (qn->nstages != net->nstages || net->nstages == 0 || net->nstages > BEAA_NN_MAX_STAGES ||
        u->npos != nin0 || beaa_nn_upload_pending(u) != nin0)
        return BEAA_ERR_ARG;
    if (beaa_ckks_context_max_level(u->ctx) != net->nstages || rk->key.ctx != u->ctx)
        return BEAA_ERR_PARAMS_MISMATCH;
    if (u->level != net->nstages) return BEAA_ERR_LEVEL_MISMATCH;
    if (!(fabs(u->scale / qn->in_scale - 1.0) <= 1e-9)) return BEAA_ERR_SCALE_MISMATCH;
    const int threads = opts && opts->threads > 0 ? opts->threads : beaa_cpu_threads();
    beaa_nn_forward_opts fo = { threads, opts ? opts->progress : NULL, opts ? opts->user : NULL };
    beaa_nn_schedule *sc = NULL;
    beaa_nn_ooc_plan *plan = NULL;
    const unsigned log_n = beaa_ckks_context_log_n(u->ctx);
    beaa_status st = beaa_nn_schedule_make(net, &sc);
    if (st == BEAA_OK)
        st = beaa_nn_ooc_plan_make_upload(net, sc, log_n, threads,
                                          beaa_nn_upload_c0_bytes(u->ctx, u->level), &plan);
    if (st == BEAA_OK) {
        beaa_nn_ooc_io io = { io_load, io_spill, io_reload, NULL, u, io_load_slot,
                              (unsigned)threads, NULL, NULL, 0 };
        st = beaa_nn_forward_ooc(net, qn, rk, sc, plan, &io, logits, &fo, stats);
    }
    beaa_nn_ooc_plan_free(plan);
    beaa_nn_schedule_free(sc);
    return st;
}
