/* group.c - one group of a stage on ciphertexts (see group.h): the linear maps and the
 * products in one pass over (limb, coefficient range) tasks in parallel, the exact integer
 * linear maps giving x and u of every output in the thread's cache and their tensor product x*u
 * going straight into the unit's size-3 sum (a pooling window's outputs summed: exact, so the
 * order does not matter); then one relinearize+rescale per unit, in parallel over units. */
#include "nn/group.h"
#include "nn/clock_internal.h"
#include <stdlib.h>
#include "lib/mem.h"
#include "ckks/kernels/kernels.h"
#include "nn/schedule.h"

static void set_err(beaa_status *err, beaa_status st)
{
    if (st == BEAA_OK) return;
#pragma omp critical(beaa_nn_group_err)
    {
        if (*err == BEAA_OK) *err = st;
    }
}

/* r = +-(x + c) mod q (neg: minus): a derived u (quant.h), a bias added in place;
 * x in [0, q), c < q. */
static void shift_mod(uint64_t *u, const uint64_t *x, uint64_t c, int neg, size_t n, uint64_t q)
{
    if (neg) {
        for (size_t i = 0; i < n; i++) {
            uint64_t t = x[i] + c;
            t -= t >= q ? q : 0;
            u[i] = t ? q - t : 0;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint64_t t = x[i] + c;
            u[i] = t - (t >= q ? q : 0);
        }
    }
}

/* The linear maps and the ciphertext products of one group in one pass. Tasks are (RNS limb,
 * range of BEAA_NN_FUSE_COLS coefficients): for both polynomials, x and u of every output of the group
 * go into the thread's buffer (exact integer linear maps), and their tensor product, summed over
 * the unit's pooling window, into z[unit] (size 3, level lvl). x and u never leave the cache:
 * the pass writes 3 polynomials per unit instead of 4 per output, and reads none back. unit[i]
 * is the unit of group output i (SIZE_MAX: dropped, no product), first[i] whether it is the
 * unit's first. rowct != NULL (a stage with raw inputs, group_rows): x of output o is the
 * ciphertext rowct[o] and an own u row rowct[nout + o], instead of the linear maps. */
