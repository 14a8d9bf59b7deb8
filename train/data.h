/* data.h - labelled image data sets for training: Fashion-MNIST / MNIST IDX files (gzip or
 * plain, read with zlib), CIFAR-10 binary batches, and image folders (one folder per class,
 * binary PGM/PPM images), plus a class-balanced split. Images are 8-bit, (n, c, h, w).
 * Every loader bounds what it reads and returns BEAA_ERR_DATA with a message in err for
 * malformed or missing data. */
#ifndef BEAA_TRAIN_DATA_H
#define BEAA_TRAIN_DATA_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"

#define BEAA_DATA_MAX_IMAGES 10000000u
#define BEAA_DATA_MAX_CLASSES 256u
#define BEAA_DATA_DEFAULT_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct beaa_dataset {
    uint32_t n, c, h, w;        /* n images of c x h x w bytes */
    uint32_t num_classes;
    uint8_t *pixels;            /* n*c*h*w bytes, image-major (n, c, h, w) */
    uint8_t *labels;            /* n labels in [0, num_classes) */
} beaa_dataset;

/* Frees the arrays and zeroes *d (NULL allowed). */
void beaa_dataset_free(beaa_dataset *d);

/* Reads one IDX file (gzip-compressed or plain) of unsigned bytes with ndim dimensions (3: images
 * n x h x w, magic 0x803; 1: labels n, magic 0x801): dims[0..ndim) from its header, then the
 * first min(n, max_items) items (max_items 0: all) into *data (beaa_alloc'd, exactly
 * items * h * w + 1 bytes: free with beaa_free_secret(*data, that size) or free()), *n_items of
 * them. exact != 0: when every item was read, the file must end there. Allocation grows with
 * the bytes actually decompressed (doubling from 64 KiB, at most the header's size + 1), so a
 * short file with a huge header allocates at most twice what it holds (and 64 KiB). Only
 * regular files are opened (a FIFO is refused without blocking). Errors: BEAA_ERR_ARG,
 * BEAA_ERR_DATA (err says: not found, not a regular file, bad magic, implausible dimensions
 * (n > 10^7, h or w 0 or > 4096), shorter or longer than the header), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_data_idx_read(const char *path, uint32_t ndim, size_t max_items,
                                               int exact, uint8_t **data, size_t *n_items,
                                               uint32_t *dims, char *err, size_t errlen);

/* Loads an IDX image file (magic 0x00000803, n x h x w bytes) and an IDX label file (magic
 * 0x00000801) - gzip-compressed or not - into d (c = 1, num_classes = 10). err (errlen bytes,
 * may be NULL) receives a one-line explanation on failure.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_DATA (missing file, bad magic, count mismatch, short file,
 * label >= 10), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_data_idx_load(const char *images_path, const char *labels_path,
                                               beaa_dataset *d, char *err, size_t errlen);

/* Fashion-MNIST from dir (NULL: BEAA_DATA_DEFAULT_FMNIST_DIR): train != 0 loads
 * train-{images-idx3,labels-idx1}-ubyte.gz (60,000 images), else t10k-* (10,000). */
BEAA_MUST_CHECK beaa_status beaa_data_fmnist_load(const char *dir, int train, beaa_dataset *d,
                                                  char *err, size_t errlen);

/* CIFAR-10 binary version from dir: train != 0 loads data_batch_1.bin .. data_batch_5.bin,
 * else test_batch.bin. Each record is 1 label byte + 3072 pixel bytes (3x32x32); a file whose
 * size is not a multiple of 3073 or a label > 9 is BEAA_ERR_DATA. */
BEAA_MUST_CHECK beaa_status beaa_data_cifar10_load(const char *dir, int train, beaa_dataset *d,
                                                   char *err, size_t errlen);

/* An image folder: dir/<class>/<image>.pgm|.ppm (binary P5/P6, maxval 255), classes sorted by
 * name (at most BEAA_DATA_MAX_CLASSES), every image resized (bilinear) to h x w with c channels
 * (c = 1: PPM converted to gray; c = 3: PGM replicated). Files with other extensions are
 * ignored; a class folder without images, or a malformed PGM/PPM, is BEAA_ERR_DATA. */
BEAA_MUST_CHECK beaa_status beaa_data_folder_load(const char *dir, uint32_t c, uint32_t h,
                                                  uint32_t w, beaa_dataset *d, char *err,
                                                  size_t errlen);

/* Splits src into three new sets by fractions (f_train + f_val <= 1; test gets the rest),
 * balanced by class (each class split in the same proportions), shuffled with seed. Any of
 * train/val/test may be NULL. Errors: BEAA_ERR_ARG, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_data_split(const beaa_dataset *src, double f_train,
                                            double f_val, uint64_t seed, beaa_dataset *train,
                                            beaa_dataset *val, beaa_dataset *test);

/* Copies the first n images of src (n <= src->n) into dst. */
BEAA_MUST_CHECK beaa_status beaa_data_head(const beaa_dataset *src, uint32_t n,
                                           beaa_dataset *dst);

/* Per-channel mean and standard deviation of pixel/255 over the whole set (c entries each). */
void beaa_data_stats(const beaa_dataset *d, float *mean, float *std);

/* 1 if path names a regular file (after following links), else 0: loaders check it before
 * opening so that a FIFO, device or directory gives a clear error instead of blocking. */
int beaa_data_is_regular_file(const char *path);

#endif
