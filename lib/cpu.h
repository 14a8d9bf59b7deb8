/* cpu.h - CPU feature detection (cpuid + xgetbv), done once and cached, and the BEAA_ARCH /
 * BEAA_THREADS environment overrides. */
#ifndef BEAA_CPU_H
#define BEAA_CPU_H
#include "lib/status.h"

typedef enum beaa_isa { BEAA_ISA_REF = 0, BEAA_ISA_AVX2 = 1, BEAA_ISA_AVX512 = 2 } beaa_isa;

/* Best ISA this CPU and OS support (AVX512 means F+VL+DQ+BW+IFMA+VBMI with OS ZMM state enabled). */
beaa_isa beaa_cpu_best_isa(void);
/* Whether the CPU supports isa. */
int beaa_cpu_supports(beaa_isa isa);
/* Name of isa: "ref", "avx2", "avx512". */
const char *beaa_isa_name(beaa_isa isa);
/* The ISA in use: BEAA_ARCH if set and supported, else the best one. Sets *out.
 * Returns BEAA_ERR_CPU (and *out = BEAA_ISA_REF) if BEAA_ARCH is unknown or unsupported. */
BEAA_MUST_CHECK beaa_status beaa_cpu_selected_isa(beaa_isa *out);
/* The CPU's maker (cpuid leaf 0), for the kernels whose fastest form depends on how the core
 * issues 512-bit instructions (ckks/kernels/avx512/dot_avx512.c). */
typedef enum beaa_cpu_vendor {
    BEAA_CPU_VENDOR_OTHER = 0,
    BEAA_CPU_VENDOR_INTEL = 1,
    BEAA_CPU_VENDOR_AMD = 2
} beaa_cpu_vendor;
beaa_cpu_vendor beaa_cpu_vendor_get(void);
/* Number of worker threads: BEAA_THREADS if set (>= 1), else all online cores. */
int beaa_cpu_threads(void);

#endif