static beaa_status group_fused(const beaa_ckks_context *ctx, beaa_ckks_ciphertext *const *in,
                               const beaa_nn_group *gc, const size_t *unit, const uint8_t *first,
                               beaa_ckks_ciphertext *const *z, unsigned lvl, int threads,
                               beaa_ckks_ciphertext *const *rowct)
{
    const beaa_nn_stage *s = gc->s;
    const beaa_nn_qstage *qs = gc->qs;
    const size_t N = beaa_ckks_context_n(ctx), nin = (size_t)s->cin * s->hin * s->win;
    const size_t nout = qs->nout, G = gc->ngo, span = N < BEAA_NN_FUSE_COLS ? N : BEAA_NN_FUSE_COLS, nch = N / span;
    const size_t ntask = (size_t)(lvl + 1) * nch;
    const size_t wd = beaa_nn_linear_work_doubles(qs->kmax, qs->mmax);
    const beaa_kernels *kern = beaa_ckks_context_kernels(ctx);
    beaa_status err = BEAA_OK;
#pragma omp parallel num_threads(threads)
    {
        double *work = malloc(sizeof(double) * wd);
        const uint64_t **ip = calloc(nin + 1, sizeof(uint64_t *));
        uint64_t **op = calloc(2 * nout + 1, sizeof(uint64_t *));
        /* x and u of each output on each polynomial: xp[poly * G + i], up[poly * G + i] */
        const uint64_t **xp = malloc(sizeof(uint64_t *) * (4 * G + 1)), **up = xp + 2 * G;
        /* x of poly 0, u of poly 0, x of poly 1, u of poly 1 for each output; a product */
        uint64_t *buf = beaa_alloc(sizeof(uint64_t) * (4 * G + 3) * span);
        const int ok = work && ip && op && xp && buf;
        if (!ok) set_err(&err, BEAA_ERR_NOMEM);
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < ntask; k++) {
            if (!ok) continue;
            const unsigned limb = (unsigned)(k / nch);
            const size_t lo = (k % nch) * span;
            const beaa_modulus *m = beaa_ckks_context_q(ctx, limb);
            for (unsigned poly = 0; poly < 2; poly++) {
                for (size_t i = 0; i < G; i++) {
                    const int32_t o = gc->gout[i];
                    uint64_t *ub = buf + ((2 * poly + 1) * G + i) * span;
                    if (rowct) {
                        xp[poly * G + i] = beaa_ckks_ct_limb(rowct[o], poly, limb) + lo;
                        up[poly * G + i] = qs->umode[o] || !rowct[nout + o]
                                               ? ub
                                               : beaa_ckks_ct_limb(rowct[nout + o], poly, limb) + lo;
                    } else {
                        op[o] = buf + ((2 * poly) * G + i) * span;
                        op[nout + o] = ub;
                        xp[poly * G + i] = op[o];
                        up[poly * G + i] = ub;
                    }
                }
                if (!rowct) {
                    for (size_t b = 0; b < gc->ngb; b++)
                        for (int32_t c = 0; c < gc->gb[b].k; c++) {
                            int32_t i = gc->gb[b].in[c];
                            ip[i] = in[i] ? beaa_ckks_ct_limb(in[i], poly, limb) + lo : NULL;
                        }
                    beaa_nn_linear_range(gc->gb, gc->ngb, op, ip, poly == 0, m, 0, span, work);
                }
                /* the derived u: +-(x + shift) on poly 0, +-x on poly 1 (x itself when +) */
                for (size_t i = 0; i < G; i++) {
                    const int32_t o = gc->gout[i];
                    const int md = qs->umode[o];
                    if (!md || unit[i] == SIZE_MAX) continue;
                    if (poly == 1 && md > 0) {
                        up[G + i] = xp[G + i];
                        continue;
                    }
                    const uint64_t c = poly == 0 ? beaa_nn_i64_mod(qs->ushift[o], m->q) : 0;
                    uint64_t *ub = buf + ((2 * poly + 1) * G + i) * span;
                    shift_mod(ub, xp[poly * G + i], c, md < 0, span, m->q);
                    up[poly * G + i] = ub;
                }
            }
            uint64_t *tmp = buf + 4 * G * span;
            const uint64_t one_s = beaa_shoup(1, m->q);
            for (size_t i = 0; i < G; i++) {
                if (unit[i] == SIZE_MAX) continue;
                const uint64_t *x0 = xp[i], *u0 = up[i], *x1 = xp[G + i], *u1 = up[G + i];
                uint64_t *r[3];
                for (unsigned p = 0; p < 3; p++) r[p] = beaa_ckks_ct_limb(z[unit[i]], p, limb) + lo;
                if (first[i]) {
                    kern->tensor(r[0], r[1], r[2], x0, x1, u0, u1, span, m, 1, one_s);
                } else {
                    kern->tensor(tmp, tmp + span, tmp + 2 * span, x0, x1, u0, u1, span, m, 1, one_s);
                    for (unsigned p = 0; p < 3; p++) kern->add_mod(r[p], r[p], tmp + p * span, span, m->q);
                }
            }
        }
        free(work);
        free(ip);
        free(op);
        free(xp);
        beaa_free(buf);
    }
    return err;
}

/* A stage with raw inputs (fold.h: size 3 at level lvl + 1, scale D*q_(lvl+1)): the rows of the
 * group's linear maps (x of each output, and u where it has its own row) as ciphertexts of size
 * 3 at level lvl + 1, each then relinearized and rescaled to size 2 at level lvl (one key switch
 * per row instead of one per input: the previous stage skipped its own). rowct[o] = x of output
 * o, rowct[nout + o] = its own u row (2 * nout entries, NULL on entry). Times: the linear maps to
 * *lin_s, the key switches to *ks_s (their count to *nks). */
