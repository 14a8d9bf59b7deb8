/* partition.h - the encrypted pass split over P parts (the ranks of beaa-mpi) by rows.
 * Every stage's groups (nn/schedule.h: pooling windows or pairs in a row, in row-major
 * order) are cut into P contiguous ranges of about equal cost, so part p computes a band of
 * rows of every feature map. A group reads inputs near its rows only: the groups of part p read
 * the outputs of its own band of the previous stage plus a few rows of the neighbouring bands
 * (the halo, which their owners send it). The network inputs are read from the input file by
 * every part that needs them.
 * Order within a part: parts alternate direction, so that two neighbours both start at their
 * common boundary (part 0 runs its band bottom-up, part 1 top-down, part 2 bottom-up, ...):
 * the halo one needs first is what the other computes first; at the boundaries where two
 * parts end they meet at the same time. A band with fewer rows than the map has columns is
 * visited column by column (left to right, each column in the part's direction): a
 * convolution moving along the band then keeps a few columns of the band alive, not a few
 * rows of the whole map width (beaa_nn_partition_order). */
#ifndef BEAA_NN_PARTITION_H
#define BEAA_NN_PARTITION_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "nn/fold.h"
#include "nn/schedule.h"

#define BEAA_NN_MAX_PARTS 4096

typedef struct beaa_nn_partition {
    uint32_t nparts, nstages;
    uint32_t **gfirst;   /* [si][p], p = 0..nparts: part p owns groups gfirst[si][p] .. gfirst[si][p+1]-1 */
    uint32_t **rstart;   /* [si][e], e = 0..nin: readers of stage si's input e are */
    uint32_t **readers;  /* [si][rstart[si][e] .. rstart[si][e+1]): the parts (ascending) */
    uint32_t **producer; /* [si][e] for si >= 1: the part whose group computes stage si's input e
                            (UINT32_MAX: none, an element no group reads); producer[0] = NULL */
} beaa_nn_partition;

/* Cuts every stage of net (scheduled by sc) into nparts bands of rows. A stage with fewer groups
 * than parts leaves some parts without groups of it. Group cost for the balance: its
 * multiply-accumulates plus 130 per product (one product costs about as much as 130
 * ciphertext multiply-accumulates at N = 2^15). *out owned by the caller
 * (beaa_nn_partition_free). Errors: BEAA_ERR_ARG (nparts 0 or above BEAA_NN_MAX_PARTS),
 * BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_partition_rows(const beaa_nn_net *net,
                                                   const beaa_nn_schedule *sc, uint32_t nparts,
                                                   beaa_nn_partition **out);
void beaa_nn_partition_free(beaa_nn_partition *pt);

/* The part that owns group g of stage si. */
uint32_t beaa_nn_partition_owner(const beaa_nn_partition *pt, uint32_t si, uint32_t g);
/* Own-group flags of part p: own[si][g] = 1 for its groups (the form beaa_nn_exec_new takes).
 * *out: nstages arrays in one allocation, freed with free(*out). BEAA_ERR_ARG, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_partition_own(const beaa_nn_partition *pt,
                                                  const beaa_nn_schedule *sc, uint32_t p,
                                                  uint8_t ***out);
/* The direction of part p: +1 top-down (its rows, or each column, in ascending order), -1
 * bottom-up; see above. */
int beaa_nn_partition_dir(const beaa_nn_partition *pt, uint32_t p);

/* The order in which part p runs its groups of stage si (see above): order[0 .. n) gets their
 * indices, n = gfirst[si][p + 1] - gfirst[si][p] (the caller's array). One part, or a band as
 * tall as the map is wide: the schedule's row-major order in the part's direction.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_partition_order(const beaa_nn_partition *pt,
                                                    const beaa_nn_net *net,
                                                    const beaa_nn_schedule *sc, uint32_t si,
                                                    uint32_t p, uint32_t *order);

/* The inputs of stage si that groups g0 .. g1-1 read: mark[e] set to 1 for each (mark holds the
 * stage's cin*hin*win flags; others are left as they are). Returns how many were newly marked. */
size_t beaa_nn_groups_inputs(const beaa_nn_net *net, const beaa_nn_schedule *sc, uint32_t si,
                             uint32_t g0, uint32_t g1, uint8_t *mark);

/* Halo size: ciphertexts of stage si's output (= input of si + 1) that part p sends to other
 * parts (one per other reading part); 0 for the last stage (its logits are gathered apart). */
size_t beaa_nn_partition_sends(const beaa_nn_partition *pt, const beaa_nn_net *net, uint32_t si,
                               uint32_t p);

#endif
