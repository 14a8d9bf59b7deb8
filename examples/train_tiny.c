/* train_tiny.c - the training API in one page: load Fashion-MNIST, build the default network
 * with element-wise quadratic activations, train it briefly on 2,000 images, evaluate on 1,000
 * test images and save the model file (refusing to overwrite). Run: build/examples/train_tiny
 * [out.model]. The full recipe (teacher, distillation) is `make models` / tools/beaa-train.c. */
#include <stdio.h>
#include "lib/beaa.h"

static void progress(const beaa_train_epoch_stats *st, void *user)
{
    (void)user;
    printf("epoch %d/%d: loss %.3f, train accuracy %.1f%%, %.1f s\n", st->epoch, st->epochs,
           st->loss, 100 * st->train_acc, st->seconds);
}

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "tiny.model";
    char err[256] = "";
    beaa_dataset full, test, train, tsub;
    beaa_status s = beaa_data_fmnist_load(NULL, 1, &full, err, sizeof err);   /* 60,000 images */
    if (!s) s = beaa_data_fmnist_load(NULL, 0, &test, err, sizeof err);      /* 10,000 images */
    if (s) { fprintf(stderr, "data: %s: %s\n", beaa_strerror(s), err); return 1; }
    if (beaa_data_head(&full, 2000, &train) || beaa_data_head(&test, 1000, &tsub)) return 1;
    beaa_dataset_free(&full);
    beaa_dataset_free(&test);

    beaa_model *m = NULL;
    s = beaa_train_arch_squeezenet(1, 28, 28, 10, BEAA_ACT_POLY, BEAA_POLY_ELEMENT, 0, &m);
    if (!s) s = beaa_train_init_weights(m, 1, 0.1f, 0.5f, 0.0f);   /* a=0.1, b=0.5, c=0 */
    if (!s) s = beaa_train_set_normalization(m, &train);          /* mean/std into the model */
    if (s) { fprintf(stderr, "model: %s\n", beaa_strerror(s)); return 1; }
    printf("%zu trainable parameters, %zu activated elements, %u activation layers\n",
           beaa_model_trainable_params(m), beaa_model_act_elements(m), beaa_model_act_layers(m));

    beaa_train_config cfg;
    beaa_train_config_default(&cfg);
    cfg.epochs = 4;
    cfg.batch = 64;
    cfg.clip = 1.0f;
    s = beaa_train_run(m, NULL, &train, NULL, &cfg, progress, NULL);
    double acc = 0;
    if (!s) s = beaa_train_evaluate(m, &tsub, 250, &acc, NULL);
    if (!s) printf("test accuracy on 1,000 images: %.1f%%\n", 100 * acc);
    if (!s) s = beaa_model_save(m, out, 0);
    if (s) fprintf(stderr, "%s: %s\n", out, beaa_strerror(s));
    else printf("wrote %s\n", out);
    beaa_model_free(m);
    beaa_dataset_free(&train);
    beaa_dataset_free(&tsub);
    return s ? 1 : 0;
}
