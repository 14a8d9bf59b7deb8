/* channelwise.c - compiling a model for channel-wise packing: the folded stages (nn/fold) in
 * slot form (tap offsets, masks, per-slot biases), the rotation steps, the parameter choice
 * (two primes per stage) and the encoding of the server's plaintexts for one context. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn/cw_internal.h"

#define CW_MAX_TAPS 1024

void beaa_nn_cw_opts_default(beaa_nn_cw_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->log_scale = 25;
    o->conv_bits = 42;
    o->act_bits = 45;
    o->base_bits = 45;
    o->special_bits = 46;
}

static void stage_free(beaa_nn_cw_stage *s)
{
    free(s->off); free(s->w); free(s->mask); free(s->bias);
    free(s->act_const); free(s->ca); free(s->cb); free(s->va); free(s->vb);
}

void beaa_nn_cw_unprepare(beaa_nn_cw_net *cw)
{
    if (!cw) return;
    for (uint32_t si = 0; si < cw->nstages; si++) {
        beaa_nn_cw_stage *s = &cw->st[si];
        if (s->pmask) for (uint32_t t = 0; t < s->ntaps; t++) beaa_ckks_plaintext_free(s->pmask[t]);
        for (uint32_t c = 0; c < s->cout; c++) {
            if (s->pbias) beaa_ckks_plaintext_free(s->pbias[c]);
            if (s->pa) beaa_ckks_plaintext_free(s->pa[c]);
            if (s->pb) beaa_ckks_plaintext_free(s->pb[c]);
        }
        free(s->pmask); free(s->pbias); free(s->pa); free(s->pb); free(s->wint);
        s->pmask = s->pbias = s->pa = s->pb = NULL;
        s->wint = NULL;
    }
    cw->ctx = NULL;
}

void beaa_nn_cw_net_free(beaa_nn_cw_net *cw)
{
    if (!cw) return;
    beaa_nn_cw_unprepare(cw);
    if (cw->st) for (uint32_t si = 0; si < cw->nstages; si++) stage_free(&cw->st[si]);
    free(cw->st); free(cw->out_sc); free(cw->out_tt); free(cw->steps);
    free(cw);
}

unsigned beaa_nn_cw_stages(const beaa_nn_cw_net *cw) { return cw ? cw->nstages : 0; }

const int *beaa_nn_cw_rotation_steps(const beaa_nn_cw_net *cw, size_t *n)
{
    if (n) *n = cw ? cw->nsteps : 0;
    return cw ? cw->steps : NULL;
}

/* Strides of the folded stages, in order (CONV: one stage; FIRE: squeeze, then expand whose
 * two parts must share a stride). Returns BEAA_ERR_MODEL if the count does not match. */
