/* dispatch.c - picks the kernel table once (libsodium-style runtime dispatch): the best ISA the
 * CPU supports, or the one BEAA_ARCH forces (unknown/unsupported -> ref + BEAA_ERR_CPU). */
#include "ckks/kernels/kernels.h"
#include "lib/cpu.h"
#include "lib/serial.h"
#include <pthread.h>

static pthread_once_t pick_once = PTHREAD_ONCE_INIT;
static const beaa_kernels *active = &beaa_kernels_ref;
static beaa_status pick_status = BEAA_OK;

static void pick(void)
{
    beaa_isa isa = BEAA_ISA_REF;
    pick_status = beaa_cpu_selected_isa(&isa);
    switch (isa) {
    case BEAA_ISA_AVX512: active = &beaa_kernels_avx512; break;
    case BEAA_ISA_AVX2: active = &beaa_kernels_avx2; break;
    default: active = &beaa_kernels_ref; break;
    }
    /* serialization checksums: 8 leaves per call where the table hashes several messages per
     * Keccak permutation (avx512: 8 lanes; avx2: 4 lanes, two passes) */
    const int many = isa == BEAA_ISA_AVX512 || isa == BEAA_ISA_AVX2;
    beaa_serial_set_hash8(many ? active->shake256_x8 : NULL);
}

const beaa_kernels *beaa_kernels_get(void)
{
    pthread_once(&pick_once, pick);
    return active;
}

beaa_status beaa_kernels_init(void)
{
    pthread_once(&pick_once, pick);
    return pick_status;
}
