/* infer.h - `beaa infer`: the server's encrypted pass from files, out of core. The input
 * ciphertexts are read from their file when the schedule first needs them; when the pass does
 * not fit the memory limit, stage outputs are spilled to a scratch directory (nn/ooc.h plans
 * what and when; tools/common/scratch.h stores them). The plan is printed first: the peak with
 * every input resident, reading inputs lazily, and under the limit with the bytes it will
 * write. The logits file appears only when the pass succeeded (atomic rename). */
#ifndef BEAA_TOOLS_INFER_H
#define BEAA_TOOLS_INFER_H
#include <stddef.h>

typedef struct infer_args {
    const char *model, *keys, *in, *out;
    const char *mem_limit;       /* SIZE (NULL: 3/4 of physical memory) */
    const char *scratch;         /* directory for spill files (NULL: the output's directory) */
    const char *scratch_limit;   /* SIZE: most bytes on scratch at once (NULL: free space) */
    int overwrite, insecure, dry_run;
} infer_args;

/* The command: 0 on success, 1 on any error (printed), 2 on bad usage. */
int infer_ooc(const infer_args *a);

#endif
