/* fold.c - folding a model into stages (see fold.h): BatchNorm/activation-constant/pooling
 * affines go into the next linear map per output position (exact with zero padding: only the
 * in-bounds taps carry the shift), unused output positions (floor pooling) are dropped. */
#include "nn/fold.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nn/plan.h"

typedef struct sbuild {
    const beaa_model_conv *part[2];
    uint32_t nparts;
    const beaa_model_act *act;
    const beaa_model_bn *bn;
} sbuild;

static void stage_clear(beaa_nn_stage *s)
{
    if (!s) return;
    for (uint32_t i = 0; s->blocks && i < s->nblocks; i++) {
        free(s->blocks[i].in);
        free(s->blocks[i].out);
        free(s->blocks[i].w);
        free(s->blocks[i].bias);
    }
    free(s->blocks);
    free(s->a); free(s->b); free(s->g); free(s->t); free(s->need);
}

void beaa_nn_net_free(beaa_nn_net *net)
{
    if (!net) return;
    for (uint32_t i = 0; net->stages && i < net->nstages; i++) stage_clear(&net->stages[i]);
    free(net->stages);
    free(net->out_sc);
    free(net->out_tt);
    free(net);
}

size_t beaa_nn_stage_out_count(const beaa_nn_stage *s)
{
    return (size_t)s->pc * s->ph * s->pw;
}

unsigned beaa_nn_stage_in_size(const beaa_nn_stage *s)
{
    return s->raw_in ? 3 : 2;
}

unsigned beaa_nn_stage_in_level(const beaa_nn_net *net, uint32_t si)
{
    return net->nstages - si + net->stages[si].raw_in;
}

size_t beaa_nn_stage_in_bytes(const beaa_nn_net *net, uint32_t si, unsigned log_n)
{
    return beaa_nn_ct_bytes(log_n, beaa_nn_stage_in_size(&net->stages[si]),
                            beaa_nn_stage_in_level(net, si));
}

size_t beaa_nn_net_macs(const beaa_nn_net *net)
{
    size_t n = 0;
    for (uint32_t i = 0; i < net->nstages; i++) n += net->stages[i].n_macs;
    return n;
}

size_t beaa_nn_net_products(const beaa_nn_net *net)
{
    size_t n = 0;
    for (uint32_t i = 0; i < net->nstages; i++) {
        const beaa_nn_stage *s = &net->stages[i];
        size_t pos = 0;
        for (size_t p = 0; p < (size_t)s->hout * s->wout; p++) pos += s->need[p];
        n += pos * s->cout;
    }
    return n;
}

/* Activation coefficients of element e (c, pos) of an activated tensor. */
static void act_coef(const beaa_model_act *a, uint32_t c, size_t e, double *pa, double *pb,
                     double *pc)
{
    size_t i = a->gran == BEAA_POLY_LAYER ? 0 : a->gran == BEAA_POLY_CHANNEL ? c : e;
    *pa = a->a[i];
    *pb = a->b[i];
    *pc = a->c0[i];
}

