/* kernels_avx2.c - the AVX2 kernel table (beaa_kernels_avx2). permute is the ref kernel (AVX2
 * gathers do not beat scalar loads on the machines we measured). */
#include "ckks/kernels/avx2/avx2.h"
#include "ckks/kernels/ref/ref.h"

const beaa_kernels beaa_kernels_avx2 = {
    .name = "avx2",
    .ntt_fwd = beaa_ntt_fwd_avx2,
    .ntt_fwd_lazy = beaa_ntt_fwd_lazy_avx2,
    .ntt_inv = beaa_ntt_inv_avx2,
    .ntt_inv_lazy = beaa_ntt_inv_lazy_avx2,
    .ntt_inv_scaled = beaa_ntt_inv_scaled_avx2,
    .add_mod = beaa_add_mod_avx2,
    .sub_mod = beaa_sub_mod_avx2,
    .neg_mod = beaa_neg_mod_avx2,
    .mul_mod = beaa_mul_mod_avx2,
    .mac_mod = beaa_mac_mod_avx2,
    .mul_const = beaa_mul_const_avx2,
    .mac_const = beaa_mac_const_avx2,
    .sub_mul_const = beaa_sub_mul_const_avx2,
    .tensor = beaa_tensor_avx2,
    .basis_conv = beaa_basis_conv_avx2,
    .basis_conv_multi = beaa_basis_conv_multi_avx2,
    .basis_conv_sub = beaa_basis_conv_sub_avx2,
    .conv_overflow = beaa_conv_overflow_avx2,
    .ks_dot2 = beaa_ks_dot2_avx2,
    .ks_dot2_fp = beaa_ks_dot2_fp_avx2,
    .permute = beaa_permute_ref,
    .uniform_seeded = beaa_uniform_seeded_avx2,
    .shake256_x8 = beaa_shake256_x8_avx2,
    .lin_dot = NULL,
};
