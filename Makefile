# hakmem — top-level build.
#
#   make            library (shared + static) and the kernel module
#   make test       every test: unit, conformance, stress, real programs, and
#                   the module's kselftests in a QEMU VM (make test-vm alone)
#   make bench      allocator benchmarks against glibc, mimalloc, jemalloc, tcmalloc
#   make demo       the main job: hakmem.ko's effect on fresh-memory workloads,
#                   in the test VM (module built by DKMS) and natively, with charts
#   make install    install the library, header, pkg-config file and wrapper
#
# Each folder owns a fragment (*.mk) included below; all outputs go to $(BUILD).

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
HK_CFLAGS := -std=gnu11 $(WARN) -pthread

LIB_SO  := $(BUILD)/libhakmem.so
LIB_A   := $(BUILD)/libhakmem.a

.PHONY: all test bench demo demo-run install uninstall clean
all: lib module

include libhakmem/libhakmem.mk
include qemu/vm.mk
include tests/tests.mk
include bench/bench.mk

demo:
	@scripts/install-deps.sh demo
	@$(MAKE) --no-print-directory lib bench-build dkms-install
	@$(MAKE) --no-print-directory demo-run

demo-run:
	scripts/demo $(BUILD) $(DKMS_KO) $(VMLINUZ)

clean:
	rm -rf $(BUILD)
