# bench/bench.mk - allocator benchmarks (included by the top-level Makefile).
#
#   make bench                     build libhakmem and the benchmarks, run every
#                                  benchmark under hakmem, glibc, mimalloc,
#                                  jemalloc and tcmalloc, print the table and
#                                  write it to $(BUILD)/bench/results.md
#   make bench BENCH_REPS=3        fewer repetitions (default 5)
#   make bench BENCH_ARGS='--only larson --allocators hakmem,mimalloc'
#   make bench-build               only build the benchmark binaries
#   make bench-instr               instructions per malloc/free under callgrind,
#                                  every allocator (bench/instr.py)
#   make bench-mimalloc            mimalloc-bench's benchmarks under the same five
#                                  allocators (bench/mimalloc-bench.py); the
#                                  checkout is $(MIMALLOC_BENCH_DIR), else a clone
#                                  in $(BUILD)/mimalloc-bench-src; table in
#                                  $(BUILD)/mimalloc-bench/results.{md,rst}
#   make bench-mimalloc MBENCH_REPS=1 MBENCH_ARGS='--only cfrac,larsonN'
#   make bench-security            mimalloc-bench's security suite (misuse:
#                                  overflows, use after free, double and invalid
#                                  frees) under the same five allocators
#                                  (bench/security.py): what each catches, the
#                                  totals, and where hakmem and glibc differ; in
#                                  $(BUILD)/security/results.md
#   make bench-security SECURITY_REPS=3 SECURITY_ARGS=--allocators=hakmem,glibc
#
# The binaries link plain libc malloc; run.py swaps allocators in with
# LD_PRELOAD, so one binary serves every allocator.

BENCH_DIR  := $(BUILD)/bench
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BENCH_DIR)/%,$(BENCH_SRCS))
BENCH_REPS ?= 5
BENCH_ARGS ?=
MBENCH_REPS ?= 3
MBENCH_ARGS ?=
SECURITY_REPS ?= 1
SECURITY_ARGS ?=

.PHONY: bench-build bench-instr bench-mimalloc bench-security

bench-build: $(BENCH_BINS)

$(BENCH_BINS): $(BENCH_DIR)/%: bench/%.c bench/bench.h bench/bench.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(HK_CFLAGS) -o $@ $<

bench: $(LIB_SO) $(BENCH_BINS)
	@command -v python3 >/dev/null || \
		{ echo "make bench: needs python3 (scripts/install-deps.sh bench)" >&2; exit 1; }
	BENCH_REPS=$(BENCH_REPS) python3 bench/run.py --build-dir $(BUILD) \
		--out $(BENCH_DIR)/results.md $(BENCH_ARGS)

bench-instr: $(LIB_SO) $(BENCH_DIR)/tiny-hot $(BENCH_DIR)/random-mixed
	python3 bench/instr.py --build-dir $(BUILD)

bench-mimalloc: $(LIB_SO)
	@command -v python3 >/dev/null || \
		{ echo "make bench-mimalloc: needs python3 (scripts/install-deps.sh bench)" >&2; exit 1; }
	MIMALLOC_BENCH_DIR="$(MIMALLOC_BENCH_DIR)" python3 bench/mimalloc-bench.py \
		--build-dir $(BUILD) --reps $(MBENCH_REPS) $(MBENCH_ARGS)

bench-security: $(LIB_SO)
	@command -v python3 >/dev/null || \
		{ echo "make bench-security: needs python3 (scripts/install-deps.sh mbench)" >&2; exit 1; }
	MIMALLOC_BENCH_DIR="$(MIMALLOC_BENCH_DIR)" SECURITY_REPS=$(SECURITY_REPS) python3 bench/security.py \
		--build-dir $(BUILD) $(SECURITY_ARGS)
