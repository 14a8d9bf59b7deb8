/* schedule.h - the order in which the encrypted pass computes a folded network, and what that
 * order keeps in memory. Each stage's output positions are cut into groups (a pooling window,
 * or two neighbours in a row); a group of stage s can run as soon as every stage-s input it reads has been
 * produced. The schedule runs, at every step, the next group of the LAST stage that has one
 * ready: a wavefront that moves down the image through all stages at once, so that each stage
 * keeps only a band of rows alive (not whole feature maps) and the network inputs are freed as
 * the first convolution moves past them. The same schedule drives beaa_nn_forward and the peak
 * memory estimate of the plan, which replays it. */
#ifndef BEAA_NN_SCHEDULE_H
#define BEAA_NN_SCHEDULE_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "nn/fold.h"

/* Groups of one stage. */
typedef struct beaa_nn_sched_stage {
    uint32_t ngroups;
    int32_t *gstart;    /* ngroups + 1: group g covers order[gstart[g] .. gstart[g+1]) */
    int32_t *order;     /* output positions (h*W + w) in group order */
    int32_t *bstart;    /* hout*wout + 1: first block of each position (-1: none) */
    int32_t *uses;      /* cin*hin*win: how many block inputs read each stage input */
    int32_t *pidx;      /* cout*hout*wout: the (pooled) output element each output feeds */
} beaa_nn_sched_stage;

/* The whole schedule: nsteps (stage, group) pairs, every group of every stage once. */
typedef struct beaa_nn_schedule {
    uint32_t nstages;
    beaa_nn_sched_stage *stages;
    size_t nsteps;
    uint32_t *step_stage, *step_group;
} beaa_nn_schedule;

/* Builds the schedule of net. *out owned by the caller (beaa_nn_schedule_free).
 * Errors: BEAA_ERR_ARG, BEAA_ERR_MODEL (a group reads an input that no group produces: the
 * folded network is inconsistent), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_schedule_make(const beaa_nn_net *net, beaa_nn_schedule **out);
void beaa_nn_schedule_free(beaa_nn_schedule *s);

/* Visits the blocks of group g of stage si: calls fn(user, block index) for each. */
void beaa_nn_sched_group_blocks(const beaa_nn_net *net, const beaa_nn_schedule *sc, uint32_t si,
                                uint32_t g, void (*fn)(void *user, uint32_t b), void *user);

/* Columns per task of the encrypted pass (nn/group.c): x and u of a group's outputs (up to 64
 * pre-pooling outputs x 2 polynomials x 2) over this many coefficients stay in L2 (1 MiB at
 * 512), with the inputs they read. */
#define BEAA_NN_FUSE_COLS 512

/* Bytes a running group of stage s holds besides its inputs and outputs, in ring 2^log_n at
 * level lvl, for a group of `rows` outputs (before pooling): the size-3 product of each unit (a
 * pooled output channel, or an output), each thread's buffer of x and u (nn/group.c), and with
 * raw inputs (fold.h) the rows made as ciphertexts. */
size_t beaa_nn_group_transient_bytes(const beaa_nn_stage *s, size_t rows, unsigned log_n,
                                     unsigned lvl, int threads);

/* Peak bytes of ciphertexts the pass holds when it follows this schedule in ring 2^log_n with
 * L levels: the network inputs until their last reader has run, each stage's outputs until
 * theirs has, plus the running group's working set (beaa_nn_group_transient_bytes) and
 * outputs. The block pool serves every request from the pages freed
 * before it, whatever their block sizes (lib/pool.h), so nothing else stays held. */
size_t beaa_nn_schedule_peak_bytes(const beaa_nn_net *net, const beaa_nn_schedule *sc,
                                   unsigned log_n, int threads);

#endif
