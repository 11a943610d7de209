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
#
# The binaries link plain libc malloc; run.py swaps allocators in with
# LD_PRELOAD, so one binary serves every allocator.

BENCH_DIR  := $(BUILD)/bench
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BENCH_DIR)/%,$(BENCH_SRCS))
BENCH_REPS ?= 5
BENCH_ARGS ?=

.PHONY: bench-build bench-instr

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
