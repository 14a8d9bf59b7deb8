/* beaa.h - the public umbrella header of libbeaa: include this and link libbeaa.a.
 * Base (status, memory, rng, cpu), the RNS-CKKS layer; nn/ and train/ add their headers below. */
#ifndef BEAA_H
#define BEAA_H
#include "lib/status.h"
#include "lib/mem.h"
#include "lib/rng.h"
#include "lib/cpu.h"
#include "ckks/ckks.h"
#include "lib/serial.h"
#include "lib/fileio.h"
#include "lib/stream.h"
#include "ckks/serialize.h"
/* nn/ and train/ public headers go here */
#include "nn/model.h"
#include "train/arch.h"
#include "train/data.h"
#include "train/trainer.h"
#endif
