/* check_model.c - tests of nn/model: building the default network (shapes, counts), save/load
 * round trip (bit-identical values and bytes), refusal to overwrite, and corrupted input:
 * every single-byte flip and every truncation of a model file must give an error status
 * (never a crash), and fields edited with a recomputed CRC are caught by the range checks. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nn/model.h"
#include "train/arch.h"
#include "train/trainer.h"

static char tmpdir[256];

/* a small model with every module kind and random values */
static beaa_model *small_model(beaa_poly_gran g)
{
    beaa_model_desc d[] = {
        {.kind = BEAA_MODULE_CONV, .cout = 3, .k = 3, .stride = 2, .pad = 1, .act = BEAA_ACT_POLY, .gran = g},
        {.kind = BEAA_MODULE_FIRE, .squeeze = 2, .expand1 = 2, .expand3 = 2, .k3 = 3, .act = BEAA_ACT_POLY, .gran = g},
        {.kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2},
        {.kind = BEAA_MODULE_CONV, .cout = 3, .k = 1, .stride = 1, .pad = 0, .act = BEAA_ACT_RELU},
        {.kind = BEAA_MODULE_GAP},
    };
    beaa_model *m;
    ck_assert_int_eq(beaa_model_build(1, 8, 8, 3, d, 5, &m), BEAA_OK);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] = (float)sin((double)i) * 0.5f;
    for (uint32_t i = 0; i < m->n_modules; i++)
        for (int j = 0; j < 2; j++)
            for (uint32_t k = 0; k < m->modules[i].bn[j].channels; k++)
                m->modules[i].bn[j].var[k] = 0.5f + (float)k;
    m->in_mean[0] = 0.28f;
    m->in_std[0] = 0.35f;
    snprintf(m->desc, sizeof m->desc, "small test model");
    return m;
}

START_TEST(test_default_arch)
{
    beaa_model *m;
    ck_assert_int_eq(beaa_train_arch_squeezenet(1, 28, 28, 10, BEAA_ACT_POLY, BEAA_POLY_ELEMENT, 0, &m), BEAA_OK);
    ck_assert_int_eq(m->n_modules, 9);
    ck_assert_int_eq(beaa_model_act_layers(m), 8);
    /* 8*196 + 4*196 + 16*196 + 16*49 + 8*49 + 32*49 + 32*9 + 10*9 */
    ck_assert_uint_eq(beaa_model_act_elements(m), 8610);
    ck_assert(m->modules[1].out_c == 16 && m->modules[1].out_h == 14);
    ck_assert(m->modules[5].out_c == 32 && m->modules[5].out_h == 3);   /* floor(7/2) */
    ck_assert(m->modules[8].out_c == 10 && m->modules[8].out_h == 1);
    /* trainable: conv weights+biases 14,178 - BN 2*(8+4+16+16+8+32+32+10) ... computed: */
    size_t conv = (8 * 25 + 8) + (4 * 8 + 4) + (8 * 4 + 8) + (8 * 36 + 8) + (16 * 144 + 16) +
                  (8 * 16 + 8) + (16 * 8 + 16) + (16 * 72 + 16) + (32 * 288 + 32) + (10 * 32 + 10);
    size_t bn = 2 * (8 + 4 + 16 + 16 + 8 + 32 + 32 + 10);
    ck_assert_uint_eq(beaa_model_trainable_params(m), conv + bn + 3 * 8610);
    beaa_model_free(m);
    ck_assert_int_eq(beaa_train_arch_squeezenet(1, 28, 28, 10, BEAA_ACT_RELU, 0, 0, &m), BEAA_OK);
    ck_assert_uint_eq(beaa_model_trainable_params(m), conv + bn);
    beaa_model_free(m);
    /* an input too small for the pools is refused */
    ck_assert_int_eq(beaa_train_arch_squeezenet(1, 4, 4, 10, BEAA_ACT_RELU, 0, 0, &m), BEAA_ERR_MODEL);
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_roundtrip)
{
    for (int g = 0; g < 3; g++) {
        beaa_model *m = small_model((beaa_poly_gran)g), *l;
        uint8_t *buf, *buf2;
        size_t len, len2;
        ck_assert_int_eq(beaa_model_save_mem(m, &buf, &len), BEAA_OK);
        ck_assert_int_eq(beaa_model_load_mem(buf, len, &l), BEAA_OK);
        ck_assert_uint_eq(l->n_params, m->n_params);
        ck_assert(memcmp(l->params, m->params, m->n_params * sizeof(float)) == 0);
        ck_assert_str_eq(l->desc, "small test model");
        ck_assert(l->in_mean[0] == 0.28f && l->in_std[0] == 0.35f);
        ck_assert(l->modules[1].act[1].gran == (beaa_poly_gran)g);
        ck_assert_uint_eq(l->modules[1].act[1].count, g == 0 ? 1 : g == 1 ? 4 : 4 * 4 * 4);
        ck_assert(l->modules[3].act[0].kind == BEAA_ACT_RELU && l->modules[3].act[0].count == 0);
        /* pointers of the loaded model address the same values as the original's */
        ck_assert(l->modules[1].conv[2].weight[5] == m->modules[1].conv[2].weight[5]);
        ck_assert(l->modules[1].bn[1].var[3] == m->modules[1].bn[1].var[3]);
        ck_assert_int_eq(beaa_model_save_mem(l, &buf2, &len2), BEAA_OK);
        ck_assert(len2 == len && memcmp(buf, buf2, len) == 0);   /* byte-identical */
        beaa_model *c;
        ck_assert_int_eq(beaa_model_clone(l, &c), BEAA_OK);
        ck_assert(c->params != l->params && c->modules[1].act[1].a[0] == l->modules[1].act[1].a[0]);
        ck_assert(c->modules[1].act[1].a >= c->params && c->modules[1].act[1].a < c->params + c->n_params);
        free(buf); free(buf2);
        beaa_model_free(c); beaa_model_free(l); beaa_model_free(m);
    }
}
END_TEST

