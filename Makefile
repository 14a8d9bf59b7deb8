# libbeaa - top-level build. `make` builds lib/libbeaa.a; `make test` runs the Check suite;
# `make test-asan` runs it under ASan+UBSan; `make bench` measures the paper's experiments and
# writes a report (bench/results/<date>-<cpu>/: results.csv, report.md, plots; docs/bench.md);
# `make run` is the main job (encrypted inference of the Fashion-MNIST test set).
# Sources are picked up by directory: adding a file needs no Makefile edit.
# ISA flags are per directory (ckks/kernels/avx2, ckks/kernels/avx512) so the library runs on
# any x86-64 CPU; never -ffast-math anywhere near ckks/.

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
SAN     ?=
OPT     ?= -O2
CSTD     = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE
WARN     = -Wall -Wextra -Werror -Wno-unknown-pragmas
CFLAGS  ?=
ALLCFLAGS = $(CSTD) $(OPT) -g $(WARN) -fopenmp -I. -I/usr/include/openblas $(CFLAGS)
ifeq ($(SAN),1)
ALLCFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDSAN = -fsanitize=address,undefined
endif
LDLIBS  = -lopenblas -lz -lm -lpthread
LDFLAGS_ALL = -fopenmp $(LDSAN) $(LDFLAGS)

AVX2_FLAGS   = -mavx2 -mbmi2 -mfma
AVX512_FLAGS = -mavx2 -mbmi2 -mfma -mavx512f -mavx512vl -mavx512dq -mavx512bw -mavx512ifma -mavx512vbmi

LIB_DIRS = lib ckks ckks/kernels ckks/kernels/ref ckks/kernels/avx2 ckks/kernels/avx512 nn train
LIB_SRC  = $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
ifeq ($(BUILD),build)
LIBA     = lib/libbeaa.a
else
LIBA     = $(BUILD)/libbeaa.a
endif

