/* quant.c - integer weights and per-output scales for the encrypted pass (see quant.h). */
#include "nn/quant.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void beaa_nn_qnet_free(beaa_nn_qnet *q)
{
    if (!q) return;
    for (uint32_t i = 0; q->stages && i < q->nstages; i++) free(q->stages[i].mem);
    free(q->stages);
    free(q);
}

/* Quantizes row r of block fb (output o): x's integer row into wx/bx, and u's into wu/bu, or, with
 * *derived set to 1, u derived from x (umode and ushift of o). The two ways and the choice are
 * explained in quant.h. */
static beaa_status quant_row(const beaa_nn_stage *s, const beaa_nn_fblock *fb, uint32_t r,
                             double D, double q, double lim, double derive_max, const double *s_in,
                             const double *mag_in, double *mag_out, beaa_nn_qstage *qs,
                             beaa_nn_qnet *qn, double *wx, double *wu, int64_t *bx, int64_t *bu,
                             int *derived)
{
    const uint32_t k = fb->k;
    const int32_t o = fb->out[r];
    const double a = s->a[o], bb = s->b[o];
    double l1 = 0, x2 = 0;
    for (uint32_t c = 0; c < k; c++) {
        double wr = fb->w[(size_t)r * k + c];
        l1 += fabs(wr) / s_in[fb->in[c]];
        x2 += wr * wr * mag_in[fb->in[c]] * mag_in[fb->in[c]];
    }
    /* z = x*u has error ~ |u|*dx + |x|*du with dx ~ 1/Sx, du ~ 1/Su and Sx*Su = D*q fixed: the
     * best split is Sx = sqrt(D*q*|u|/|x|), and the error is then ~ 2 sqrt(|u| |x| / (D q)).
     * |x| and |u| are estimated by propagating magnitudes through the network (inputs ~1; a
     * row's output ~ the L2 norm of its weights times its inputs' magnitudes). */
    const double mx = sqrt(x2) + fabs(fb->bias[r]), mu = fabs(a) * mx + fabs(bb);
    if (mag_out) mag_out[o] = mx * mu;
    /* u derived from x: u = sign(a) (x + b/a) at the same scale Sx = sqrt(D q |a|), which z =
     * x*u rescaled by q carries at scale D as a*x^2 + b*x: the error is ~ |2 a x + b| dx, i.e.
     * (2|a||x| + |b|) / sqrt(D q |a|); derive when that is at most derive_max times the above */
    double sx = 0;
    *derived = 0;
    if (a != 0 && mx > 0 && derive_max > 0) {
        const double ratio = (2 * fabs(a) * mx + fabs(bb)) / (2 * sqrt(fabs(a) * mu * mx));
        sx = sqrt(D * q * fabs(a));
        *derived = ratio <= derive_max && !(l1 > 0 && sx * l1 > lim);
    }
    double su;
    if (*derived) {
        su = sx / fabs(a);
    } else {
        double ratio = mx > 0 ? mu / mx : fabs(a) + fabs(bb);
        sx = sqrt(D * q * (ratio > 0 ? ratio : 1.0));
        if (l1 > 0 && sx * l1 > lim) sx = lim / l1;
        su = D * q / sx;
        if (l1 > 0 && su * fabs(a) * l1 > lim) return BEAA_ERR_SCALE_RANGE;
    }
    const double bxf = nearbyint(fb->bias[r] * sx);
    const double bu_f = *derived ? nearbyint(bb / a * sx) : nearbyint((a * fb->bias[r] + bb) * su);
    if (!(fabs(bxf) < 4e18) || !(fabs(bu_f) < 4e18) || !(fabs(bxf + bu_f) < 4e18))
        return BEAA_ERR_SCALE_RANGE;
    qs->sx[o] = sx;
    qs->su[o] = su;
    double mxw = 0, l1x = 0, l1u = 0;
    for (uint32_t c = 0; c < k; c++) {
        double wr = fb->w[(size_t)r * k + c] / s_in[fb->in[c]];
        wx[c] = nearbyint(wr * sx);
        if (fabs(wx[c]) > mxw) mxw = fabs(wx[c]);
        l1x += fabs(wx[c]);
        if (!*derived) {
            wu[c] = nearbyint(a * wr * su);
            l1u += fabs(wu[c]);
        }
    }
    double l1r = (l1x > l1u ? l1x : l1u) / (lim / 0.95);
    if (l1r > qn->worst_l1) qn->worst_l1 = l1r;
    if (mxw > 0 && mxw < qn->min_row_max) qn->min_row_max = mxw;
    *bx = (int64_t)bxf;
    if (*derived) {
        qs->umode[o] = a < 0 ? -1 : 1;
        qs->ushift[o] = (int64_t)bu_f;
    } else {
        *bu = (int64_t)bu_f;
    }
    return BEAA_OK;
}

