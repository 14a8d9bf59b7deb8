/* exec.h - the encrypted pass one group at a time: the engine under beaa_nn_forward, the
 * out-of-core pass (nn/ooc.h) and the MPI tool (tools/beaa-mpi.c).
 * An engine holds, for every stage, the input ciphertexts that are present and how many reads
 * of its OWN groups each still has (a group is one entry of the schedule, nn/schedule.h; the
 * caller says which groups are its own: all of them in one process, one band of rows per rank
 * with nn/partition.h). Inputs come in with beaa_nn_exec_put (network inputs from a file,
 * ciphertexts received from another rank, reloaded from scratch) and can be taken out again
 * (spilled); running a group computes its outputs from the inputs present, frees every input
 * after its last read, and hands each output to the caller's hook (to send it elsewhere) before
 * keeping it for the own groups of the next stage that read it. Every output is a deterministic
 * function of the inputs it reads (exact integer linear maps, then a product, relinearization
 * and rescale without randomness), so the results do not depend on which process computes a
 * group, in which order, or on how many threads: logits are bit for bit the same. */
#ifndef BEAA_NN_EXEC_H
#define BEAA_NN_EXEC_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "ckks/ckks.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/quant.h"
#include "nn/schedule.h"

typedef struct beaa_nn_exec beaa_nn_exec;

/* Called for each output element of stage si that a group produced (elem: index of the stage's
 * pooled output = input of stage si + 1; for the last stage: the class, the logit with the final
 * affine applied). here: 1 when an own group of the next stage reads it (or it is a logit): the
 * engine keeps *ct after the call, which must not free it; 0: the hook may take it (set *ct to
 * NULL; e.g. to send it and free it later), else the engine frees it. */
typedef void (*beaa_nn_exec_output_fn)(void *user, uint32_t si, uint32_t elem,
                                       beaa_ckks_ciphertext **ct, int here);

/* A new engine for net/qn/rk following sc. own: per stage, sc->stages[si].ngroups flags (1: this
 * engine runs the group); own == NULL: every group. threads: 0 = beaa_cpu_threads(). output may
 * be NULL. net, qn, rk, sc and own must outlive the engine.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_NO_KEY (rk NULL), BEAA_ERR_PARAMS_MISMATCH (qn or rk for another
 * depth), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_exec_new(const beaa_nn_net *net, const beaa_nn_qnet *qn,
                                             const beaa_ckks_relin_key *rk,
                                             const beaa_nn_schedule *sc,
                                             const uint8_t *const *own, int threads,
                                             beaa_nn_exec_output_fn output, void *user,
                                             beaa_nn_exec **out);
/* Frees the engine and every ciphertext it still holds (NULL allowed). */
void beaa_nn_exec_free(beaa_nn_exec *ex);

/* Reads of input idx of stage si by own groups not run yet (0: not needed here any more). */
int32_t beaa_nn_exec_uses(const beaa_nn_exec *ex, uint32_t si, size_t idx);
/* 1 when input idx of stage si is present. */
int beaa_nn_exec_has(const beaa_nn_exec *ex, uint32_t si, size_t idx);
/* Calls fn(user, idx) for every input of stage si that group g reads and that is not present
 * (each once per block that reads it: an input may be visited more than once). */
void beaa_nn_exec_missing(const beaa_nn_exec *ex, uint32_t si, uint32_t g,
                          void (*fn)(void *user, size_t idx), void *user);
/* 1 when every input of group g of stage si is present. */
int beaa_nn_exec_ready(const beaa_nn_exec *ex, uint32_t si, uint32_t g);

/* Supplies input idx of stage si (ownership of ct is taken, also on error: it is freed).
 * Checked: same context as the engine's key, NTT form, the size and level the stage reads
 * (beaa_nn_stage_in_size / _in_level: 2 and L - si, or 3 and L - si + 1 with raw inputs); network inputs
 * (si == 0) at the plan's input scale. Errors: BEAA_ERR_ARG (index out of range, already
 * present, or not read by any own group), BEAA_ERR_PARAMS_MISMATCH, BEAA_ERR_SIZE,
 * BEAA_ERR_LEVEL_MISMATCH, BEAA_ERR_SCALE_MISMATCH. */
BEAA_MUST_CHECK beaa_status beaa_nn_exec_put(beaa_nn_exec *ex, uint32_t si, size_t idx,
                                             beaa_ckks_ciphertext *ct);
/* Takes input idx of stage si out of the engine (to spill it; put it back before a group reads
 * it). *ct: the ciphertext, owned by the caller. BEAA_ERR_ARG if absent. */
BEAA_MUST_CHECK beaa_status beaa_nn_exec_take(beaa_nn_exec *ex, uint32_t si, size_t idx,
                                              beaa_ckks_ciphertext **ct);

/* Runs group g of stage si (an own group, not run before, every input present: BEAA_ERR_ARG
 * otherwise). Times go to the engine's statistics. Evaluator errors, BEAA_ERR_NOMEM. After an
 * error the engine can only be freed. */
BEAA_MUST_CHECK beaa_status beaa_nn_exec_run(beaa_nn_exec *ex, uint32_t si, uint32_t g);

/* Moves logit k (class k, level 0) out: BEAA_ERR_ARG if this engine has not produced it. */
BEAA_MUST_CHECK beaa_status beaa_nn_exec_take_logit(beaa_nn_exec *ex, uint32_t k,
                                                    beaa_ckks_ciphertext **ct);

/* Bytes of the ciphertexts the engine holds now (inputs of every stage and logits). */
size_t beaa_nn_exec_live_bytes(const beaa_nn_exec *ex);
/* Seconds spent so far per stage (total_s: the sum over stages). */
void beaa_nn_exec_stats(const beaa_nn_exec *ex, beaa_nn_forward_stats *stats);

#endif