START_TEST(test_file_save_load)
{
    char path[300];
    snprintf(path, sizeof path, "%s/m.model", tmpdir);
    beaa_model *m = small_model(BEAA_POLY_ELEMENT), *l;
    ck_assert_int_eq(beaa_model_save(m, path, 0), BEAA_OK);
    ck_assert_int_eq(beaa_model_save(m, path, 0), BEAA_ERR_EXISTS);
    m->params[0] = 42.0f;
    ck_assert_int_eq(beaa_model_save(m, path, 1), BEAA_OK);   /* overwrite when asked */
    ck_assert_int_eq(beaa_model_load(path, &l), BEAA_OK);
    ck_assert(l->params[0] == 42.0f);
    beaa_model_free(l);
    /* no temporary files left behind */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 1", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(path, sizeof path, "%s/missing.model", tmpdir);
    ck_assert_int_eq(beaa_model_load(path, &l), BEAA_ERR_NOT_FOUND);
    ck_assert_ptr_null(l);
    /* a FIFO (or a directory) is refused at once instead of blocking the reader */
    snprintf(path, sizeof path, "%s/fifo.model", tmpdir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(beaa_model_load(path, &l), BEAA_ERR_IO);
    ck_assert_ptr_null(l);
    unlink(path);
    ck_assert_int_eq(beaa_model_load(tmpdir, &l), BEAA_ERR_IO);
    snprintf(path, sizeof path, "%s/nodir/x.model", tmpdir);
    ck_assert_int_eq(beaa_model_save(m, path, 0), BEAA_ERR_IO);
    /* a NaN weight is refused by save */
    m->params[3] = NAN;
    ck_assert_int_eq(beaa_model_save(m, path, 0), BEAA_ERR_MODEL);
    beaa_model_free(m);
    ck_assert_int_eq(beaa_model_load(NULL, &l), BEAA_ERR_ARG);
}
END_TEST

START_TEST(test_corruption)
{
    beaa_model *m = small_model(BEAA_POLY_CHANNEL), *l;
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(beaa_model_save_mem(m, &buf, &len), BEAA_OK);
    uint8_t *c = malloc(len);
    /* every truncation */
    for (size_t n = 0; n < len; n++) {
        memcpy(c, buf, n);
        beaa_status s = beaa_model_load_mem(c, n, &l);
        ck_assert_msg(s == BEAA_ERR_TRUNCATED || (n >= 8 && s == BEAA_ERR_MODEL) ||
                      (n < 8 && s != BEAA_OK), "truncation at %zu gave %d", n, s);
        ck_assert_ptr_null(l);
    }
    /* every byte flipped (two patterns) */
    for (size_t i = 0; i < len; i++)
        for (int pat = 0; pat < 2; pat++) {
            memcpy(c, buf, len);
            c[i] ^= pat ? 0xff : 0x01;
            beaa_status s = beaa_model_load_mem(c, len, &l);
            ck_assert_msg(s == BEAA_ERR_CHECKSUM || s == BEAA_ERR_MODEL ||
                          s == BEAA_ERR_TRUNCATED, "flip at %zu gave %d", i, s);
            ck_assert_ptr_null(l);
        }
    /* trailing garbage */
    uint8_t *g = malloc(len + 1);
    memcpy(g, buf, len);
    g[len] = 0;
    ck_assert_int_eq(beaa_model_load_mem(g, len + 1, &l), BEAA_ERR_MODEL);
    free(g);
    free(c);
    free(buf);
    beaa_model_free(m);
}
END_TEST

/* edits a u32 at payload offset off and recomputes the CRC, so only range checks can catch it */
static beaa_status load_edited(const uint8_t *buf, size_t len, size_t off, uint32_t v)
{
    uint8_t *c = malloc(len);
    memcpy(c, buf, len);
    for (int k = 0; k < 4; k++) c[off + k] = (uint8_t)(v >> (8 * k));
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), c, (uInt)(len - 4));
    for (int k = 0; k < 4; k++) c[len - 4 + k] = (uint8_t)(crc >> (8 * k));
    beaa_model *l = NULL;
    beaa_status s = beaa_model_load_mem(c, len, &l);
    beaa_model_free(l);
    free(c);
    return s;
}

