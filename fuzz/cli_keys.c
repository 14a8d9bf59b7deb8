/* cli_keys.c - fuzz target: the beaa tool's key files, parsed by its own code as the commands
 * do: as the client's secret-key file (parameter set, secret key, plan scales: load_secret of
 * encrypt/decrypt) and as the server's key file (parameter set, relinearization key, public key,
 * plan scales: the sequence of `beaa infer`). The parameter set comes from the file itself
 * (insecure rings allowed here, as with --insecure-small-ring). */
#include "fuzz/common/cli.h"
#include "fuzz/common/fuzz_util.h"
#include "ckks/validate.h"

static void one(const uint8_t *d, size_t n)
{
    const char *path = fuzz_file("keys.bin", d, n);
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    double scale = 0, in_scale = 0;
    if (load_secret(path, 1, &ctx, &sk, &scale, &in_scale) == BEAA_OK) {
        FUZZ_ASSERT(beaa_ckks_secret_key_validate(sk) == BEAA_OK, "cli keys: invalid secret key");
        FUZZ_ASSERT(scale >= 2 && scale <= 1e15 && in_scale >= 2 && in_scale <= 1e15, "cli keys: scales");
        beaa_ckks_secret_key_free(sk);
        beaa_ckks_context_free(ctx);
    } else {
        FUZZ_ASSERT(sk == NULL && ctx == NULL, "cli keys: output left on error");
    }
    ctx = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_status st = load_server_keys(path, 1, &ctx, &rk, &scale, &in_scale);
    if (st == BEAA_OK)
        FUZZ_ASSERT(beaa_ckks_relin_key_validate(rk) == BEAA_OK, "cli keys: invalid relinearization key");
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_context_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_envelopes(d, n, one);
    return 0;
}
