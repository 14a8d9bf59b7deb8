/* parallel.c - sets the OpenMP thread count once from BEAA_THREADS (see parallel.h). */
#include "lib/parallel.h"
#include "lib/cpu.h"
#include <pthread.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static pthread_once_t par_once = PTHREAD_ONCE_INIT;
static int par_threads = 1;

static void par_setup(void)
{
#ifdef _OPENMP
    par_threads = beaa_cpu_threads();
    omp_set_num_threads(par_threads);
#else
    par_threads = 1;
#endif
}

int beaa_parallel_init(void)
{
    pthread_once(&par_once, par_setup);
    return par_threads;
}

int beaa_parallel_threads(void) { return beaa_parallel_init(); }
