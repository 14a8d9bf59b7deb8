/* kernels_avx512.c - the AVX-512 IFMA kernel table (beaa_kernels_avx512). conv_overflow is the
 * AVX2 FMA kernel (every AVX-512 CPU has AVX2+FMA), permute the ref kernel; the rest are IFMA
 * kernels that hand primes of 2^50 or more to ref. */
#include "ckks/kernels/avx2/avx2.h"
#include "ckks/kernels/avx512/avx512.h"
#include "ckks/kernels/ref/ref.h"

const beaa_kernels beaa_kernels_avx512 = {
    .name = "avx512",
    .ntt_fwd = beaa_ntt_fwd_avx512,
    .ntt_fwd_lazy = beaa_ntt_fwd_lazy_avx512,
    .ntt_inv = beaa_ntt_inv_avx512,
    .ntt_inv_lazy = beaa_ntt_inv_lazy_avx512,
    .ntt_inv_scaled = beaa_ntt_inv_scaled_avx512,
    .add_mod = beaa_add_mod_avx512,
    .sub_mod = beaa_sub_mod_avx512,
    .neg_mod = beaa_neg_mod_avx512,
    .mul_mod = beaa_mul_mod_avx512,
    .mac_mod = beaa_mac_mod_avx512,
    .mul_const = beaa_mul_const_avx512,
    .mac_const = beaa_mac_const_avx512,
    .sub_mul_const = beaa_sub_mul_const_avx512,
    .tensor = beaa_tensor_avx512,
    .basis_conv = beaa_basis_conv_avx512,
    .basis_conv_multi = beaa_basis_conv_multi_avx512,
    .basis_conv_sub = beaa_basis_conv_sub_avx512,
    .conv_overflow = beaa_conv_overflow_avx2,
    .ks_dot2 = beaa_ks_dot2_avx512,
    .ks_dot2_fp = NULL, /* IFMA unpacks the packed rows in registers (kernels.h) */
    .permute = beaa_permute_ref,
    .uniform_seeded = beaa_uniform_seeded_avx512,
    .shake256_x8 = beaa_shake256_x8_avx512,
    .lin_dot = beaa_lin_dot_avx512,
};
