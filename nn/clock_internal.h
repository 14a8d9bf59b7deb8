/* clock_internal.h - seconds on the monotonic clock, for the encrypted pass's per-stage times
 * (nn/exec.c, nn/group.c, nn/forward.c, nn/ooc.c, nn/cw_forward.c). Not installed. */
#ifndef BEAA_NN_CLOCK_INTERNAL_H
#define BEAA_NN_CLOCK_INTERNAL_H
#include <time.h>

static inline double beaa_nn_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