/* Builds the blocks of stage s from its parts, input affine (sc, tt) and need mask. */
static beaa_status stage_blocks(beaa_nn_stage *s, const sbuild *sb, const double *sc,
                                const double *tt)
{
    size_t npos = 0;
    for (size_t p = 0; p < (size_t)s->hout * s->wout; p++) npos += s->need[p];
    s->blocks = calloc(npos * sb->nparts + 1, sizeof *s->blocks);
    if (!s->blocks) return BEAA_ERR_NOMEM;
    s->nblocks = 0;
    s->n_macs = 0;
    for (uint32_t y = 0; y < s->hout; y++)
        for (uint32_t x = 0; x < s->wout; x++) {
            if (!s->need[(size_t)y * s->wout + x]) continue;
            uint32_t co0 = 0;
            for (uint32_t pi = 0; pi < sb->nparts; pi++) {
                const beaa_model_conv *cv = sb->part[pi];
                beaa_nn_fblock *b = &s->blocks[s->nblocks++];
                uint32_t kmax = cv->cin * cv->kh * cv->kw;
                b->in = malloc(sizeof(int32_t) * kmax);
                b->out = malloc(sizeof(int32_t) * cv->cout);
                b->w = malloc(sizeof(double) * (size_t)kmax * cv->cout);
                b->bias = malloc(sizeof(double) * cv->cout);
                if (!b->in || !b->out || !b->w || !b->bias) return BEAA_ERR_NOMEM;
                /* taps: (ci, i, j) in bounds */
                uint32_t k = 0;
                int32_t *tap_w = malloc(sizeof(int32_t) * kmax); /* index into weight (ci,i,j) */
                if (!tap_w) return BEAA_ERR_NOMEM;
                for (uint32_t ci = 0; ci < cv->cin; ci++)
                    for (uint32_t i = 0; i < cv->kh; i++)
                        for (uint32_t j = 0; j < cv->kw; j++) {
                            long iy = (long)y * cv->stride - (long)cv->pad + i;
                            long ix = (long)x * cv->stride - (long)cv->pad + j;
                            if (iy < 0 || ix < 0 || iy >= (long)s->hin || ix >= (long)s->win)
                                continue;
                            b->in[k] = (int32_t)(((size_t)ci * s->hin + (size_t)iy) * s->win + (size_t)ix);
                            tap_w[k] = (int32_t)((ci * cv->kh + i) * cv->kw + j);
                            k++;
                        }
                b->k = k;
                b->m = cv->cout;
                for (uint32_t r = 0; r < cv->cout; r++) {
                    const float *wr = cv->weight + (size_t)r * kmax;
                    double bias = cv->bias[r];
                    for (uint32_t c = 0; c < k; c++) {
                        double w = wr[tap_w[c]];
                        b->w[(size_t)r * k + c] = w * sc[b->in[c]];
                        bias += w * tt[b->in[c]];
                    }
                    b->bias[r] = bias;
                    b->out[r] = (int32_t)(((size_t)(co0 + r) * s->hout + y) * s->wout + x);
                }
                s->n_macs += (size_t)k * cv->cout;
                free(tap_w);
                co0 += cv->cout;
            }
        }
    return BEAA_OK;
}

