/* scratch.c - per-thread cache of the evaluator's scratch buffers (see scratch.h): each thread
 * keeps the largest buffer of each kind it has needed; freed at thread exit or on
 * beaa_ckks_scratch_release(). */
#include <pthread.h>
#include <stdlib.h>
#include "lib/mem.h"
#include "ckks/scratch.h"
#include "ckks/evaluator.h"

typedef struct scratch_set {
    uint64_t *buf[BEAA_SCRATCH_KINDS];
    size_t words[BEAA_SCRATCH_KINDS];
} scratch_set;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok;

static void set_free(void *p)
{
    scratch_set *s = p;
    if (!s) return;
    for (int k = 0; k < BEAA_SCRATCH_KINDS; k++) beaa_free(s->buf[k]);
    free(s);
}

static void key_init(void) { key_ok = pthread_key_create(&key, set_free) == 0; }

uint64_t *beaa_ckks_scratch_get(beaa_ckks_scratch_kind kind, size_t words)
{
    if ((unsigned)kind >= BEAA_SCRATCH_KINDS || words == 0) return NULL;
    pthread_once(&key_once, key_init);
    if (!key_ok) return NULL;
    scratch_set *s = pthread_getspecific(key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        if (pthread_setspecific(key, s) != 0) { free(s); return NULL; }
    }
    if (s->words[kind] < words) {
        beaa_free(s->buf[kind]);
        s->buf[kind] = NULL;
        s->words[kind] = 0;
        if (words > SIZE_MAX / sizeof(uint64_t)) return NULL;
        s->buf[kind] = beaa_alloc(words * sizeof(uint64_t));
        if (!s->buf[kind]) return NULL;
        s->words[kind] = words;
    }
    return s->buf[kind];
}

void beaa_ckks_scratch_release(void)
{
    pthread_once(&key_once, key_init);
    if (!key_ok) return;
    scratch_set *s = pthread_getspecific(key);
    if (!s) return;
    pthread_setspecific(key, NULL);
    set_free(s);
}
