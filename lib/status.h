/* status.h - error values of libbeaa.
 * Every fallible public function returns a beaa_status; BEAA_OK is 0. beaa_strerror()
 * gives a one-line English message for each code. The library never prints or exits. */
#ifndef BEAA_STATUS_H
#define BEAA_STATUS_H

#if defined(__GNUC__) || defined(__clang__)
#define BEAA_MUST_CHECK __attribute__((warn_unused_result))
#else
#define BEAA_MUST_CHECK
#endif

typedef enum beaa_status {
    BEAA_OK = 0,
    /* generic */
    BEAA_ERR_ARG,              /* a NULL pointer or an out-of-range argument */
    BEAA_ERR_NOMEM,            /* allocation failed */
    BEAA_ERR_IO,               /* reading or writing a file failed */
    BEAA_ERR_EXISTS,           /* output file exists and overwriting was not asked for */
    BEAA_ERR_ENTROPY,          /* the OS random source failed */
    BEAA_ERR_CPU,              /* BEAA_ARCH asks for an ISA this CPU lacks, or is unknown */
    BEAA_ERR_INTERNAL,         /* an internal invariant failed (a bug) */
    /* parameters */
    BEAA_ERR_PARAMS,           /* malformed parameter set (ring size, prime sizes, digits) */
    BEAA_ERR_INSECURE,         /* log2(Q*P) above the 128-bit HE standard bound for N */
    BEAA_ERR_NO_PRIMES,        /* not enough NTT-friendly primes of the requested size */
    BEAA_ERR_PARAMS_MISMATCH,  /* objects belong to different parameter sets */
    /* evaluation */
    BEAA_ERR_LEVEL_MISMATCH,   /* operands at different levels */
    BEAA_ERR_SCALE_MISMATCH,   /* operands at different scales */
    BEAA_ERR_LEVEL_EXHAUSTED,  /* no prime left to rescale by / drop to */
    BEAA_ERR_SCALE_RANGE,      /* a scale too small or too large for the modulus */
    BEAA_ERR_SIZE,             /* ciphertext size wrong for the operation (e.g. not relinearized) */
    BEAA_ERR_NO_KEY,           /* a needed rotation/relinearization key is missing */
    BEAA_ERR_VALUE,            /* NaN, inf, or a value too large to encode */
    BEAA_ERR_SLOTS,            /* more values than slots */
    /* serialization */
    BEAA_ERR_FORMAT,           /* bad magic, unknown object type or version */
    BEAA_ERR_TRUNCATED,        /* input ends before the object does */
    BEAA_ERR_CHECKSUM,         /* checksum does not match: corrupted data */
    BEAA_ERR_CORRUPT,          /* fields out of range in otherwise well-formed data */
    /* neural network / training */
    BEAA_ERR_MODEL,            /* malformed or unsupported model */
    BEAA_ERR_DEPTH,            /* the model needs more levels than a secure chain can give */
    BEAA_ERR_DATA,             /* malformed or missing data set */
    BEAA_ERR_SHAPE,            /* tensor or layer shapes do not fit together */
    BEAA_ERR_MEMORY_LIMIT,     /* planned peak memory, or a file's size, above the allowed limit */
    BEAA_ERR_NOT_FOUND,        /* a file to read does not exist (BEAA_ERR_IO: exists, unreadable) */
    BEAA_STATUS_COUNT
} beaa_status;

/* Returns a static, human-readable message for s (never NULL). */
const char *beaa_strerror(beaa_status s);

#endif