START_TEST(test_edited_fields)
{
    beaa_model *m = small_model(BEAA_POLY_ELEMENT);
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(beaa_model_save_mem(m, &buf, &len), BEAA_OK);
    const size_t P = 24 + 64;   /* payload after the description */
    ck_assert_int_eq(load_edited(buf, len, P + 0, 9), BEAA_ERR_MODEL);          /* in_c > 4 */
    ck_assert_int_eq(load_edited(buf, len, P + 0, 2), BEAA_ERR_MODEL);          /* in_c 2: chain breaks */
    ck_assert_int_eq(load_edited(buf, len, P + 4, 0), BEAA_ERR_MODEL);          /* in_h 0 */
    ck_assert_int_eq(load_edited(buf, len, P + 12, 5), BEAA_ERR_MODEL);         /* classes != last C */
    ck_assert_int_eq(load_edited(buf, len, P + 24, 0), BEAA_ERR_MODEL);         /* 0 modules */
    ck_assert_int_eq(load_edited(buf, len, P + 24, 1000000), BEAA_ERR_MODEL);   /* too many */
    ck_assert_int_eq(load_edited(buf, len, P + 28, 77), BEAA_ERR_MODEL);        /* module kind */
    /* first conv: cin cout kh kw stride pad start at P+32 */
    ck_assert_int_eq(load_edited(buf, len, P + 36, 0xffffffffu), BEAA_ERR_MODEL); /* cout huge */
    ck_assert_int_eq(load_edited(buf, len, P + 36, 4000), BEAA_ERR_TRUNCATED);  /* weights past end */
    ck_assert_int_eq(load_edited(buf, len, P + 48, 0), BEAA_ERR_MODEL);         /* stride 0 */
    ck_assert_int_eq(load_edited(buf, len, P + 40, 20), BEAA_ERR_MODEL);        /* kernel 20 > 15 */
    /* the std of the input normalization must be positive: P+16 mean, P+20 std */
    ck_assert_int_eq(load_edited(buf, len, P + 20, 0), BEAA_ERR_MODEL);
    ck_assert_int_eq(load_edited(buf, len, P + 20, 0x7fc00000u), BEAA_ERR_MODEL); /* NaN */
    /* version */
    ck_assert_int_eq(load_edited(buf, len, 8, 2), BEAA_ERR_MODEL);
    /* intact control */
    ck_assert_int_eq(load_edited(buf, len, P + 0, 1), BEAA_OK);
    free(buf);
    /* a negative variance in memory is refused by save */
    m->modules[0].bn[0].var[0] = -1.0f;
    ck_assert_int_eq(beaa_model_check(m), BEAA_ERR_MODEL);
    beaa_model_free(m);
}
END_TEST

START_TEST(test_shipped_model)
{
    /* the committed default model loads and has the documented shape */
    beaa_model *m;
    beaa_status s = beaa_model_load("models/fmnist-beaa.model", &m);
    if (s == BEAA_ERR_IO) {
        /* runner started outside the repository root: try from build/tests */
        s = beaa_model_load("../../models/fmnist-beaa.model", &m);
    }
    ck_assert_int_eq(s, BEAA_OK);
    ck_assert(m->in_c == 1 && m->in_h == 28 && m->in_w == 28 && m->num_classes == 10);
    ck_assert_int_eq(beaa_model_act_layers(m), 8);
    for (uint32_t i = 0; i < m->n_modules; i++)
        for (int j = 0; j < 2; j++)
            if (m->modules[i].kind == BEAA_MODULE_CONV ? j == 0 : m->modules[i].kind == BEAA_MODULE_FIRE)
                ck_assert(m->modules[i].act[j].kind == BEAA_ACT_POLY &&
                          m->modules[i].act[j].gran == BEAA_POLY_ELEMENT);
    beaa_model_free(m);
}
END_TEST

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/beaa_check_model_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    Suite *s = suite_create("model");
    TCase *t = tcase_create("model");
    tcase_add_test(t, test_default_arch);
    tcase_add_test(t, test_roundtrip);
    tcase_add_test(t, test_file_save_load);
    tcase_add_test(t, test_corruption);
    tcase_add_test(t, test_edited_fields);
    tcase_add_test(t, test_shipped_model);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return failed ? 1 : 0;
}
