/* parallel.h - the thread count of libbeaa's OpenMP loops, set once from BEAA_THREADS
 * (default: all online cores). The CKKS core parallelizes over RNS limbs with
 * `#pragma omp parallel for`; call beaa_parallel_init() before the first such loop. */
#ifndef BEAA_PARALLEL_H
#define BEAA_PARALLEL_H

/* Sets the OpenMP thread count to beaa_cpu_threads() the first time it is called (later calls do
 * nothing) and returns that count. Thread-safe. Never fails: without OpenMP it returns 1. */
int beaa_parallel_init(void);

/* The thread count chosen by beaa_parallel_init() (calls it if it has not run yet). */
int beaa_parallel_threads(void);

#endif