beaa_status beaa_nn_net_fold(const beaa_model *m, beaa_nn_net **out)
{
    if (!m || !out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_status st = beaa_model_check(m);
    if (st != BEAA_OK) return st;

    beaa_nn_net *net = calloc(1, sizeof *net);
    sbuild *sb = calloc(2 * (size_t)m->n_modules + 1, sizeof *sb);
    double **sc = calloc(2 * (size_t)m->n_modules + 2, sizeof(double *));
    double **tt = calloc(2 * (size_t)m->n_modules + 2, sizeof(double *));
    if (!net || !sb || !sc || !tt) { st = BEAA_ERR_NOMEM; goto fail; }
    net->stages = calloc(2 * (size_t)m->n_modules + 1, sizeof *net->stages);
    if (!net->stages) { st = BEAA_ERR_NOMEM; goto fail; }
    net->in_c = m->in_c; net->in_h = m->in_h; net->in_w = m->in_w;
    net->num_classes = m->num_classes;
    for (uint32_t c = 0; c < m->in_c && c < BEAA_MODEL_MAX_IN_C; c++) {
        net->in_mean[c] = m->in_mean[c];
        net->in_std[c] = m->in_std[c];
    }

    /* pass 1: stages and pools; shapes */
    uint32_t ns = 0, C = m->in_c, H = m->in_h, W = m->in_w;
    int pooled_last = 1; /* 1: the current tensor cannot take a pool (input, or already pooled) */
    for (uint32_t mi = 0; mi < m->n_modules; mi++) {
        const beaa_model_module *md = &m->modules[mi];
        if (md->kind == BEAA_MODULE_CONV || md->kind == BEAA_MODULE_FIRE) {
            int nst = md->kind == BEAA_MODULE_CONV ? 1 : 2;
            for (int k = 0; k < nst; k++) {
                sbuild *b = &sb[ns];
                beaa_nn_stage *s = &net->stages[ns];
                if (k == 0) { b->part[0] = &md->conv[0]; b->nparts = 1; }
                else { b->part[0] = &md->conv[1]; b->part[1] = &md->conv[2]; b->nparts = 2; }
                b->act = &md->act[k];
                b->bn = &md->bn[k];
                if (b->act->kind != BEAA_ACT_POLY) { st = BEAA_ERR_MODEL; goto fail; }
                s->cin = C; s->hin = H; s->win = W;
                s->cout = 0;
                for (uint32_t p = 0; p < b->nparts; p++) {
                    const beaa_model_conv *cv = b->part[p];
                    if (cv->cin != C || cv->in_h != H || cv->in_w != W ||
                        (p > 0 && (cv->out_h != s->hout || cv->out_w != s->wout))) {
                        st = BEAA_ERR_SHAPE; goto fail;
                    }
                    s->hout = cv->out_h; s->wout = cv->out_w;
                    s->cout += cv->cout;
                }
                if (b->act->c != s->cout || b->act->h != s->hout || b->act->w != s->wout ||
                    b->bn->channels != s->cout) { st = BEAA_ERR_SHAPE; goto fail; }
                s->pc = s->cout; s->ph = s->hout; s->pw = s->wout;
                C = s->cout; H = s->hout; W = s->wout;
                ns++;
                pooled_last = 0;
            }
        } else if (md->kind == BEAA_MODULE_AVGPOOL || md->kind == BEAA_MODULE_GAP) {
            if (pooled_last || ns == 0) { st = BEAA_ERR_MODEL; goto fail; }
            beaa_nn_stage *s = &net->stages[ns - 1];
            if (md->kind == BEAA_MODULE_GAP) {
                s->pool_kh = H; s->pool_kw = W;
            } else {
                if (md->pool_stride != md->pool_k || md->pool_k > H || md->pool_k > W) {
                    st = BEAA_ERR_MODEL; goto fail;
                }
                s->pool_kh = s->pool_kw = md->pool_k;
            }
            s->ph = H / s->pool_kh; s->pw = W / s->pool_kw;
            H = s->ph; W = s->pw;
            pooled_last = 1;
        } else {
            st = BEAA_ERR_MODEL; goto fail;
        }
    }
    if (ns == 0 || (size_t)C * H * W != m->num_classes) { st = BEAA_ERR_MODEL; goto fail; }
    net->nstages = ns;

    /* pass 2: per-element a, b, g, t; input affine of each stage (sc[s], tt[s]) */
    size_t n0 = (size_t)m->in_c * m->in_h * m->in_w;
    sc[0] = malloc(sizeof(double) * n0);
    tt[0] = malloc(sizeof(double) * n0);
    if (!sc[0] || !tt[0]) { st = BEAA_ERR_NOMEM; goto fail; }
    for (size_t e = 0; e < n0; e++) { sc[0][e] = 1.0; tt[0][e] = 0.0; }
    for (uint32_t si = 0; si < ns; si++) {
        beaa_nn_stage *s = &net->stages[si];
        const sbuild *b = &sb[si];
        size_t hw = (size_t)s->hout * s->wout, no = (size_t)s->cout * hw;
        s->a = malloc(sizeof(double) * no); s->b = malloc(sizeof(double) * no);
        s->g = malloc(sizeof(double) * no); s->t = malloc(sizeof(double) * no);
        s->need = calloc(hw, 1);
        size_t np = beaa_nn_stage_out_count(s);
        sc[si + 1] = malloc(sizeof(double) * np);
        tt[si + 1] = malloc(sizeof(double) * np);
        if (!s->a || !s->b || !s->g || !s->t || !s->need || !sc[si + 1] || !tt[si + 1]) {
            st = BEAA_ERR_NOMEM; goto fail;
        }
        for (uint32_t c = 0; c < s->cout; c++) {
            double gch = b->bn->gamma[c] / sqrt((double)b->bn->var[c] + (double)b->bn->eps);
            double sh = b->bn->beta[c] - b->bn->mean[c] * gch;
            for (size_t p = 0; p < hw; p++) {
                size_t e = c * hw + p;
                double pa, pb, pc;
                act_coef(b->act, c, e, &pa, &pb, &pc);
                s->a[e] = pa; s->b[e] = pb;
                s->g[e] = gch;
                s->t[e] = gch * pc + sh;
            }
        }
        /* pooled affine */
        if (s->pool_kh) {
            double inv = 1.0 / ((double)s->pool_kh * s->pool_kw);
            for (uint32_t c = 0; c < s->pc; c++)
                for (uint32_t py = 0; py < s->ph; py++)
                    for (uint32_t px = 0; px < s->pw; px++) {
                        double tsum = 0;
                        for (uint32_t i = 0; i < s->pool_kh; i++)
                            for (uint32_t j = 0; j < s->pool_kw; j++) {
                                size_t y = (size_t)py * s->pool_kh + i, x = (size_t)px * s->pool_kw + j;
                                tsum += s->t[((size_t)c * s->hout + y) * s->wout + x];
                            }
                        size_t e = ((size_t)c * s->ph + py) * s->pw + px;
                        sc[si + 1][e] = s->g[c * hw] * inv;
                        tt[si + 1][e] = tsum * inv;
                    }
        } else {
            memcpy(sc[si + 1], s->g, sizeof(double) * no);
            memcpy(tt[si + 1], s->t, sizeof(double) * no);
        }
    }

    /* pass 3: need masks, backward. in_need[] marks needed input positions of stage si+1. */
    uint8_t *nxt = NULL; /* needed spatial positions of the pooled output of stage si */
    for (uint32_t si = ns; si-- > 0;) {
        beaa_nn_stage *s = &net->stages[si];
        size_t php = (size_t)s->ph * s->pw;
        uint8_t *pneed = nxt;
        if (!pneed) {
            pneed = malloc(php ? php : 1);
            if (!pneed) { st = BEAA_ERR_NOMEM; goto fail; }
            memset(pneed, 1, php);
        }
        for (uint32_t y = 0; y < s->hout; y++)
            for (uint32_t x = 0; x < s->wout; x++) {
                uint8_t nd;
                if (s->pool_kh) {
                    uint32_t py = y / s->pool_kh, px = x / s->pool_kw;
                    nd = (py < s->ph && px < s->pw) ? pneed[(size_t)py * s->pw + px] : 0;
                } else {
                    nd = pneed[(size_t)y * s->wout + x];
                }
                s->need[(size_t)y * s->wout + x] = nd;
            }
        free(pneed);
        /* input positions needed by this stage */
        nxt = calloc((size_t)s->hin * s->win + 1, 1);
        if (!nxt) { st = BEAA_ERR_NOMEM; goto fail; }
        for (uint32_t y = 0; y < s->hout; y++)
            for (uint32_t x = 0; x < s->wout; x++) {
                if (!s->need[(size_t)y * s->wout + x]) continue;
                for (uint32_t pi = 0; pi < sb[si].nparts; pi++) {
                    const beaa_model_conv *cv = sb[si].part[pi];
                    for (uint32_t i = 0; i < cv->kh; i++)
                        for (uint32_t j = 0; j < cv->kw; j++) {
                            long iy = (long)y * cv->stride - (long)cv->pad + i;
                            long ix = (long)x * cv->stride - (long)cv->pad + j;
                            if (iy >= 0 && ix >= 0 && iy < (long)s->hin && ix < (long)s->win)
                                nxt[(size_t)iy * s->win + (size_t)ix] = 1;
                        }
                }
            }
    }
    free(nxt);
    nxt = NULL;

    /* pass 4: blocks */
    for (uint32_t si = 0; si < ns; si++) {
        st = stage_blocks(&net->stages[si], &sb[si], sc[si], tt[si]);
        if (st != BEAA_OK) goto fail;
    }
    /* pass 5: which stages take their inputs raw (fold.h): at most half as many rows as the
     * previous stage would relinearize (the distinct inputs this stage reads) */
    for (uint32_t si = 1; si < ns; si++) {
        beaa_nn_stage *s = &net->stages[si];
        size_t nin = (size_t)s->cin * s->hin * s->win, rows = 0, units = 0;
        uint8_t *rd = calloc(nin + 1, 1);
        if (!rd) { st = BEAA_ERR_NOMEM; goto fail; }
        for (uint32_t b = 0; b < s->nblocks; b++) {
            rows += s->blocks[b].m;
            for (uint32_t c = 0; c < s->blocks[b].k; c++) {
                units += !rd[s->blocks[b].in[c]];
                rd[s->blocks[b].in[c]] = 1;
            }
        }
        free(rd);
        s->raw_in = 2 * rows <= units;
    }
    net->out_sc = malloc(sizeof(double) * m->num_classes);
    net->out_tt = malloc(sizeof(double) * m->num_classes);
    if (!net->out_sc || !net->out_tt) { st = BEAA_ERR_NOMEM; goto fail; }
    memcpy(net->out_sc, sc[ns], sizeof(double) * m->num_classes);
    memcpy(net->out_tt, tt[ns], sizeof(double) * m->num_classes);

    for (uint32_t i = 0; i <= ns; i++) { free(sc[i]); free(tt[i]); }
    free(sc); free(tt); free(sb);
    *out = net;
    return BEAA_OK;
fail:
    if (sc) for (uint32_t i = 0; i < 2 * m->n_modules + 2; i++) free(sc[i]);
    if (tt) for (uint32_t i = 0; i < 2 * m->n_modules + 2; i++) free(tt[i]);
    free(sc); free(tt); free(sb);
    if (net) { net->nstages = 2 * m->n_modules + 1; beaa_nn_net_free(net); }
    return st;
}