static beaa_status stage_strides(const beaa_model *m, uint32_t ns, uint32_t *stride)
{
    uint32_t k = 0;
    for (uint32_t mi = 0; mi < m->n_modules; mi++) {
        const beaa_model_module *md = &m->modules[mi];
        if (md->kind == BEAA_MODULE_CONV) {
            if (k >= ns) return BEAA_ERR_MODEL;
            stride[k++] = md->conv[0].stride;
        } else if (md->kind == BEAA_MODULE_FIRE) {
            if (k + 2 > ns || md->conv[1].stride != md->conv[2].stride) return BEAA_ERR_MODEL;
            stride[k++] = md->conv[0].stride;
            stride[k++] = md->conv[1].stride;
        }
    }
    return k == ns ? BEAA_OK : BEAA_ERR_MODEL;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Builds stage s of cw from folded stage f. */
static beaa_status stage_build(beaa_nn_cw_net *cw, beaa_nn_cw_stage *s, const beaa_nn_stage *f,
                               uint32_t stride, size_t in_sh, size_t in_sw)
{
    const size_t span = cw->span;
    s->cin = f->cin; s->cout = f->cout; s->hout = f->hout; s->wout = f->wout;
    s->in_sh = in_sh; s->in_sw = in_sw;
    s->out_sh = in_sh * stride; s->out_sw = in_sw * stride;
    s->pool_kh = f->pool_kh; s->pool_kw = f->pool_kw;
    int offs[CW_MAX_TAPS];
    uint32_t nt = 0;
    /* pass 1: the distinct tap offsets */
    for (uint32_t bi = 0; bi < f->nblocks; bi++) {
        const beaa_nn_fblock *b = &f->blocks[bi];
        if (b->m == 0) continue;
        size_t hw = (size_t)f->hout * f->wout, pos = (size_t)b->out[0] % hw;
        size_t so = (pos / f->wout) * s->out_sh + (pos % f->wout) * s->out_sw;
        for (uint32_t j = 0; j < b->k; j++) {
            size_t ipos = (size_t)b->in[j] % ((size_t)f->hin * f->win);
            size_t si = (ipos / f->win) * in_sh + (ipos % f->win) * in_sw;
            int off = (int)((long)si - (long)so);
            uint32_t t = 0;
            while (t < nt && offs[t] != off) t++;
            if (t == nt) {
                if (nt == CW_MAX_TAPS) return BEAA_ERR_MODEL;
                offs[nt++] = off;
            }
        }
    }
    qsort(offs, nt, sizeof(int), cmp_int);
    s->ntaps = nt;
    size_t nw = (size_t)s->cout * s->cin * (nt ? nt : 1);
    s->off = malloc(sizeof(int) * (nt ? nt : 1));
    s->w = calloc(nw, sizeof(double));
    uint8_t *wset = calloc(nw, 1);
    s->mask = calloc((size_t)(nt ? nt : 1) * span, 1);
    s->bias = calloc((size_t)s->cout * span, sizeof(double));
    s->act_const = calloc(s->cout, 1);
    s->ca = calloc(s->cout, sizeof(double));
    s->cb = calloc(s->cout, sizeof(double));
    s->va = calloc((size_t)s->cout * span, sizeof(double));
    s->vb = calloc((size_t)s->cout * span, sizeof(double));
    if (!s->off || !s->w || !wset || !s->mask || !s->bias || !s->act_const || !s->ca || !s->cb ||
        !s->va || !s->vb) { free(wset); return BEAA_ERR_NOMEM; }
    memcpy(s->off, offs, sizeof(int) * nt);
    /* pass 2: weights (one per (co, ci, tap): the same at every position), masks, biases */
    beaa_status st = BEAA_OK;
    size_t hw = (size_t)f->hout * f->wout, hwin = (size_t)f->hin * f->win;
    for (uint32_t bi = 0; bi < f->nblocks && st == BEAA_OK; bi++) {
        const beaa_nn_fblock *b = &f->blocks[bi];
        for (uint32_t r = 0; r < b->m && st == BEAA_OK; r++) {
            size_t co = (size_t)b->out[r] / hw, pos = (size_t)b->out[r] % hw;
            size_t so = (pos / f->wout) * s->out_sh + (pos % f->wout) * s->out_sw;
            if (so >= span) { st = BEAA_ERR_SHAPE; break; }
            s->bias[co * span + so] = b->bias[r];
            for (uint32_t j = 0; j < b->k; j++) {
                size_t ci = (size_t)b->in[j] / hwin, ipos = (size_t)b->in[j] % hwin;
                size_t si = (ipos / f->win) * in_sh + (ipos % f->win) * in_sw;
                int off = (int)((long)si - (long)so);
                int *hit = bsearch(&off, s->off, nt, sizeof(int), cmp_int);
                if (!hit) { st = BEAA_ERR_INTERNAL; break; }
                size_t t = (size_t)(hit - s->off);
                s->mask[t * span + so] = 1;
                size_t wi = (co * s->cin + ci) * nt + t;
                double w = b->w[(size_t)r * b->k + j];
                if (wset[wi] && fabs(s->w[wi] - w) > 1e-9 * (1.0 + fabs(w))) {
                    st = BEAA_ERR_MODEL; /* weights that differ by position: not a convolution */
                    break;
                }
                s->w[wi] = w;
                wset[wi] = 1;
            }
        }
    }
    free(wset);
    if (st != BEAA_OK) return st;
    /* activation coefficients: a constant pair per channel when possible */
    for (uint32_t co = 0; co < s->cout; co++) {
        int first = 1, uni = 1;
        double a0 = 0, b0 = 0;
        for (size_t p = 0; p < hw; p++) {
            if (!f->need[p]) continue;
            size_t e = co * hw + p, so = (p / f->wout) * s->out_sh + (p % f->wout) * s->out_sw;
            s->va[co * span + so] = f->a[e];
            s->vb[co * span + so] = f->b[e];
            if (first) { a0 = f->a[e]; b0 = f->b[e]; first = 0; }
            else if (f->a[e] != a0 || f->b[e] != b0) uni = 0;
        }
        s->act_const[co] = (uint8_t)uni;
        s->ca[co] = a0;
        s->cb[co] = b0;
    }
    return BEAA_OK;
}

beaa_status beaa_nn_cw_compile(const beaa_model *m, beaa_nn_cw_net **out)
{
    if (!m || !out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_nn_net *net = NULL;
    beaa_status st = beaa_nn_net_fold(m, &net);
    if (st != BEAA_OK) return st;
    beaa_nn_cw_net *cw = calloc(1, sizeof *cw);
    uint32_t *stride = calloc(net->nstages + 1, sizeof(uint32_t));
    if (!cw || !stride) { st = BEAA_ERR_NOMEM; goto done; }
    cw->in_c = net->in_c; cw->in_h = net->in_h; cw->in_w = net->in_w;
    cw->num_classes = net->num_classes;
    cw->span = (size_t)net->in_h * net->in_w;
    st = stage_strides(m, net->nstages, stride);
    if (st != BEAA_OK) goto done;
    cw->st = calloc(net->nstages, sizeof *cw->st);
    cw->out_sc = malloc(sizeof(double) * net->num_classes);
    cw->out_tt = malloc(sizeof(double) * net->num_classes);
    if (!cw->st || !cw->out_sc || !cw->out_tt) { st = BEAA_ERR_NOMEM; goto done; }
    cw->nstages = net->nstages;
    memcpy(cw->out_sc, net->out_sc, sizeof(double) * net->num_classes);
    memcpy(cw->out_tt, net->out_tt, sizeof(double) * net->num_classes);
    size_t sh = net->in_w, sw = 1, nsteps = 0, cap = 0;
    for (uint32_t si = 0; si < net->nstages; si++) {
        const beaa_nn_stage *f = &net->stages[si];
        beaa_nn_cw_stage *s = &cw->st[si];
        st = stage_build(cw, s, f, stride[si], sh, sw);
        if (st != BEAA_OK) goto done;
        sh = s->out_sh; sw = s->out_sw;
        if (s->pool_kh) { sh *= s->pool_kh; sw *= s->pool_kw; }
        cap += s->ntaps + (s->pool_kh ? s->pool_kh + s->pool_kw : 0);
    }
    /* the last stage must leave one element per class at slot 0 */
    {
        const beaa_nn_stage *f = &net->stages[net->nstages - 1];
        if (f->pc != net->num_classes || f->ph != 1 || f->pw != 1) { st = BEAA_ERR_MODEL; goto done; }
    }
    cw->steps = malloc(sizeof(int) * (cap + 1));
    if (!cw->steps) { st = BEAA_ERR_NOMEM; goto done; }
    for (uint32_t si = 0; si < cw->nstages; si++) {
        const beaa_nn_cw_stage *s = &cw->st[si];
        for (uint32_t t = 0; t < s->ntaps; t++)
            if (s->off[t]) cw->steps[nsteps++] = s->off[t];
        if (s->pool_kh) {
            for (uint32_t j = 1; j < s->pool_kw; j++) cw->steps[nsteps++] = (int)(j * s->out_sw);
            for (uint32_t i = 1; i < s->pool_kh; i++) cw->steps[nsteps++] = (int)(i * s->out_sh);
        }
    }
    qsort(cw->steps, nsteps, sizeof(int), cmp_int);
    size_t u = 0;
    for (size_t i = 0; i < nsteps; i++)
        if (u == 0 || cw->steps[u - 1] != cw->steps[i]) cw->steps[u++] = cw->steps[i];
    cw->nsteps = u;
done:
    free(stride);
    beaa_nn_net_free(net);
    if (st != BEAA_OK) { beaa_nn_cw_net_free(cw); return st; }
    *out = cw;
    return BEAA_OK;
}

beaa_status beaa_nn_cw_plan_make(const beaa_nn_cw_net *cw, const beaa_nn_cw_opts *oin,
                                 beaa_nn_cw_plan *plan)
{
    if (!cw || !plan) return BEAA_ERR_ARG;
    memset(plan, 0, sizeof *plan);
    beaa_nn_cw_opts o;
    beaa_nn_cw_opts_default(&o);
    if (oin) {
        if (oin->log_scale) o.log_scale = oin->log_scale;
        if (oin->conv_bits) o.conv_bits = oin->conv_bits;
        if (oin->act_bits) o.act_bits = oin->act_bits;
        if (oin->base_bits) o.base_bits = oin->base_bits;
        o.special_bits = oin->special_bits;
        o.min_log_n = oin->min_log_n;
        o.force_log_n = oin->force_log_n;
        o.allow_insecure = oin->allow_insecure;
    }
    unsigned maxb = o.base_bits > o.conv_bits ? o.base_bits : o.conv_bits;
    if (o.act_bits > maxb) maxb = o.act_bits;
    if (!o.special_bits) o.special_bits = maxb < BEAA_CKKS_MAX_PRIME_BITS ? maxb + 1 : maxb;
    if (o.log_scale < 10 || o.log_scale > 50 || o.conv_bits < BEAA_CKKS_MIN_PRIME_BITS ||
        o.act_bits < BEAA_CKKS_MIN_PRIME_BITS || o.base_bits < BEAA_CKKS_MIN_PRIME_BITS ||
        maxb > BEAA_CKKS_MAX_PRIME_BITS || o.special_bits > BEAA_CKKS_MAX_PRIME_BITS ||
        o.special_bits < BEAA_CKKS_MIN_PRIME_BITS || o.act_bits <= o.log_scale ||
        o.base_bits <= o.log_scale + 2 || o.conv_bits < 36 ||
        (o.force_log_n && (o.force_log_n < BEAA_CKKS_MIN_LOG_N || o.force_log_n > BEAA_CKKS_MAX_LOG_N))) {
        snprintf(plan->msg, sizeof plan->msg, "channel-wise plan options out of range");
        return BEAA_ERR_PARAMS;
    }
    unsigned L = 2 * cw->nstages;
    unsigned data_bits = o.base_bits + cw->nstages * (o.conv_bits + o.act_bits);
    plan->levels = L;
    plan->scale = ldexp(1.0, (int)o.log_scale);
    if (L + 1 > BEAA_CKKS_MAX_PRIMES) {
        snprintf(plan->msg, sizeof plan->msg,
                 "model has %u stages = %u levels with channel-wise packing (2 per stage); "
                 "at most %u data primes are supported", cw->nstages, L, BEAA_CKKS_MAX_PRIMES);
        return BEAA_ERR_DEPTH;
    }
    unsigned min_log_n = BEAA_CKKS_MIN_LOG_N;
    while (min_log_n < BEAA_CKKS_MAX_LOG_N && ((size_t)1 << (min_log_n - 1)) < cw->span) min_log_n++;
    if (((size_t)1 << (min_log_n - 1)) < cw->span) {
        snprintf(plan->msg, sizeof plan->msg, "an image of %zu pixels exceeds the slots of any ring",
                 cw->span);
        return BEAA_ERR_SLOTS;
    }
    if (o.min_log_n > min_log_n) min_log_n = o.min_log_n;
    unsigned lo = min_log_n, hi = BEAA_CKKS_MAX_LOG_N;
    if (o.force_log_n) {
        if (((size_t)1 << (o.force_log_n - 1)) < cw->span) {
            snprintf(plan->msg, sizeof plan->msg, "an image of %zu pixels exceeds the %zu slots of N=2^%u",
                     cw->span, (size_t)1 << (o.force_log_n - 1), o.force_log_n);
            return BEAA_ERR_SLOTS;
        }
        lo = hi = o.force_log_n;
    }
    unsigned amax = (L + 1 + 2) / 3;
    if (amax > BEAA_CKKS_MAX_SPECIAL) amax = BEAA_CKKS_MAX_SPECIAL;
    if (amax < 1) amax = 1;
    unsigned prime_bits[BEAA_CKKS_MAX_PRIMES];
    for (unsigned i = 0; i <= L; i++)
        prime_bits[i] = i == 0 ? o.base_bits : (i % 2 == 0 ? o.conv_bits : o.act_bits);
    for (unsigned ln = lo; ln <= hi; ln++) {
        unsigned bound = beaa_ckks_security_max_logqp(ln);
        for (unsigned a = amax; a >= 1; a--) {
            unsigned tot = data_bits + a * o.special_bits;
            if (!o.allow_insecure && tot > bound) continue;
            beaa_status st = beaa_ckks_params_spec_make(&plan->spec, ln, prime_bits, L + 1, a,
                                                         o.special_bits);
            if (st != BEAA_OK) {
                snprintf(plan->msg, sizeof plan->msg, "channel-wise parameter spec rejected");
                return st;
            }
            plan->spec.allow_insecure = o.allow_insecure;
            plan->total_bits = tot;
            plan->max_bits = o.allow_insecure ? 0 : bound;
            snprintf(plan->msg, sizeof plan->msg,
                     "channel-wise: %u stages, %u data primes (%u+%ux(%u+%u) bits) + %u special "
                     "x %u bits = %u bits, N=2^%u%s", cw->nstages, L + 1, o.base_bits,
                     cw->nstages, o.conv_bits, o.act_bits, a, o.special_bits, tot, ln,
                     o.allow_insecure ? " (security check skipped)" : " (128-bit secure)");
            return BEAA_OK;
        }
    }
    snprintf(plan->msg, sizeof plan->msg,
             "model is %u levels deep with channel-wise packing (%u stages x 2; needs log2(QP) >= "
             "%u bits); N=2^%u allows %u bits at 128-bit security", L, cw->nstages,
             data_bits + o.special_bits, hi, beaa_ckks_security_max_logqp(hi));
    return BEAA_ERR_DEPTH;
}

static beaa_status encode_new(const beaa_ckks_context *ctx, const double *v, size_t n,
                              double scale, unsigned level, beaa_ckks_plaintext **out)
{
    beaa_status st = beaa_ckks_plaintext_new(ctx, level, out);
    if (st == BEAA_OK) st = beaa_ckks_encode_real(ctx, v, n, scale, level, *out);
    return st;
}

beaa_status beaa_nn_cw_prepare(beaa_nn_cw_net *cw, const beaa_nn_cw_plan *plan,
                               const beaa_ckks_context *ctx)
{
    if (!cw || !plan || !ctx) return BEAA_ERR_ARG;
    beaa_nn_cw_unprepare(cw);
    unsigned L = 2 * cw->nstages;
    if (beaa_ckks_context_max_level(ctx) != L || plan->levels != L) return BEAA_ERR_PARAMS_MISMATCH;
    if (beaa_ckks_context_slots(ctx) < cw->span) return BEAA_ERR_SLOTS;
    const size_t span = cw->span;
    /* weight bits: from the plan's conv primes (q_c / 2^wb is the mask scale) */
    unsigned cb = plan->spec.prime_bits[L >= 2 ? 2 : 0];
    unsigned wb = cb > 36 ? cb - 26 : 10;
    cw->ctx = ctx;
    cw->levels = L;
    cw->scale = plan->scale;
    cw->wb = wb;
    const double D = plan->scale;
    double *v = malloc(sizeof(double) * span);
    if (!v) { beaa_nn_cw_unprepare(cw); return BEAA_ERR_NOMEM; }
    beaa_status st = BEAA_OK;
    for (uint32_t si = 0; si < cw->nstages && st == BEAA_OK; si++) {
        beaa_nn_cw_stage *s = &cw->st[si];
        unsigned l = L - 2 * si;
        double qc = (double)beaa_ckks_context_q(ctx, l)->q;
        double qa = (double)beaa_ckks_context_q(ctx, l - 1)->q;
        size_t nw = (size_t)s->cout * s->cin * s->ntaps;
        s->wint = malloc(sizeof(int64_t) * (nw ? nw : 1));
        s->pmask = calloc(s->ntaps ? s->ntaps : 1, sizeof *s->pmask);
        s->pbias = calloc(s->cout, sizeof *s->pbias);
        s->pa = calloc(s->cout, sizeof *s->pa);
        s->pb = calloc(s->cout, sizeof *s->pb);
        if (!s->wint || !s->pmask || !s->pbias || !s->pa || !s->pb) { st = BEAA_ERR_NOMEM; break; }
        for (size_t i = 0; i < nw; i++) {
            double r = nearbyint(ldexp(s->w[i], (int)wb));
            if (!(fabs(r) < 0x1p40)) { st = BEAA_ERR_SCALE_RANGE; break; }
            s->wint[i] = (int64_t)r;
        }
        for (uint32_t t = 0; t < s->ntaps && st == BEAA_OK; t++) {
            for (size_t j = 0; j < span; j++) v[j] = s->mask[(size_t)t * span + j];
            st = encode_new(ctx, v, span, ldexp(qc, -(int)wb), l, &s->pmask[t]);
        }
        for (uint32_t c = 0; c < s->cout && st == BEAA_OK; c++) {
            st = encode_new(ctx, s->bias + (size_t)c * span, span, D, l - 1, &s->pbias[c]);
            if (st == BEAA_OK && !s->act_const[c]) {
                st = encode_new(ctx, s->va + (size_t)c * span, span, qa / D, l - 1, &s->pa[c]);
                if (st == BEAA_OK)
                    st = encode_new(ctx, s->vb + (size_t)c * span, span, qa, l - 1, &s->pb[c]);
            }
        }
    }
    free(v);
    if (st != BEAA_OK) beaa_nn_cw_unprepare(cw);
    return st;
}
