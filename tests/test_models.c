/* test_models.c - see test_models.h. */
#include "tests/test_models.h"
#include <check.h>
#include <math.h>
#include <string.h>

static float neg_if(unsigned j, unsigned mod, unsigned rem)
{
    return mod && j % mod == rem ? -1.0f : 1.0f;
}

void test_model_fill(beaa_model *m, const test_fill *f, test_urand_fn urand)
{
    for (uint32_t i = 0; i < m->n_modules; i++) {
        beaa_model_module *md = &m->modules[i];
        int nconv = beaa_model_module_nconv(md);
        int nact = beaa_model_module_nact(md);
        for (int c = 0; c < nconv; c++) {
            beaa_model_conv *cv = &md->conv[c];
            size_t nw = (size_t)cv->cout * cv->cin * cv->kh * cv->kw;
            double sd = f->wscale / sqrt((double)cv->cin * cv->kh * cv->kw);
            for (size_t j = 0; j < nw; j++) cv->weight[j] = (float)urand(-sd, sd) * f->wmul;
            for (uint32_t j = 0; j < cv->cout; j++) cv->bias[j] = (float)urand(-f->bias, f->bias);
        }
        for (int a = 0; a < nact; a++) {
            beaa_model_act *ac = &md->act[a];
            for (uint32_t j = 0; j < ac->count; j++) {
                ac->a[j] = (float)urand(f->a[0], f->a[1]) * neg_if(j, f->a_neg_mod, f->a_neg_rem);
                ac->b[j] = (float)urand(f->b[0], f->b[1]);
                ac->c0[j] = (float)urand(f->c0[0], f->c0[1]);
            }
            beaa_model_bn *bn = &md->bn[a];
            for (uint32_t j = 0; j < bn->channels; j++) {
                bn->gamma[j] = (float)urand(f->gamma[0], f->gamma[1]) *
                               neg_if(j, f->gamma_neg_mod, f->gamma_neg_rem);
                bn->beta[j] = (float)urand(f->beta[0], f->beta[1]);
                bn->mean[j] = (float)urand(f->mean[0], f->mean[1]);
                bn->var[j] = (float)urand(f->var[0], f->var[1]);
            }
        }
    }
}

const test_widths test_small_widths = { 3, 2, 2, 3, 4, 4 };

beaa_model *test_small_model(uint32_t hw, const test_widths *w, beaa_poly_gran g0, beaa_poly_gran g1)
{
    beaa_model_desc d[6];
    memset(d, 0, sizeof d);
    d[0] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = w->conv1, .k = 5, .stride = 2,
                              .pad = 2, .act = BEAA_ACT_POLY, .gran = g0 };
    d[1] = (beaa_model_desc){ .kind = BEAA_MODULE_FIRE, .squeeze = w->squeeze, .expand1 = w->expand1,
                              .expand3 = w->expand3, .k3 = 3, .act = BEAA_ACT_POLY, .gran = g0 };
    d[2] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    d[3] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = w->conv3, .k = 3, .stride = 1,
                              .pad = 1, .act = BEAA_ACT_POLY, .gran = g1 };
    d[4] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = w->classes, .k = 1, .stride = 1,
                              .pad = 0, .act = BEAA_ACT_POLY, .gran = g1 };
    d[5] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m = NULL;
    ck_assert_int_eq(beaa_model_build(1, hw, hw, w->classes, d, 6, &m), BEAA_OK);
    m->in_mean[0] = 0.3f;
    m->in_std[0] = 0.35f;
    return m;
}