TEST_SRC   = $(wildcard tests/check_*.c)
# check_mpi runs mpirun and bin/beaa-mpi: `make test-mpi` (part of `make test`), not test-asan
TEST_MPI   = $(BUILD)/tests/check_mpi
TEST_UTIL  = $(filter-out $(TEST_SRC),$(wildcard tests/*.c))
TEST_BIN   = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# tools/beaa-mpi.c is built with mpicc by the MPI targets only (libbeaa.a stays MPI-free)
TOOL_SRC   = $(filter-out tools/beaa-mpi.c,$(wildcard tools/*.c))
TOOL_UTIL  = $(wildcard tools/common/*.c)
TOOL_BIN   = $(TOOL_SRC:tools/%.c=bin/%)
MPICC     ?= mpicc
MPIRUN    ?= mpirun
EX_SRC     = $(wildcard examples/*.c)
EX_BIN     = $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
BENCH_SRC  = $(wildcard bench/*.c)
BENCH_UTIL = $(wildcard bench/common/*.c)
BENCH_BIN  = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps test test-mpi test-mpi-run test-run test-ref test-asan test-run-asan bench bench-quick bench-paper bench-build bench-ckks bench-kernels examples tools install clean run model models fuzz fuzz-ci fuzz-build fuzz-corpus deps-fuzz deps-valgrind valgrind ctgrind
all: deps $(LIBA) tools examples

deps:
	@sh scripts/deps.sh

$(BUILD)/obj/ckks/kernels/avx2/%.o: ckks/kernels/avx2/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(AVX2_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/obj/ckks/kernels/avx512/%.o: ckks/kernels/avx512/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(AVX512_FLAGS) -MMD -MP -c $< -o $@
# nn/linear.c: gcc 12 vectorizes its split/combine loops (the exact-dgemm conversions) only at
# -O3: measured 2.8x on those loops (0.99 -> 0.34 ns and 3.1 -> 1.2 ns per value). Not fast-math.
$(BUILD)/obj/nn/linear.o: OPT = -O3
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -MMD -MP -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/%: tests/%.c $(TEST_UTIL) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $< $(TEST_UTIL) $(LIBA) -o $@ $(LDFLAGS_ALL) -lcheck -lsubunit -lgmp $(LDLIBS)
bin/%: tools/%.c $(TOOL_UTIL) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -DBEAA_SHARE_DIR='"$(PREFIX)/share/beaa"' $< $(TOOL_UTIL) $(LIBA) -o $@ $(LDFLAGS_ALL) $(LDLIBS)
# The course's RNS chapter checks the Chinese remainder theorem with GMP.
$(BUILD)/examples/ch02_rns_crt: LDLIBS += -lgmp
# The MPI tool: mpicc (OpenMPI's wrapper around $(CC)'s compiler), the same flags and library.
bin/beaa-mpi: tools/beaa-mpi.c $(TOOL_UTIL) $(LIBA)
	@mkdir -p $(dir $@)
	$(MPICC) $(ALLCFLAGS) -DBEAA_SHARE_DIR='"$(PREFIX)/share/beaa"' $< $(TOOL_UTIL) $(LIBA) -o $@ $(LDFLAGS_ALL) $(LDLIBS)
$(BUILD)/examples/%: examples/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $< $(LIBA) -o $@ $(LDFLAGS_ALL) $(LDLIBS)
$(BUILD)/bench/%: bench/%.c $(BENCH_UTIL) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $< $(BENCH_UTIL) $(LIBA) -o $@ $(LDFLAGS_ALL) $(LDLIBS)

tools: $(TOOL_BIN)
examples: $(EX_BIN)

# Fuzz targets (fuzz/<target>.c, docs/security.md). Built with any compiler and replay_main.c
# they replay the committed seed corpus and regression inputs (make test: check_fuzz_replay);
# `make fuzz` builds them with clang -fsanitize=fuzzer,address,undefined against a sanitized
# copy of the library in build-fuzz/ and runs each for FUZZ_TIME seconds (one core, one target
# after another); `make fuzz-ci` is the same for FUZZ_CI_TIME seconds per target.
FUZZ_SRC    = $(wildcard fuzz/*.c)
# tools/beaa.c (compiled into the targets by fuzz/common/cli.h) calls into tools/common/
FUZZ_UTIL   = fuzz/common/fuzz_util.c $(TOOL_UTIL)
FUZZ_DEPS   = $(FUZZ_UTIL) fuzz/common/fuzz_util.h fuzz/common/cli.h tools/beaa.c
FUZZ_REPLAY = $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_TIME    ?= 60
FUZZ_CI_TIME ?= 4
$(BUILD)/fuzz/%: fuzz/%.c fuzz/common/replay_main.c $(FUZZ_DEPS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $< $(FUZZ_UTIL) fuzz/common/replay_main.c $(LIBA) -o $@ $(LDFLAGS_ALL) $(LDLIBS)
$(BUILD)/fuzzers/%: fuzz/%.c $(FUZZ_DEPS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -fsanitize=fuzzer $< $(FUZZ_UTIL) $(LIBA) -o $@ $(LDFLAGS_ALL) -fsanitize=fuzzer $(LDLIBS)
$(BUILD)/gen_corpus: fuzz/gen/gen_corpus.c $(FUZZ_DEPS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $< $(FUZZ_UTIL) $(LIBA) -o $@ $(LDFLAGS_ALL) $(LDLIBS)
FUZZ_MAKE = $(MAKE) --no-print-directory -j2 BUILD=build-fuzz CC=clang SAN=1 OPT=-O2 \
	    CFLAGS='-fsanitize=fuzzer-no-link -Wno-pass-failed'
deps-fuzz:
	@sh scripts/deps.sh clang libclang-rt-14-dev
fuzz-build: deps deps-fuzz
	@$(FUZZ_MAKE) $(FUZZ_SRC:fuzz/%.c=build-fuzz/fuzzers/%)
fuzz: fuzz-build
	@FUZZ_TIME=$(FUZZ_TIME) sh scripts/fuzz.sh build-fuzz
fuzz-ci: fuzz-build
	@FUZZ_TIME=$(FUZZ_CI_TIME) sh scripts/fuzz.sh build-fuzz
# Valgrind (docs/security.md): memcheck of the tool's end-to-end flow on a small ring, and the
# constant-time check of the secret-dependent code (secrets marked undefined: ctgrind).
deps-valgrind:
	@sh scripts/deps.sh valgrind
valgrind: deps deps-valgrind $(TOOL_BIN)
	@sh scripts/valgrind.sh
$(BUILD)/ct_secret: tests/valgrind/ct_secret.c $(LIBA)
	$(CC) $(ALLCFLAGS) $< $(LIBA) -o $@ $(LDFLAGS_ALL) $(LDLIBS)
ctgrind: deps deps-valgrind
	@$(MAKE) --no-print-directory $(BUILD)/ct_secret
	@sh scripts/ctgrind.sh $(BUILD)/ct_secret
# Regenerates the seed corpus (small valid files on the fuzzing ring) into fuzz/corpus/.
fuzz-corpus: $(BUILD)/gen_corpus
	$(BUILD)/gen_corpus fuzz/corpus

# The Check suite: every tests/check_*.c is its own runner. CK_DEFAULT_TIMEOUT guards hangs.
test: deps
	@$(MAKE) --no-print-directory test-run
	@$(MAKE) --no-print-directory test-mpi-run
# scripts/test_install.sh: `make install` into a temporary prefix, an example built there with
# pkg-config, and the API reference (docs/course/10-api.md) against the installed headers.
test-run: $(TEST_BIN) $(TOOL_BIN) $(EX_BIN) $(BENCH_BIN) $(FUZZ_REPLAY)
	@BUILD=$(BUILD) CC="$(CC)" MAKE="$(MAKE)" sh scripts/run_tests.sh $(filter-out $(TEST_MPI),$(TEST_BIN)) scripts/test_install.sh

# `make test-mpi`: bin/beaa-mpi under mpirun (2 and 3 ranks, --oversubscribe; as root with
# --allow-run-as-root, set in the runner) against `beaa infer` in one process and out of core:
# the logits files byte for byte; a rank killed mid-run; more batches than ranks.
test-mpi: deps
	@$(MAKE) --no-print-directory test-mpi-run
test-mpi-run: $(TEST_MPI) $(TOOL_BIN) bin/beaa-mpi
	@MPIRUN=$(MPIRUN) sh scripts/run_tests.sh $(TEST_MPI)

test-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 OPT=-O1 test-run-asan
test-run-asan: $(filter-out $(TEST_MPI),$(TEST_BIN)) $(BENCH_BIN) $(EX_BIN) $(FUZZ_REPLAY)
	@BEAA_TEST_LIGHT=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 sh scripts/run_tests.sh $(filter-out $(TEST_MPI),$(TEST_BIN))

# `make bench`: the paper's experiments measured on this machine, one report (scripts/bench.sh,
# docs/bench.md): about 15-20 minutes on 2 cores (BENCH_FLAGS=--with-paper adds the paper's
# CIFAR-10 geometry, a few minutes more). `make bench-quick`: the same pipeline on an
# insecure small ring in about a minute (a smoke test; CI runs it), into $(BUILD)/bench-quick.
bench-build: $(BENCH_BIN)
BENCH_FLAGS ?=
bench: deps bench-build
	@BUILD=$(BUILD) sh scripts/bench.sh $(BENCH_FLAGS)
bench-quick: deps bench-build
	@rm -rf $(BUILD)/bench-quick
	@BUILD=$(BUILD) sh scripts/bench.sh --quick --out $(BUILD)/bench-quick
# The paper's CIFAR-10 geometry (3x32x32, random weights), batch 4096, N=2^15 (bench/bench_paper.c).
bench-paper: deps $(BUILD)/bench/bench_paper
	$(BUILD)/bench/bench_paper
bench-ckks: deps $(BUILD)/bench/bench_ckks
	$(BUILD)/bench/bench_ckks
bench-kernels: deps $(BUILD)/bench/bench_kernels
	$(BUILD)/bench/bench_kernels

install: $(LIBA) $(TOOL_BIN)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/beaa $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(LIBA) $(DESTDIR)$(PREFIX)/lib/libbeaa.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/beaa/models
	install -m 755 $(TOOL_BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 models/*.model $(DESTDIR)$(PREFIX)/share/beaa/models/
	for h in lib/*.h ckks/*.h ckks/kernels/kernels.h nn/*.h train/*.h; do \
	  [ -f $$h ] || continue; case $$h in *_internal.h) continue;; esac; \
	  install -d $(DESTDIR)$(PREFIX)/include/beaa/$$(dirname $$h); \
	  install -m 644 $$h $(DESTDIR)$(PREFIX)/include/beaa/$$h; done
	sed -e 's|@PREFIX@|$(PREFIX)|' scripts/beaa.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/beaa.pc

clean:
	rm -rf build build-asan build-fuzz bin lib/libbeaa.a

-include $(LIB_OBJ:.o=.d)

# The CKKS and kernel runners again with the portable kernels forced (BEAA_ARCH=ref).
test-ref: $(TEST_BIN)
	@BEAA_ARCH=ref sh scripts/run_tests.sh $(filter $(BUILD)/tests/check_ckks% $(BUILD)/tests/check_ntt% $(BUILD)/tests/check_nn%,$(TEST_BIN))

# The main job: encrypted inference of the whole Fashion-MNIST test set (10,000 images in one
# batch) with the shipped model; prints accuracy, agreement, per-stage times and peak memory
# (also measured by /usr/bin/time -v when present).
run: deps $(LIBA) bin/beaa
	@if [ -x /usr/bin/time ]; then /usr/bin/time -v bin/beaa demo; else bin/beaa demo; fi

# `make models`: trains every shipped Fashion-MNIST model with one recipe (docs/training.md,
# chosen on a validation split of the training set): the ReLU teacher, then six polynomial
# students - layer-, channel- and element-wise activations, each without and with knowledge
# distillation (KD) from the teacher - all initialized from the teacher's weights. The
# element-wise student with KD is models/fmnist-beaa.model, the main job's model. One
# BLAS/OpenMP thread so that the same seed gives the same model (byte for byte); about 3 minutes
# for the teacher and 3-4 per student on one core. `make models MODEL_DIR=/tmp/m` trains
# elsewhere (to compare with the shipped files) instead of replacing models/. `make model` is the
# same target.
MODEL_ENV = OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
MODEL_DIR ?= models
STUDENT = --init-from $(MODEL_DIR)/fmnist-relu.model --epochs 16 --lr $(STUDENT_LR) --clip 1 --seed 1 --overwrite
KD = --teacher $(MODEL_DIR)/fmnist-relu.model --kd-lambda $(KD_LAMBDA) --kd-T 4
STUDENT_LR = 0.05
KD_LAMBDA = 0.5
model: models
models: deps bin/beaa-train
	@mkdir -p $(MODEL_DIR)
	$(MODEL_ENV) bin/beaa-train --variant relu --epochs 30 --lr 0.1 --seed 1 \
	  --out $(MODEL_DIR)/fmnist-relu.model --overwrite
	$(MODEL_ENV) bin/beaa-train --variant poly-layer $(STUDENT) --out $(MODEL_DIR)/fmnist-layer.model
	$(MODEL_ENV) bin/beaa-train --variant poly-channel $(STUDENT) --out $(MODEL_DIR)/fmnist-channel.model
	$(MODEL_ENV) bin/beaa-train --variant poly-element $(STUDENT) --out $(MODEL_DIR)/fmnist-element.model
	$(MODEL_ENV) bin/beaa-train --variant poly-layer $(STUDENT) $(KD) --out $(MODEL_DIR)/fmnist-layer-kd.model
	$(MODEL_ENV) bin/beaa-train --variant poly-channel $(STUDENT) $(KD) --out $(MODEL_DIR)/fmnist-channel-kd.model
	$(MODEL_ENV) bin/beaa-train --variant poly-element $(STUDENT) $(KD) --out $(MODEL_DIR)/fmnist-beaa.model