static beaa_status quant_stage(const beaa_nn_stage *s, unsigned level, double D,
                               double derive_max, const double *s_in, const double *mag_in,
                               double *mag_out, const beaa_ckks_context *ctx, beaa_nn_qstage *qs,
                               beaa_nn_qnet *qn)
{
    double q = (double)beaa_ckks_context_q(ctx, level)->q;
    double lim = 1e300;
    for (unsigned i = 0; i <= level + s->raw_in; i++) { /* raw inputs: one limb more (fold.h) */
        double l = beaa_nn_linear_l1_limit(beaa_ckks_context_q(ctx, i)->q);
        if (l < lim) lim = l;
    }
    lim *= 0.95;
    size_t nout = (size_t)s->cout * s->hout * s->wout;
    size_t nint = 0, nw = 0, nrow = 0;
    for (uint32_t b = 0; b < s->nblocks; b++) {
        nint += s->blocks[b].k + 2 * (size_t)s->blocks[b].m;
        nw += 2 * (size_t)s->blocks[b].m * s->blocks[b].k;
        nrow += 2 * (size_t)s->blocks[b].m;
    }
    size_t bytes = sizeof(beaa_nn_linblock) * (s->nblocks + 1) + sizeof(double) * (2 * nout + nw)
                 + sizeof(int64_t) * (nrow + nout) + sizeof(int32_t) * (nint + 1) + nout;
    uint8_t *mem = calloc(1, bytes + 64);
    if (!mem) return BEAA_ERR_NOMEM;
    qs->mem = mem;
    qs->blocks = (beaa_nn_linblock *)mem;
    double *dp = (double *)(mem + sizeof(beaa_nn_linblock) * (s->nblocks + 1));
    qs->sx = dp; dp += nout;
    qs->su = dp; dp += nout;
    int64_t *bp = (int64_t *)(dp + nw);
    qs->ushift = bp; bp += nout;
    int32_t *ip = (int32_t *)(bp + nrow);
    qs->umode = (int8_t *)(ip + nint + 1);
    qs->nblocks = s->nblocks;
    qs->nout = nout;
    qs->kmax = qs->mmax = 1;
    for (uint32_t bi = 0; bi < s->nblocks; bi++) {
        const beaa_nn_fblock *fb = &s->blocks[bi];
        beaa_nn_linblock *lb = &qs->blocks[bi];
        uint32_t k = fb->k, m = fb->m, rows = m;
        double *w = dp; dp += (size_t)2 * m * k;
        int64_t *bias = bp; bp += 2 * m;
        int32_t *in = ip; ip += k;
        int32_t *outi = ip; ip += 2 * m;
        memcpy(in, fb->in, sizeof(int32_t) * k);
        /* rows 0..m-1: x of every output; then u of the outputs that have their own row */
        for (uint32_t r = 0; r < m; r++) {
            int derived;
            beaa_status st = quant_row(s, fb, r, D, q, lim, derive_max, s_in, mag_in, mag_out, qs, qn,
                                       w + (size_t)r * k, w + (size_t)rows * k, &bias[r],
                                       &bias[rows], &derived);
            if (st != BEAA_OK) return st;
            outi[r] = fb->out[r];
            qn->n_macs += k;
            if (derived) {
                qn->n_derived++;
            } else {
                outi[rows++] = (int32_t)(nout + (size_t)fb->out[r]);
                qn->n_macs += k;
            }
        }
        lb->k = (int32_t)k;
        lb->m = (int32_t)rows;
        lb->in = in;
        lb->out = outi;
        lb->w = w;
        lb->bias = bias;
        if ((int)k > qs->kmax) qs->kmax = (int)k;
        if ((int)rows > qs->mmax) qs->mmax = (int)rows;
    }
    return BEAA_OK;
}

beaa_status beaa_nn_quantize(const beaa_nn_net *net, const beaa_nn_plan *plan,
                             const beaa_ckks_context *ctx, beaa_nn_qnet **out)
{
    return beaa_nn_quantize_ex(net, plan, ctx, BEAA_NN_DERIVE_MAX, out);
}

