/* arch.c - the default optimized-SqueezeNet module list (see arch.h). */
#include "train/arch.h"

beaa_status beaa_train_arch_squeezenet(uint32_t in_c, uint32_t in_h, uint32_t in_w,
                                       uint32_t classes, beaa_act_kind act,
                                       beaa_poly_gran gran, uint32_t conv3, beaa_model **out)
{
    if (!out) return BEAA_ERR_ARG;
    const beaa_module_kind CV = BEAA_MODULE_CONV, FI = BEAA_MODULE_FIRE;
    beaa_model_desc d[9] = {
        {.kind = CV, .cout = 8, .k = 5, .stride = 2, .pad = 2},
        {.kind = FI, .squeeze = 4, .expand1 = 8, .expand3 = 8, .k3 = 3},
        {.kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2},
        {.kind = CV, .cout = 16, .k = 3, .stride = 1, .pad = 1},
        {.kind = FI, .squeeze = 8, .expand1 = 16, .expand3 = 16, .k3 = 3},
        {.kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2},
        {.kind = CV, .cout = conv3 ? conv3 : 32, .k = 3, .stride = 1, .pad = 1},
        {.kind = CV, .cout = classes, .k = 1, .stride = 1, .pad = 0},
        {.kind = BEAA_MODULE_GAP},
    };
    for (int i = 0; i < 9; i++) {
        d[i].act = act;
        d[i].gran = gran;
    }
    return beaa_model_build(in_c, in_h, in_w, classes, d, 9, out);
}
