/* ooc.h - the encrypted pass out of core: network inputs read when the schedule first needs them
 * (not loaded whole), and, under a byte budget, stage outputs spilled to scratch storage and
 * read back when the next stage needs them.
 * The plan replays the wavefront schedule (nn/schedule.h) once and decides, before every group,
 * what to load and what to evict: a group needs its inputs resident, its working set (the x and
 * u ciphertexts of its rows and the products) and room for its outputs; when that does not fit
 * the budget, the resident ciphertexts the schedule reads again LAST are evicted first
 * (Belady's rule, exact here because the order is known in advance). An evicted network input is
 * only dropped (the input file still has it); a stage output is spilled (written) and reloaded.
 * The run follows the plan exactly, so the plan's numbers (peak bytes with and without
 * spilling, bytes written, bytes read back) are what the run does. Storage is the caller's:
 * three hooks load network input i, spill and reload stage outputs. The results are bit for bit
 * those of beaa_nn_forward (the same engine, nn/exec.h, on the same inputs). */
#ifndef BEAA_NN_OOC_H
#define BEAA_NN_OOC_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "ckks/ckks.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/quant.h"
#include "nn/schedule.h"

typedef enum beaa_nn_ooc_kind {
    BEAA_NN_OOC_LOAD = 1,    /* read network input idx (stage 0) from the caller's storage */
    BEAA_NN_OOC_DROP = 2,    /* free network input idx (it is read again later) */
    BEAA_NN_OOC_SPILL = 3,   /* write input idx of stage si (a stage output) to scratch, free it */
    BEAA_NN_OOC_RELOAD = 4   /* read it back from scratch */
} beaa_nn_ooc_kind;

typedef struct beaa_nn_ooc_action {
    uint8_t kind;            /* beaa_nn_ooc_kind */
    uint8_t pad;
    uint16_t si;
    uint32_t idx;
} beaa_nn_ooc_action;

typedef struct beaa_nn_ooc_plan {
    size_t nsteps;
    size_t *act_start;        /* nsteps + 1: actions before step k are acts[act_start[k] ..
                                 act_start[k+1]), evictions first */
    beaa_nn_ooc_action *acts;
    size_t nacts;
    size_t budget;            /* the budget planned for (0: none) */
    size_t peak_bytes;        /* ciphertext bytes at the peak of this plan */
    size_t peak_upload_bytes; /* the same with the network inputs not read yet held in their
                                 upload form, c_0 only (nn/upload.h; half their bytes, or
                                 beaa_nn_ooc_plan_make_upload's c0_bytes) */
    size_t min_budget;        /* the smallest budget any plan can meet (the largest group's
                                 inputs, working set and outputs) */
    size_t input_reads, input_read_bytes;   /* network inputs read (with re-reads after drops) */
    size_t spills, spill_bytes;             /* stage outputs written to scratch */
    size_t reloads;                         /* and read back */
    size_t scratch_peak_bytes;              /* most bytes on scratch at once */
} beaa_nn_ooc_plan;

/* Plans the pass of net (scheduled by sc) in ring 2^log_n with `threads` workers under budget
 * bytes of ciphertexts (live ciphertexts plus the running group's working set and outputs,
 * counted as beaa_nn_schedule_peak_bytes does; 0: no budget, inputs only loaded lazily). *out owned by the
 * caller (beaa_nn_ooc_plan_free). Errors: BEAA_ERR_ARG, BEAA_ERR_MEMORY_LIMIT (budget below
 * the plan's min_budget: *out is still set, with min_budget filled in and no actions),
 * BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_ooc_plan_make(const beaa_nn_net *net,
                                                  const beaa_nn_schedule *sc, unsigned log_n,
                                                  int threads, size_t budget,
                                                  beaa_nn_ooc_plan **out);
/* The same without a budget, for a pass over an upload (nn/upload.h) whose inputs hold c0_bytes
 * each until first read (beaa_nn_upload_c0_bytes): peak_upload_bytes counts them so. */
BEAA_MUST_CHECK beaa_status beaa_nn_ooc_plan_make_upload(const beaa_nn_net *net,
                                                         const beaa_nn_schedule *sc,
                                                         unsigned log_n, int threads,
                                                         size_t c0_bytes,
                                                         beaa_nn_ooc_plan **out);
void beaa_nn_ooc_plan_free(beaa_nn_ooc_plan *p);

/* The caller's storage. Every hook returns BEAA_OK or the error that stops the pass. */
typedef struct beaa_nn_ooc_io {
    /* network input idx: a new ciphertext in *ct (size 2, level L, the plan's input scale) */
    beaa_status (*load_input)(void *user, size_t idx, beaa_ckks_ciphertext **ct);
    /* keep ct (input idx of stage si) until reload asks for it; the engine frees ct after */
    beaa_status (*spill)(void *user, uint32_t si, size_t idx, const beaa_ckks_ciphertext *ct);
    /* the ciphertext spilled under (si, idx), as a new ciphertext in *ct */
    beaa_status (*reload)(void *user, uint32_t si, size_t idx, beaa_ckks_ciphertext **ct);
    /* called before every group (may be NULL): anything but BEAA_OK stops the pass with it
     * (e.g. after a signal) */
    beaa_status (*check)(void *user);
    void *user;
    /* Optional (NULL, 0: one load at a time on the calling thread): load_input for up to
     * load_slots callers at once, each with a slot number below load_slots that no other running
     * call has (e.g. one open file per slot). The inputs one group needs are then read in
     * parallel, by up to opts->threads threads. */
    beaa_status (*load_input_slot)(void *user, unsigned slot, size_t idx, beaa_ckks_ciphertext **ct);
    unsigned load_slots;
    /* Optional (NULL, NULL, 0: one spill or reload at a time on the calling thread): spill and
     * reload for up to scratch_slots callers at once, each with a slot number below
     * scratch_slots that no other running call has (e.g. one serialization buffer per slot).
     * The spills before a group, and the reloads, then run in parallel on up to opts->threads
     * threads; the first error in the plan's order is returned. */
    beaa_status (*spill_slot)(void *user, unsigned slot, uint32_t si, size_t idx,
                              const beaa_ckks_ciphertext *ct);
    beaa_status (*reload_slot)(void *user, unsigned slot, uint32_t si, size_t idx,
                               beaa_ckks_ciphertext **ct);
    unsigned scratch_slots;
} beaa_nn_ooc_io;

/* Runs the pass following plan (made for net and sc, which must be the same objects' schedule):
 * logits as beaa_nn_forward. opts->threads should be the plan's. stats (may be NULL): as
 * beaa_nn_forward's, with io_s the seconds spent in the hooks. Errors: those of
 * beaa_nn_forward, of the hooks, BEAA_ERR_ARG (plan for another schedule). */
BEAA_MUST_CHECK beaa_status beaa_nn_forward_ooc(const beaa_nn_net *net, const beaa_nn_qnet *qn,
                                                const beaa_ckks_relin_key *rk,
                                                const beaa_nn_schedule *sc,
                                                const beaa_nn_ooc_plan *plan,
                                                const beaa_nn_ooc_io *io,
                                                beaa_ckks_ciphertext **logits,
                                                const beaa_nn_forward_opts *opts,
                                                beaa_nn_forward_stats *stats);

#endif