beaa_status beaa_nn_quantize_ex(const beaa_nn_net *net, const beaa_nn_plan *plan,
                                const beaa_ckks_context *ctx, double derive_max, beaa_nn_qnet **out)
{
    if (!net || !plan || !ctx || !out || !(derive_max >= 0)) return BEAA_ERR_ARG;
    *out = NULL;
    unsigned L = beaa_ckks_context_max_level(ctx);
    if (L != net->nstages) return BEAA_ERR_PARAMS_MISMATCH;
    beaa_nn_qnet *qn = calloc(1, sizeof *qn);
    if (!qn) return BEAA_ERR_NOMEM;
    qn->stages = calloc(net->nstages, sizeof *qn->stages);
    if (!qn->stages) { free(qn); return BEAA_ERR_NOMEM; }
    qn->nstages = net->nstages;
    qn->scale = plan->scale;
    qn->in_scale = plan->in_scale;
    qn->min_row_max = 1e300;
    beaa_status st = BEAA_OK;
    double *mag = NULL;
    for (uint32_t si = 0; si < net->nstages && st == BEAA_OK; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        size_t nin = (size_t)s->cin * s->hin * s->win, nout = (size_t)s->cout * s->hout * s->wout;
        double *s_in = malloc(sizeof(double) * nin), *zmag = calloc(nout + 1, sizeof(double));
        if (!mag) {
            mag = malloc(sizeof(double) * (nin + 1));
            if (mag) for (size_t j = 0; j < nin; j++) mag[j] = 1.0;
        }
        if (!s_in || !zmag || !mag) { free(s_in); free(zmag); st = BEAA_ERR_NOMEM; break; }
        for (size_t j = 0; j < nin; j++) s_in[j] = si == 0 ? plan->in_scale : plan->scale;
        st = quant_stage(s, L - si, plan->scale, derive_max, s_in, mag, zmag, ctx, &qn->stages[si], qn);
        free(s_in);
        /* the next stage's input magnitudes: pooled sums combine as an L2 norm */
        size_t np = beaa_nn_stage_out_count(s), hw = (size_t)s->hout * s->wout;
        double *next = calloc(np + 1, sizeof(double));
        if (!next) { free(zmag); st = BEAA_ERR_NOMEM; break; }
        for (size_t o = 0; o < nout; o++) {
            size_t p = o % hw, c = o / hw, e = o;
            if (!s->need[p]) continue;
            if (s->pool_kh)
                e = (c * s->ph + (p / s->wout) / s->pool_kh) * s->pw + (p % s->wout) / s->pool_kw;
            if (e < np) next[e] += zmag[o] * zmag[o];
        }
        for (size_t e = 0; e < np; e++) next[e] = sqrt(next[e]);
        free(zmag);
        free(mag);
        mag = next;
    }
    free(mag);
    if (st != BEAA_OK) { beaa_nn_qnet_free(qn); return st; }
    *out = qn;
    return BEAA_OK;
}

beaa_status beaa_nn_quant_plain_forward(const beaa_nn_net *net, const beaa_nn_qnet *qn,
                                        const double *x, size_t n, double *logits)
{
    if (!net || !qn || (!x && n) || (!logits && n) || qn->nstages != net->nstages)
        return BEAA_ERR_ARG;
    size_t mx = (size_t)net->in_c * net->in_h * net->in_w, el = mx;
    for (uint32_t s = 0; s < net->nstages; s++) {
        size_t a = 2 * (size_t)net->stages[s].cout * net->stages[s].hout * net->stages[s].wout;
        if (a > mx) mx = a;
    }
    int fail = 0;
#pragma omp parallel
    {
        double *in = malloc(sizeof(double) * mx), *xv = malloc(sizeof(double) * mx);
        if (!in || !xv) {
#pragma omp atomic write
            fail = 1;
        } else {
#pragma omp for schedule(dynamic, 16)
            for (size_t i = 0; i < n; i++) {
                memcpy(in, x + i * el, sizeof(double) * el);
                for (uint32_t si = 0; si < net->nstages; si++) {
                    const beaa_nn_stage *s = &net->stages[si];
                    const beaa_nn_qstage *qs = &qn->stages[si];
                    double s_in = si == 0 ? qn->in_scale : qn->scale;
                    size_t nout = qs->nout;
                    memset(xv, 0, sizeof(double) * 2 * nout);
                    for (uint32_t bi = 0; bi < qs->nblocks; bi++) {
                        const beaa_nn_linblock *b = &qs->blocks[bi];
                        for (int32_t r = 0; r < b->m; r++) {
                            double acc = (double)b->bias[r];
                            for (int32_t c = 0; c < b->k; c++)
                                acc += b->w[(size_t)r * b->k + c] * (in[b->in[c]] * s_in);
                            int32_t o = b->out[r];
                            xv[o] = acc / ((size_t)o < nout ? qs->sx[o] : qs->su[o - nout]);
                        }
                    }
                    for (size_t o = 0; o < nout; o++) {
                        if (qs->umode[o]) /* u = sign(a) (x + shift) in integers, at scale su */
                            xv[nout + o] = qs->umode[o] * (xv[o] * qs->sx[o] + (double)qs->ushift[o]) / qs->su[o];
                        xv[o] *= xv[nout + o];
                    }
                    if (s->pool_kh) {
                        for (uint32_t c = 0; c < s->pc; c++)
                            for (uint32_t py = 0; py < s->ph; py++)
                                for (uint32_t px = 0; px < s->pw; px++) {
                                    double acc = 0;
                                    for (uint32_t a = 0; a < s->pool_kh; a++)
                                        for (uint32_t bb = 0; bb < s->pool_kw; bb++)
                                            acc += xv[((size_t)c * s->hout + py * s->pool_kh + a) * s->wout +
                                                      px * s->pool_kw + bb];
                                    in[((size_t)c * s->ph + py) * s->pw + px] = acc;
                                }
                    } else {
                        memcpy(in, xv, sizeof(double) * nout);
                    }
                }
                for (uint32_t k = 0; k < net->num_classes; k++)
                    logits[i * net->num_classes + k] = net->out_sc[k] * in[k] + net->out_tt[k];
            }
        }
        free(in);
        free(xv);
    }
    return fail ? BEAA_ERR_NOMEM : BEAA_OK;
}
