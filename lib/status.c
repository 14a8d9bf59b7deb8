/* status.c - messages for beaa_status codes. */
#include "lib/status.h"

const char *beaa_strerror(beaa_status s)
{
    switch (s) {
    case BEAA_OK: return "success";
    case BEAA_ERR_ARG: return "invalid argument (NULL pointer or value out of range)";
    case BEAA_ERR_NOMEM: return "out of memory";
    case BEAA_ERR_IO: return "file cannot be read or written (permissions, not a regular file, folder missing, or I/O error)";
    case BEAA_ERR_EXISTS: return "output file already exists (refusing to overwrite)";
    case BEAA_ERR_ENTROPY: return "operating-system random source failed";
    case BEAA_ERR_CPU: return "requested instruction set (BEAA_ARCH) is unknown or not supported by this CPU";
    case BEAA_ERR_INTERNAL: return "internal error (please report)";
    case BEAA_ERR_PARAMS: return "malformed parameter set";
    case BEAA_ERR_INSECURE: return "parameters below 128-bit security (log2(Q*P) too large for N)";
    case BEAA_ERR_NO_PRIMES: return "not enough NTT-friendly primes of the requested bit size";
    case BEAA_ERR_PARAMS_MISMATCH: return "objects belong to different parameter sets";
    case BEAA_ERR_LEVEL_MISMATCH: return "operands are at different levels";
    case BEAA_ERR_SCALE_MISMATCH: return "operands have different scales";
    case BEAA_ERR_LEVEL_EXHAUSTED: return "modulus chain exhausted (no level left)";
    case BEAA_ERR_SCALE_RANGE: return "scale out of range for the remaining modulus";
    case BEAA_ERR_SIZE: return "ciphertext has the wrong number of polynomials for this operation";
    case BEAA_ERR_NO_KEY: return "required evaluation key (relinearization or rotation) is missing";
    case BEAA_ERR_VALUE: return "value is NaN, infinite, or too large to encode";
    case BEAA_ERR_SLOTS: return "more values than slots";
    case BEAA_ERR_FORMAT: return "unrecognized data (bad magic, type or format version)";
    case BEAA_ERR_TRUNCATED: return "data is truncated";
    case BEAA_ERR_CHECKSUM: return "checksum mismatch (data corrupted)";
    case BEAA_ERR_CORRUPT: return "data fields out of range (corrupted)";
    case BEAA_ERR_MODEL: return "malformed or unsupported model";
    case BEAA_ERR_DEPTH: return "model is deeper than any secure modulus chain allows";
    case BEAA_ERR_DATA: return "malformed or missing data set";
    case BEAA_ERR_SHAPE: return "tensor shapes do not match";
    case BEAA_ERR_MEMORY_LIMIT: return "too large: a file above the largest valid size for its kind, or planned peak memory above the limit";
    case BEAA_ERR_NOT_FOUND: return "not found (no such file)";
    case BEAA_STATUS_COUNT: break;
    }
    return "unknown status code";
}
