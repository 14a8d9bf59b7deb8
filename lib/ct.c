/* ct.c - see ct.h. */
#include "lib/ct.h"

__attribute__((noinline)) int beaa_ct_public(uint64_t v)
{
    /* A real branch (the volatile stores keep the compiler from turning it into a setcc): what
     * leaves is one of two constants, which memcheck sees as defined. */
    volatile int r = 0;
    if (v != 0) r = 1;
    return r;
}
