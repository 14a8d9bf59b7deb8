/* mem.h - 64-byte aligned allocation and secret wiping.
 * All polynomial limbs are allocated here so SIMD kernels can assume 64-byte alignment. */
#ifndef BEAA_MEM_H
#define BEAA_MEM_H
#include <stddef.h>

#define BEAA_ALIGN 64

/* Aligned allocation of n bytes (n rounded up to a multiple of 64); NULL on failure or n == 0. */
void *beaa_alloc(size_t n);
/* Same, zero-filled. Returns NULL also when count*size overflows. */
void *beaa_calloc(size_t count, size_t size);
/* Frees memory from beaa_alloc/beaa_calloc; NULL is allowed. */
void beaa_free(void *p);
/* Overwrites n bytes with zeros in a way the compiler cannot elide (for secrets). */
void beaa_memzero(void *p, size_t n);
/* Wipes n bytes then frees (for secrets); NULL is allowed. */
void beaa_free_secret(void *p, size_t n);

#endif
