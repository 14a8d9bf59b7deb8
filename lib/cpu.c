/* cpu.c - CPU feature detection (cpuid + xgetbv, once, cached) and the BEAA_ARCH /
 * BEAA_THREADS environment overrides (see cpu.h). */
#include "lib/cpu.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static int have_avx2, have_avx512;
static beaa_cpu_vendor vendor = BEAA_CPU_VENDOR_OTHER;

#if defined(__x86_64__) || defined(__i386__)
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

static void detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        char id[13];
        memcpy(id, &b, 4);
        memcpy(id + 4, &d, 4);
        memcpy(id + 8, &c, 4);
        id[12] = '\0';
        if (strcmp(id, "GenuineIntel") == 0) vendor = BEAA_CPU_VENDOR_INTEL;
        else if (strcmp(id, "AuthenticAMD") == 0) vendor = BEAA_CPU_VENDOR_AMD;
    }
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return;
    uint64_t xcr0 = xgetbv0();
    int ymm_os = (xcr0 & 0x6) == 0x6;            /* SSE + AVX state */
    int zmm_os = (xcr0 & 0xe6) == 0xe6;          /* + opmask, ZMM_Hi256, Hi16_ZMM */
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = (b >> 5) & 1, bmi2 = (b >> 8) & 1;
    int f = (b >> 16) & 1, dq = (b >> 17) & 1, ifma = (b >> 21) & 1;
    int bw = (b >> 30) & 1, vl = (b >> 31) & 1, vbmi = (c >> 1) & 1;
    have_avx2 = ymm_os && avx2 && bmi2 && fma;
    /* VBMI (vpermb) unpacks the bit-packed switching keys; every IFMA CPU so far has it */
    have_avx512 = have_avx2 && zmm_os && f && dq && ifma && bw && vl && vbmi;
#endif
}

int beaa_cpu_supports(beaa_isa isa)
{
    pthread_once(&detect_once, detect);
    switch (isa) {
    case BEAA_ISA_REF: return 1;
    case BEAA_ISA_AVX2: return have_avx2;
    case BEAA_ISA_AVX512: return have_avx512;
    }
    return 0;
}

beaa_cpu_vendor beaa_cpu_vendor_get(void)
{
    pthread_once(&detect_once, detect);
    return vendor;
}

beaa_isa beaa_cpu_best_isa(void)
{
    if (beaa_cpu_supports(BEAA_ISA_AVX512)) return BEAA_ISA_AVX512;
    if (beaa_cpu_supports(BEAA_ISA_AVX2)) return BEAA_ISA_AVX2;
    return BEAA_ISA_REF;
}

const char *beaa_isa_name(beaa_isa isa)
{
    switch (isa) {
    case BEAA_ISA_REF: return "ref";
    case BEAA_ISA_AVX2: return "avx2";
    case BEAA_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

static pthread_once_t select_once = PTHREAD_ONCE_INIT;
static beaa_isa selected_isa;
static beaa_status selected_status;

static void select_isa(void)
{
    const char *env = getenv("BEAA_ARCH");
    selected_status = BEAA_OK;
    if (!env || !*env) {
        selected_isa = beaa_cpu_best_isa();
        return;
    }
    beaa_isa want;
    if (strcmp(env, "ref") == 0) want = BEAA_ISA_REF;
    else if (strcmp(env, "avx2") == 0) want = BEAA_ISA_AVX2;
    else if (strcmp(env, "avx512") == 0) want = BEAA_ISA_AVX512;
    else {
        selected_isa = BEAA_ISA_REF;
        selected_status = BEAA_ERR_CPU;
        return;
    }
    if (!beaa_cpu_supports(want)) {
        selected_isa = BEAA_ISA_REF;
        selected_status = BEAA_ERR_CPU;
        return;
    }
    selected_isa = want;
}

beaa_status beaa_cpu_selected_isa(beaa_isa *out)
{
    pthread_once(&select_once, select_isa);
    if (out) *out = selected_isa;
    return selected_status;
}

int beaa_cpu_threads(void)
{
    const char *env = getenv("BEAA_THREADS");
    if (env && *env) {
        char *end = NULL;
        long v = strtol(env, &end, 10);
        if (end && *end == '\0' && v >= 1 && v <= 4096) return (int)v;
    }
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c >= 1 && c <= 4096 ? (int)c : 1;
}
