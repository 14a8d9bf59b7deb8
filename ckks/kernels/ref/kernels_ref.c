/* kernels_ref.c - the reference kernel table (beaa_kernels_ref), always available. */
#include "ckks/kernels/ref/ref.h"

const beaa_kernels beaa_kernels_ref = {
    .name = "ref",
    .ntt_fwd = beaa_ntt_fwd_ref,
    .ntt_fwd_lazy = beaa_ntt_fwd_lazy_ref,
    .ntt_inv = beaa_ntt_inv_ref,
    .ntt_inv_lazy = beaa_ntt_inv_lazy_ref,
    .ntt_inv_scaled = beaa_ntt_inv_scaled_ref,
    .add_mod = beaa_add_mod_ref,
    .sub_mod = beaa_sub_mod_ref,
    .neg_mod = beaa_neg_mod_ref,
    .mul_mod = beaa_mul_mod_ref,
    .mac_mod = beaa_mac_mod_ref,
    .mul_const = beaa_mul_const_ref,
    .mac_const = beaa_mac_const_ref,
    .sub_mul_const = beaa_sub_mul_const_ref,
    .tensor = beaa_tensor_ref,
    .basis_conv = beaa_basis_conv_ref,
    .basis_conv_multi = beaa_basis_conv_multi_ref,
    .basis_conv_sub = beaa_basis_conv_sub_ref,
    .conv_overflow = beaa_conv_overflow_ref,
    .ks_dot2 = beaa_ks_dot2_ref,
    .ks_dot2_fp = NULL, /* no unpacking cost to save (kernels.h) */
    .permute = beaa_permute_ref,
    .uniform_seeded = beaa_uniform_seeded_ref,
    .shake256_x8 = beaa_shake256_x8_ref,
    .lin_dot = NULL,
};