static beaa_status group_rows(const beaa_ckks_context *ctx, double D,
                              beaa_ckks_ciphertext *const *in, const beaa_nn_group *gc,
                              const beaa_ckks_relin_key *rk, unsigned lvl, int threads,
                              beaa_ckks_ciphertext **rowct, double *lin_s, double *ks_s, size_t *nks)
{
    const beaa_nn_stage *s = gc->s;
    const beaa_nn_qstage *qs = gc->qs;
    const size_t N = beaa_ckks_context_n(ctx), nin = (size_t)s->cin * s->hin * s->win;
    const size_t nout = qs->nout;
    const size_t span = N < BEAA_NN_FUSE_COLS ? N : BEAA_NN_FUSE_COLS, nch = N / span;
    const unsigned il = lvl + 1;
    const size_t ntask = (size_t)(il + 1) * nch;
    const size_t wd = beaa_nn_linear_work_doubles(qs->kmax, qs->mmax);
    double t0 = beaa_nn_now_s();
    beaa_status err = BEAA_OK;
    size_t nr = 0;
    int32_t *rows = malloc(sizeof(int32_t) * (2 * nout + 1));
    if (!rows) return BEAA_ERR_NOMEM;
    for (size_t b = 0; b < gc->ngb && err == BEAA_OK; b++) {
        const beaa_nn_linblock *lb = &gc->gb[b];
        const double in_scale = lb->k > 0 ? in[lb->in[0]]->scale : D;
        for (int32_t r = 0; r < lb->m && err == BEAA_OK; r++) {
            const int32_t o = lb->out[r];
            err = beaa_ckks_ciphertext_new_uninit(ctx, 3, il, &rowct[o]);
            if (err != BEAA_OK) break;
            /* sum W_int * in: the row's scale times the inputs' over D */
            rowct[o]->scale = ((size_t)o < nout ? qs->sx[o] : qs->su[o - nout]) * (in_scale / D);
            rows[nr++] = o;
        }
    }
    if (err == BEAA_OK) {
#pragma omp parallel num_threads(threads)
        {
            double *work = malloc(sizeof(double) * wd);
            const uint64_t **ip = calloc(nin + 1, sizeof(uint64_t *));
            uint64_t **op = calloc(2 * nout + 1, sizeof(uint64_t *));
            if (!work || !ip || !op) set_err(&err, BEAA_ERR_NOMEM);
#pragma omp for schedule(dynamic, 1)
            for (size_t k = 0; k < ntask; k++) {
                if (!work || !ip || !op) continue;
                const unsigned limb = (unsigned)(k / nch);
                const size_t lo = (k % nch) * span;
                const beaa_modulus *m = beaa_ckks_context_q(ctx, limb);
                for (unsigned poly = 0; poly < 3; poly++) {
                    for (size_t b = 0; b < gc->ngb; b++)
                        for (int32_t c = 0; c < gc->gb[b].k; c++) {
                            int32_t i = gc->gb[b].in[c];
                            ip[i] = beaa_ckks_ct_limb(in[i], poly, limb) + lo;
                        }
                    for (size_t j = 0; j < nr; j++)
                        op[rows[j]] = beaa_ckks_ct_limb(rowct[rows[j]], poly, limb) + lo;
                    beaa_nn_linear_range(gc->gb, gc->ngb, op, ip, 0, m, 0, span, work);
                    if (poly > 0) continue;
                    /* the biases are at the rows' scales, the sums at q_il times them */
                    const uint64_t qil = beaa_ckks_context_q(ctx, il)->q % m->q;
                    for (size_t b = 0; b < gc->ngb; b++)
                        for (int32_t r = 0; r < gc->gb[b].m; r++) {
                            const uint64_t bm = beaa_nn_i64_mod(gc->gb[b].bias[r], m->q);
                            const uint64_t c = beaa_mul_mod(bm, qil, m);
                            uint64_t *o = op[gc->gb[b].out[r]];
                            shift_mod(o, o, c, 0, span, m->q);
                        }
                }
            }
            free(work);
            free(ip);
            free(op);
        }
    }
    double t1 = beaa_nn_now_s();
    *lin_s += t1 - t0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (size_t j = 0; j < (err == BEAA_OK ? nr : 0); j++) {
        beaa_ckks_ciphertext *res = NULL;
        beaa_status st = beaa_ckks_ciphertext_new_uninit(ctx, 2, lvl, &res);
        if (st == BEAA_OK) st = beaa_ckks_relin_rescale(rowct[rows[j]], rk, res);
        beaa_ckks_ciphertext_free(rowct[rows[j]]);
        rowct[rows[j]] = res;
        if (st != BEAA_OK) {
            beaa_ckks_ciphertext_free(res);
            rowct[rows[j]] = NULL;
            set_err(&err, st);
        }
    }
    *ks_s += beaa_nn_now_s() - t1;
    *nks += nr;
    free(rows);
    return err;
}

