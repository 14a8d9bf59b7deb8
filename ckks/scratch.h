/* scratch.h - (internal) per-thread reusable scratch buffers for the hot paths of the evaluator
 * (key switching, rescale): a fresh multi-megabyte malloc per call costs a page fault per 4 KiB
 * (about 10-15% of a key switch at N=2^15), a cached buffer costs nothing after the first call. */
#ifndef BEAA_CKKS_SCRATCH_H
#define BEAA_CKKS_SCRATCH_H
#include <stddef.h>
#include <stdint.h>

/* One buffer per use; a function holds at most one buffer of each kind at a time, and the
 * buffers of one call chain (evaluator -> keyswitch) use different kinds. */
typedef enum beaa_ckks_scratch_kind {
    BEAA_SCRATCH_ACC = 0,   /* evaluator: key-switch accumulator, 2*(l+1+alpha) limbs */
    BEAA_SCRATCH_TENSOR,    /* evaluator: d2 of mul_relin_rescale, rescale's last limbs */
    BEAA_SCRATCH_MODUP,     /* keyswitch: INTT'd, scaled input of the mod-up */
    BEAA_SCRATCH_DIGITS,    /* keyswitch: digits raised to one slot, per thread */
    BEAA_SCRATCH_DIVIDE,    /* keyswitch: one limb per thread in the rounding division */
    BEAA_SCRATCH_DIVIDE_U,  /* keyswitch: the overflow count per coefficient */
    BEAA_SCRATCH_ROUND,     /* evaluator: rescale, one limb per thread */
    BEAA_SCRATCH_KINDS
} beaa_ckks_scratch_kind;

/* A 64-byte aligned buffer of at least `words` 64-bit words owned by the calling thread, valid
 * until the next call with the same kind on this thread (or beaa_ckks_scratch_release). Contents
 * are unspecified. NULL when out of memory. Never holds secrets (callers that would put secret
 * data in it must wipe it themselves). */
uint64_t *beaa_ckks_scratch_get(beaa_ckks_scratch_kind kind, size_t words);

#endif
