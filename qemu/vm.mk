# SPDX-License-Identifier: GPL-2.0
#
# The QEMU test VM (included by the top-level Makefile, after kmod/kmod.mk):
#
#   make test-vm KVER=release   build hakmem.ko for that kernel, boot its
#                               /boot/vmlinuz in QEMU (TCG) once per boot mode
#                               and run the kselftests and libhakmem's tests
#   make test-vm                the same for every supported installed kernel
#   make test-vm-all            as test-vm, after checking that every kernel
#                               flavour the project tests is installed
#   make kselftest              only build the static kselftest binaries
#
# Each boot prints one line "test-vm: <release> <mode>: PASS|FAIL: …" and
# leaves its console log in $(BUILD)/vm/<release>/<mode>/.  Nothing here
# installs packages: scripts/install-deps.sh does (group "vm").

# Boot modes, each one VM boot per kernel:
#   nt-zero     the pool zeroes pages itself (NT stores; init_on_alloc=0)
#   alloc-zero  the page allocator zeroes them (init_on_alloc=1)
#   numa        two NUMA nodes, one CPU each (init_on_alloc=1), where the
#               per-node pool tests run; memory cgroups do not charge kernel
#               memory (cgroup.memory=nokmem), so the memcg tests show that
#               device pages are charged as user memory
# alloc-zero boots also run real programs from the host's file system (the
# host's / is shared read-only) on the kmod backing (tests/vm/host-programs.sh),
# which takes some minutes more under TCG: their time limit is 1200 s, the
# others' 480 s (VM_TIMEOUT overrides both).
# VM_MODES=… boots those modes on every kernel (test-vm-all: all of them).
# By default each kernel series boots a share, so that `make test` stays
# inside CI's time budget while every mode runs on an old and on a new
# kernel, and every series the project supports (6.1 and 6.12 LTS from the
# host, 6.18 LTS and the newest from the build root) boots once at least:
#   6.1 nt-zero and numa, Debian 12's 6.12 alloc-zero, 6.18 numa,
#   the newest (7.x) alloc-zero and numa, its -rt flavour nt-zero.
# Other kernels (6.12-rt, the root's own 6.12) boot only when named (KVER).
VM_ALL_MODES := nt-zero alloc-zero numa
vm_share = $(strip \
	$(if $(filter 6.1.%,$(1)),nt-zero numa, \
	$(if $(filter 6.12.%+deb12-amd64,$(1)),alloc-zero, \
	$(if $(filter 6.18.%-amd64,$(filter-out %-rt-amd64,$(1))),numa, \
	$(if $(filter 7.%-rt-amd64,$(1)),nt-zero, \
	$(if $(filter 7.%-amd64,$(1)),alloc-zero numa))))))
vm_modes = $(or $(VM_MODES),$(call vm_share,$(1)),$(if $(filter command line \
	environment,$(origin KVER)),$(VM_ALL_MODES)))
# Each boot as <release>/<mode>, also the folder of its logs in $(BUILD)/vm.
VM_BOOTS = $(foreach k,$(VM_KERNELS),$(addprefix $(k)/,$(call vm_modes,$(k))))
# Extra kernel command line for every boot, e.g. VM_APPEND="HK_TEST=chaos
# HK_LOOPS=5" runs one test five times (HK_TEST=a,b runs the tests a and
# b).  qemu/run-vm.sh also reads VM_TIMEOUT, VM_SMP, VM_MEM and VM_DEBUG=1.
VM_APPEND ?=
# Directories merged into the VM's root (qemu/run-vm.sh -O); executables in
# their tests/ run after the kselftests.  tests/tests.mk adds libhakmem's.
VM_OVERLAYS ?=

# `make test-vm KVER=…` boots that kernel; otherwise every supported one.
VM_KERNELS ?= $(if $(filter command line environment,$(origin KVER)),$(KVER),$(KM_KERNELS))
# The flavours test-vm-all insists on: Debian 12's 6.1, the 6.12 backport
# and its PREEMPT_RT build (scripts/install-deps.sh kernels installs them),
# and from the Debian 13 build root 6.18 and the newest kernel with its
# PREEMPT_RT build (scripts/install-deps.sh roots).
VM_REQUIRED_FLAVOURS := ^6\.1\.[0-9-]*-amd64$$ ^6\.12\.[0-9]*\+deb12-amd64$$ \
	^6\.12\.[0-9]*\+deb12-rt-amd64$$ ^6\.18\.[0-9]*\+deb13-amd64$$ \
	^7\.[0-9.]*\+deb13-amd64$$ ^7\.[0-9.]*\+deb13-rt-amd64$$

KSRC_TAR ?= $(firstword $(wildcard /usr/src/linux-source-*.tar.xz) /usr/src/linux-source-6.1.tar.xz)
KSRC_TOP = $(basename $(basename $(notdir $(KSRC_TAR))))

