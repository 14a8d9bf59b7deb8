/* ckks.h - everything of the RNS-CKKS layer in one include: parameters and context, plaintext and
 * ciphertext types (with encode/decode), keys, encryption/decryption, the evaluator. */
#ifndef BEAA_CKKS_H
#define BEAA_CKKS_H
#include "ckks/modarith.h"
#include "ckks/params.h"
#include "ckks/types.h"
#include "ckks/keys.h"
#include "ckks/crypt.h"
#include "ckks/evaluator.h"
#endif
