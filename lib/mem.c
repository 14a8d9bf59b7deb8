/* mem.c - aligned allocation and secret wiping (see mem.h). */
#include "lib/mem.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *beaa_alloc(size_t n)
{
    if (n == 0 || n > SIZE_MAX - BEAA_ALIGN) return NULL;
    size_t r = (n + BEAA_ALIGN - 1) / BEAA_ALIGN * BEAA_ALIGN;
    return aligned_alloc(BEAA_ALIGN, r);
}

void *beaa_calloc(size_t count, size_t size)
{
    if (count == 0 || size == 0 || count > SIZE_MAX / size) return NULL;
    void *p = beaa_alloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void beaa_free(void *p) { free(p); }

void beaa_memzero(void *p, size_t n)
{
    if (!p || n == 0) return;
    /* memset at full speed, then a compiler barrier that claims to read the memory, so the
     * store cannot be removed as dead (the explicit_bzero technique). */
    memset(p, 0, n);
#if defined(__GNUC__) || defined(__clang__)
    __asm__ __volatile__("" : : "r"(p) : "memory");
#else
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
#endif
}

void beaa_free_secret(void *p, size_t n)
{
    if (!p) return;
    beaa_memzero(p, n);
    free(p);
}