beaa_status beaa_nn_group_run(const beaa_ckks_context *ctx, const beaa_nn_group *gc, double D,
                              const int32_t *pidx_of, beaa_ckks_ciphertext *const *in,
                              const beaa_ckks_relin_key *rk, unsigned lvl,
                              beaa_ckks_ciphertext **out, const int32_t *want, int raw_out,
                              int threads, double *lin_s, double *ks_s, size_t *nks)
{
    const beaa_nn_stage *s = gc->s;
    const beaa_nn_qstage *qs = gc->qs;
    const size_t hw = (size_t)s->hout * s->wout, G = gc->ngo;
    const size_t nunits = s->pool_kh ? s->cout : G;
    beaa_ckks_ciphertext **rowct = NULL;
    if (s->raw_in) {
        rowct = calloc(2 * qs->nout + 1, sizeof *rowct);
        beaa_status st = BEAA_ERR_NOMEM;
        if (rowct) st = group_rows(ctx, D, in, gc, rk, lvl, threads, rowct, lin_s, ks_s, nks);
        if (st != BEAA_OK) {
            for (size_t i = 0; rowct && i < 2 * qs->nout; i++) beaa_ckks_ciphertext_free(rowct[i]);
            free(rowct);
            return st;
        }
    }
    double t0 = beaa_nn_now_s();
    size_t *unit = malloc(sizeof(size_t) * (G + 1));
    uint8_t *first = malloc(G + 1);
    int32_t *pidx = malloc(sizeof(int32_t) * (nunits + 1));
    beaa_ckks_ciphertext **z = calloc(nunits + 1, sizeof *z);
    beaa_status err = unit && first && pidx && z ? BEAA_OK : BEAA_ERR_NOMEM;
    for (size_t i = 0; i < nunits && err == BEAA_OK; i++) pidx[i] = -1;
    /* units, their first outputs and scales (as beaa_ckks_mul and beaa_ckks_add check them) */
    for (size_t i = 0; i < G && err == BEAA_OK; i++) {
        int32_t o = gc->gout[i];
        size_t un = s->pool_kh ? (size_t)o / hw : i;
        const double sc = qs->sx[o] * qs->su[o];
        unit[i] = un;
        pidx[un] = pidx_of[o];
        err = beaa_ckks_product_scale_check(ctx, lvl, sc);
        if (err != BEAA_OK) break;
        if (pidx[un] < 0 || (want && want[pidx[un]] <= 0)) { /* no later block reads it */
            unit[i] = SIZE_MAX;
            continue;
        }
        first[i] = !z[un];
        if (!z[un]) {
            err = beaa_ckks_ciphertext_new_uninit(ctx, 3, lvl, &z[un]);
            if (err == BEAA_OK) z[un]->scale = sc;
        } else if (!beaa_ckks_scales_equal(z[un]->scale, sc))
            err = BEAA_ERR_SCALE_MISMATCH;
    }
    if (err == BEAA_OK) err = group_fused(ctx, in, gc, unit, first, z, lvl, threads, rowct);
    if (rowct)
        for (size_t i = 0; i < 2 * qs->nout; i++) beaa_ckks_ciphertext_free(rowct[i]);
    free(rowct);
    double t1 = beaa_nn_now_s();
    *lin_s += t1 - t0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (size_t un = 0; un < (z ? nunits : 0); un++) {
        beaa_ckks_ciphertext *res = NULL;
        beaa_status st = BEAA_OK;
        if (z[un] && err == BEAA_OK && raw_out) {
            out[pidx[un]] = z[un]; /* the next stage relinearizes its rows instead */
            z[un] = NULL;
        } else if (z[un] && err == BEAA_OK) {
#pragma omp atomic
            (*nks)++;
            /* relinearize before (with) the rescale: the key-switching noise is then divided by
             * q too (measured: 5-10x smaller logit errors than rescale-then-relinearize) */
            st = beaa_ckks_ciphertext_new_uninit(ctx, 2, lvl - 1, &res);
            if (st == BEAA_OK) st = beaa_ckks_relin_rescale(z[un], rk, res);
            set_err(&err, st);
            if (st == BEAA_OK) out[pidx[un]] = res;
            else beaa_ckks_ciphertext_free(res);
        }
        beaa_ckks_ciphertext_free(z[un]);
    }
    *ks_s += beaa_nn_now_s() - t1;
    free(unit);
    free(first);
    free(pidx);
    free(z);
    return err;
}
