# hakmem — top-level build.
#
#   make            library (shared + static), and the kernel module when the
#                   running kernel's headers are installed (make module KVER=…)
#   make test       every test: unit, conformance, stress, real programs, and
#                   the module's kselftests in a QEMU VM (make test-vm alone)
#   make bench      allocator benchmarks against glibc, mimalloc, jemalloc, tcmalloc
#   make bench-mimalloc  mimalloc-bench's benchmarks under the same allocators
#                   (MIMALLOC_BENCH_DIR=checkout; bench/bench.mk, bench/README.md)
#   make bench-security  mimalloc-bench's security suite: which misuse each
#                   allocator catches (bench/security.py)
#   make demo       the main job: hakmem.ko's effect on fresh-memory workloads,
#                   in the test VM (module built by DKMS) and natively, with charts
#   make install    install the library, header, pkg-config file and wrapper
#   make deb        Debian packages in build/deb: libhakmem0, libhakmem-dev,
#                   hakmem-dkms (debian/deb.mk)
#
# Each folder owns a fragment (*.mk) included below; all outputs go to $(BUILD).
# No target installs packages: scripts/install-deps.sh does, and scripts/run
# (the README's two commands) calls it.

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
HK_CFLAGS := -std=gnu11 $(WARN) -pthread

LIB_SO  := $(BUILD)/libhakmem.so
LIB_A   := $(BUILD)/libhakmem.a

.PHONY: all test bench demo demo-module demo-run install uninstall clean
all: lib module-if-headers

include libhakmem/libhakmem.mk
include kmod/kmod.mk
include qemu/vm.mk
include tests/tests.mk
include bench/bench.mk
include debian/deb.mk

# The demo boots the newest supported non-RT kernel installed on the host
# (the host's DKMS builds with the host's compiler: not a build root's), with
# a hakmem.ko that DKMS builds as the hakmem-dkms package would, but in trees
# of its own under $(BUILD): the system's DKMS state stays as it is.
DEMO_KVER ?= $(lastword $(foreach k,$(filter-out %-rt-amd64,$(KM_KERNELS)),$(if \
	$(call km_sysroot,$(k)),,$(k))))
DEMO_DKMS := $(abspath $(BUILD))/demo-dkms
DEMO_DKMS_ARGS = -m hakmem -v $(KM_VERSION) --sourcetree $(DEMO_DKMS)/src \
	--dkmstree $(DEMO_DKMS)/tree

demo:
	@$(MAKE) --no-print-directory lib bench-build
	@$(MAKE) --no-print-directory demo-module demo-run KVER=$(DEMO_KVER)

demo-module:
	rm -rf $(DEMO_DKMS)
	$(MAKE) -C kmod --no-print-directory dist DEST=$(DEMO_DKMS)/src/hakmem-$(KM_VERSION)
	mkdir -p $(DEMO_DKMS)/tree
	dkms add $(DEMO_DKMS_ARGS)
	dkms build $(DEMO_DKMS_ARGS) -k $(KVER)

demo-run:
	scripts/demo $(BUILD) $(firstword $(wildcard \
		$(DEMO_DKMS)/tree/hakmem/$(KM_VERSION)/$(KVER)/*/module/hakmem.ko*)) \
		/boot/vmlinuz-$(KVER)

clean:
	rm -rf $(BUILD)
