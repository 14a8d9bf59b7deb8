/* plan.h - choosing RNS-CKKS parameters for a folded network ("count limbs, not levels"):
 * one data prime per stage (the linear map is multiplied in with small integer weights without
 * rescaling, then x*u is rescaled once), a base prime for the logits, special primes for key
 * switching; the smallest ring that is 128-bit secure and has a slot per image; peak memory. */
#ifndef BEAA_NN_PLAN_H
#define BEAA_NN_PLAN_H
#include <stddef.h>
#include "lib/status.h"
#include "ckks/params.h"
#include "nn/fold.h"

/* Options; zero fields take the defaults named here. */
typedef struct beaa_nn_plan_opts {
    size_t batch;            /* images per batch (slot j = image j); default 1 */
    unsigned log_scale;      /* log2 of the ciphertext scale D between stages; default 25.
                                With 50-bit primes the integer weights get about sqrt(q/D)
                                levels each for x and u: smaller D = finer weights but more
                                relative noise (each rescale adds ~sqrt(N/18)*sqrt(N) in slot
                                units); 25 measured best on the shipped model (docs/nn.md) */
    unsigned in_log_scale;   /* log2 of the input encoding scale; default log_scale */
    unsigned stage_bits;     /* bits of each stage prime q (x*u has scale D*q); default 50, the
                                largest size the AVX2/AVX-512 kernels take */
    unsigned base_bits;      /* bits of q_0 (holds the logits); default 50 */
    unsigned n_special;      /* special primes (alpha); 0 = automatic: ceil((L+1)/3), i.e. 3
                                key-switching digits, fewer if the security bound needs it */
    unsigned special_bits;   /* bits of each special prime; default 50 */
    unsigned min_log_n;      /* smallest ring considered; default 10 */
    unsigned force_log_n;    /* nonzero: use exactly this ring */
    int allow_insecure;      /* 1: skip the 128-bit bound (tests on small rings only) */
    int threads;             /* worker threads (0: beaa_cpu_threads()) - for the memory estimate */
} beaa_nn_plan_opts;

typedef struct beaa_nn_plan {
    beaa_ckks_params_spec spec;  /* the chosen parameter set: L = number of stages */
    unsigned levels;             /* stages = multiplicative depth */
    double scale;                /* D */
    double in_scale;             /* input encoding scale */
    size_t batch;
    unsigned total_bits;         /* sum of all prime bits (log2 QP) */
    unsigned max_bits;           /* the 128-bit bound for the ring (0 if insecure allowed) */
    size_t input_cts, output_cts;/* ciphertexts uploaded / returned */
    size_t peak_bytes;           /* estimated peak resident bytes of the encrypted pass */
    size_t peak_upload_bytes;    /* the same on an upload (nn/upload.h: inputs held as sent) */
    size_t key_bytes;            /* relinearization key bytes */
    char msg[256];               /* a sentence explaining the choice or the refusal */
} beaa_nn_plan;

/* Fills opts with the defaults. */
void beaa_nn_plan_opts_default(beaa_nn_plan_opts *o);

/* Chooses parameters for net. Errors: BEAA_ERR_ARG; BEAA_ERR_SLOTS (batch > 2^15);
 * BEAA_ERR_DEPTH (no secure ring holds the chain: plan->msg says how deep the model is and what
 * fits); BEAA_ERR_PARAMS (option out of range). plan->msg is set in every case. */
BEAA_MUST_CHECK beaa_status beaa_nn_plan_make(const beaa_nn_net *net, const beaa_nn_plan_opts *o,
                                              beaa_nn_plan *plan);

/* Bytes of one ciphertext of `size` polynomials at `level` in ring 2^log_n. */
size_t beaa_nn_ct_bytes(unsigned log_n, unsigned size, unsigned level);

#endif