KM_KST_DIR	:= $(BUILD)/kselftest
KM_KST_INC	:= $(KM_KST_DIR)/include
KM_KST_BIN	:= $(patsubst tests/kselftest/%.c,$(KM_KST_DIR)/bin/%,$(wildcard tests/kselftest/*.c))
KM_KST_CFLAGS	:= -O2 -g -Wall -Wextra -Wno-sign-compare -Wno-unused-parameter \
		   -Wno-missing-field-initializers -pthread -static \
		   -I$(KM_KST_INC) -Iuapi

# Modules of the booted kernel that tests use: loop and nbd (O_DIRECT, and
# an O_DIRECT read held in flight across fork()), and 9p over virtio, through
# which the guest reads the host's file system to run real programs (those
# a kernel has built in are skipped).
VM_EXTRA_KO := drivers/block/loop drivers/block/nbd \
	drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
	drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci \
	fs/netfs/netfs fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p

.PHONY: kselftest test-vm test-vm-all

$(KM_KST_INC)/kselftest_harness.h:
	mkdir -p $(KM_KST_INC)
	tar -xJf $(KSRC_TAR) -C $(KM_KST_INC) --strip-components=4 \
		$(KSRC_TOP)/tools/testing/selftests/kselftest_harness.h \
		$(KSRC_TOP)/tools/testing/selftests/kselftest.h
	touch $@

# The VM runs every program in $(KM_KST_DIR)/bin, so the programs whose
# source is gone (a test file renamed or split) go too, not to run stale.
KM_KST_STALE = $(filter-out $(KM_KST_BIN),$(wildcard $(KM_KST_DIR)/bin/*))

kselftest: $(KM_KST_BIN)
	$(if $(KM_KST_STALE),rm -f $(KM_KST_STALE))

$(KM_KST_DIR)/bin/%: tests/kselftest/%.c tests/kselftest/hakmem_kselftest.h uapi/linux/hakmem.h \
		$(KM_KST_INC)/kselftest_harness.h
	mkdir -p $(dir $@)
	$(CC) $(KM_KST_CFLAGS) -o $@ $<

test-vm-all:
	@missing=""; for f in $(foreach f,$(VM_REQUIRED_FLAVOURS),'$(f)'); do \
		echo "$(KM_KERNELS)" | tr ' ' '\n' | grep -Eq "$$f" || missing="$$missing $$f"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "test-vm-all: no kernel installed for:$$missing" >&2; \
		echo "test-vm-all: run scripts/install-deps.sh kernels roots (as root)" >&2; \
		exit 1; \
	fi
	@$(MAKE) --no-print-directory test-vm VM_KERNELS="$(KM_KERNELS)" \
		VM_MODES="$(or $(VM_MODES),$(VM_ALL_MODES))"

# The boots run side by side, VM_JOBS at a time (default: one per CPU; each
# TCG VM is one thread), each with its output in $(BUILD)/vm/<boot>/run.log.
VM_JOBS ?= $(shell nproc)

# The kernels that boot.
VM_BOOTED = $(sort $(foreach b,$(VM_BOOTS),$(firstword $(subst /, ,$(b)))))

test-vm: $(foreach k,$(VM_BOOTED),$(call km_ko,$(k))) kselftest
	@test -n "$(VM_KERNELS)" || { echo "test-vm: no supported kernel installed" >&2; exit 1; }
	@$(MAKE) --no-print-directory -k -j$(VM_JOBS) $(addprefix vm-boot/,$(VM_BOOTS))

vm-boot/%:
	@k=$(*D) m=$(*F) nodes=1 t=480 out=$(BUILD)/vm/$*; \
	case $$m in \
	nt-zero) a=init_on_alloc=0 ;; \
	alloc-zero) a="init_on_alloc=1 HK_HOST_PROGRAMS=1" t=1200 ;; \
	numa) a="init_on_alloc=1 cgroup.memory=nokmem" nodes=2 ;; \
	*) echo "test-vm: unknown mode $$m" >&2; exit 2 ;; \
	esac; \
	echo "test-vm: === $$k, mode $$m ($$a) ==="; \
	mkdir -p $$out; start=$$(date +%s); rc=0; \
	VM_NUMA=$$nodes VM_TIMEOUT=$${VM_TIMEOUT:-$$t} qemu/run-vm.sh \
		-k $(call km_sysroot,$(*D))/boot/vmlinuz-$$k -m $(call km_ko,$(*D)) \
		-t $(KM_KST_DIR)/bin -o $$out \
		$(foreach e,$(VM_EXTRA_KO),-e $(call km_sysroot,$(*D))/lib/modules/$$k/kernel/$(e).ko) \
		$(foreach o,$(VM_OVERLAYS),-O $(o)) -S / \
		-a "$$a HK_REPO=$(CURDIR) $(VM_APPEND)" >$$out/run.log 2>&1 || rc=1; \
	echo "test-vm: $$k $$m: $$(tail -n 1 $$out/result 2>/dev/null || echo 'FAIL: no result') ($$(( $$(date +%s) - start )) s)"; \
	[ $$rc -eq 0 ] || { tail -n 30 $$out/run.log | sed 's/^/    /'; exit 1; }
