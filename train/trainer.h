/* trainer.h - the training loop: weight initialization, teacher -> student weight transfer,
 * epochs of shuffled mini-batches with augmentation, CE or distillation loss, Nesterov SGD
 * with a cosine schedule, evaluation. Progress goes to a caller callback (the library never
 * prints). Same seed and thread count -> same model. */
#ifndef BEAA_TRAIN_TRAINER_H
#define BEAA_TRAIN_TRAINER_H
#include <stdint.h>
#include "lib/status.h"
#include "nn/model.h"
#include "train/augment.h"
#include "train/data.h"

typedef struct beaa_train_config {
    int epochs;             /* >= 1 */
    int batch;              /* 1 .. 65536 */
    float lr, lr_min;       /* cosine from lr to lr_min */
    int warmup_epochs;      /* linear warm-up epochs (may be 0) */
    float momentum;         /* Nesterov momentum, e.g. 0.9 */
    float wd, wd_poly;      /* L2 decay for weights / polynomial coefficients */
    float clip;             /* global gradient-norm clip (<= 0: none) */
    float kd_lambda, kd_T;  /* distillation weight and temperature (teacher given) */
    uint64_t seed;
    beaa_train_aug aug;     /* augmentation of training images */
} beaa_train_config;

typedef struct beaa_train_epoch_stats {
    int epoch, epochs;
    double loss;            /* mean training loss of the epoch */
    double train_acc;       /* training accuracy (train-mode forward, augmented) */
    double val_acc;         /* validation accuracy, < 0 when there is no validation set */
    double seconds;         /* wall time of the epoch's training steps */
    double cpu_seconds;     /* process CPU time of the same (all threads; a fair measure on a
                               shared machine when one thread is used) */
    float lr;               /* learning rate at the end of the epoch */
} beaa_train_epoch_stats;

typedef void (*beaa_train_progress_fn)(const beaa_train_epoch_stats *st, void *user);

/* Defaults: 20 epochs, batch 128, lr 0.05 -> 0, warm-up 1, momentum 0.9, wd 5e-4, wd_poly
 * 5e-4, clip 5, kd_lambda 0.7, kd_T 4, seed 1, augmentation off. */
void beaa_train_config_default(beaa_train_config *c);

/* He-normal conv weights (std sqrt(2/fan_in)), zero biases, BN identity, every polynomial
 * (a,b,c) = (pa,pb,pc), seeded. Errors: BEAA_ERR_ARG. */
BEAA_MUST_CHECK beaa_status beaa_train_init_weights(beaa_model *m, uint64_t seed, float pa,
                                                    float pb, float pc);

/* Copies conv weights/biases, BN parameters and running statistics, and the input
 * normalization from src into dst (activations untouched). The two must have the same
 * module list and shapes. Errors: BEAA_ERR_ARG, BEAA_ERR_SHAPE. */
BEAA_MUST_CHECK beaa_status beaa_train_copy_linear(beaa_model *dst, const beaa_model *src);

/* Sets m's input normalization to the per-channel mean/std of d. BEAA_ERR_SHAPE if the
 * channel count or image size differs from the model's input. */
BEAA_MUST_CHECK beaa_status beaa_train_set_normalization(beaa_model *m, const beaa_dataset *d);

/* Trains m in place on train (and reports accuracy on val, which may be NULL) with cfg.
 * teacher (may be NULL) enables the distillation loss; it must have m's input and class
 * count. cb (may be NULL) is called after every epoch.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_SHAPE (data does not fit the model), BEAA_ERR_MODEL,
 * BEAA_ERR_NOMEM, BEAA_ERR_VALUE (the loss became NaN or infinite: training diverged). */
BEAA_MUST_CHECK beaa_status beaa_train_run(beaa_model *m, const beaa_model *teacher,
                                           const beaa_dataset *train, const beaa_dataset *val,
                                           const beaa_train_config *cfg,
                                           beaa_train_progress_fn cb, void *user);

/* Accuracy (fraction in [0,1]) and mean CE loss (may be NULL) of m in eval mode on d.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_SHAPE, BEAA_ERR_MODEL, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_train_evaluate(const beaa_model *m, const beaa_dataset *d,
                                                int batch, double *acc, double *loss);

#endif
