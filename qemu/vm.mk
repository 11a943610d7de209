# SPDX-License-Identifier: GPL-2.0
#
# Kernel module and QEMU test VM.  Included by the top-level Makefile (which
# sets BUILD and CC); also usable alone:  make -f qemu/vm.mk test-vm
#
#   module          build $(BUILD)/kmod/hakmem.ko against the Debian headers
#   kselftest       build the static kselftest binaries in $(BUILD)/kselftest
#   test-vm         both, then boot them in QEMU (TCG) and run the tests
#   kmod-checkpatch run checkpatch.pl --no-tree over kmod/ and uapi/
#   dkms-install    install the sources in /usr/src and dkms add/build/install
#                   them for KVER; the built module is then $(DKMS_KO)
#
# KVER selects the kernel (default: the newest installed Debian -amd64
# headers that have a matching /boot/vmlinuz).  Sources are copied to
# $(BUILD)/kmod, so the source tree stays free of build products.  Files
# from the linux-source tarball (kselftest_harness.h, checkpatch.pl) are
# extracted into $(BUILD) at build time and never committed.

BUILD	?= build
CC	?= cc

# Do not change the includer's default goal; alone, the default is "module".
KM_SAVED_GOAL := $(.DEFAULT_GOAL)
ifeq ($(words $(MAKEFILE_LIST)),1)
KM_SAVED_GOAL := module
endif

KM_VM_MK	:= $(lastword $(MAKEFILE_LIST))
KM_TOP		:= $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(abspath $(KM_VM_MK))))))
KM_BUILD	:= $(abspath $(BUILD))

# Computed once, on first use (after vm-deps may have installed headers).
KM_KVER_DETECT = $(shell for v in $$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | \
		sed 's|.*/linux-headers-||' | sort -rV); do \
		[ -e /boot/vmlinuz-$$v ] && { echo $$v; break; }; done)
KVER	?= $(eval KVER := $$(KM_KVER_DETECT))$(KVER)
KDIR	?= /usr/src/linux-headers-$(KVER)
VMLINUZ	?= /boot/vmlinuz-$(KVER)
KSRC_TAR ?= $(firstword $(wildcard /usr/src/linux-source-*.tar.xz) /usr/src/linux-source-6.1.tar.xz)
KSRC_TOP = $(basename $(basename $(notdir $(KSRC_TAR))))

KM_KMOD_DIR	:= $(KM_BUILD)/kmod
KM_KO		:= $(KM_KMOD_DIR)/hakmem.ko
KM_KMOD_SRC	:= $(wildcard $(KM_TOP)/kmod/*.c $(KM_TOP)/kmod/*.h) $(KM_TOP)/kmod/Kbuild
KM_UAPI		:= $(KM_TOP)/uapi/linux/hakmem.h

KM_KST_DIR	:= $(KM_BUILD)/kselftest
KM_KST_INC	:= $(KM_KST_DIR)/include
KM_KST_SRC	:= $(wildcard $(KM_TOP)/tests/kselftest/*.c)
KM_KST_BIN	:= $(patsubst $(KM_TOP)/tests/kselftest/%.c,$(KM_KST_DIR)/bin/%,$(KM_KST_SRC))
KM_KST_CFLAGS	:= -O2 -g -Wall -Wextra -Wno-sign-compare -Wno-unused-parameter \
		   -Wno-missing-field-initializers -pthread -static \
		   -I$(KM_KST_INC) -I$(KM_TOP)/uapi

# Boot modes (see km-test-vm) and extra kernel command line for all boots,
# e.g. VM_APPEND="HK_TEST=chaos HK_LOOPS=5" runs one test five times.
# qemu/run-vm.sh also reads VM_TIMEOUT, VM_SMP, VM_MEM and VM_DEBUG=1.
VM_MODES ?= nt-zero alloc-zero
VM_APPEND ?=
# Directories merged into the VM's root (qemu/run-vm.sh -O); executables in
# their tests/ run after the kselftests.  The top-level Makefile adds
# libhakmem's own tests this way.
VM_OVERLAYS ?=

# Extra modules for the VM (loop and nbd for the O_DIRECT tests, when present).
KM_VM_EXTRA_KO	= $(wildcard $(foreach m,loop nbd,$(addprefix /lib/modules/$(KVER)/kernel/drivers/block/$(m),.ko .ko.xz)))

.PHONY: module kselftest test-vm kmod-checkpatch kmod-deps vm-deps km-module km-test-vm dkms-install \
	km-dkms-install

kmod-deps:
	$(KM_TOP)/scripts/install-deps.sh kmod

vm-deps:
	$(KM_TOP)/scripts/install-deps.sh vm

# Dependencies first, in a separate make so that KVER is computed after
# the headers exist.
module: kmod-deps
	+$(MAKE) -f $(KM_VM_MK) BUILD="$(BUILD)" CC="$(CC)" km-module

test-vm: vm-deps
	+$(MAKE) -f $(KM_VM_MK) BUILD="$(BUILD)" CC="$(CC)" km-test-vm

km-module: $(KM_KO)

$(KM_KO): $(KM_KMOD_SRC) $(KM_UAPI)
	@test -n "$(KVER)" -a -d "$(KDIR)" || \
		{ echo "vm.mk: no kernel headers (KVER=$(KVER))" >&2; exit 1; }
	mkdir -p $(KM_KMOD_DIR)/uapi/linux
	cp -p $(KM_KMOD_SRC) $(KM_KMOD_DIR)/
	cp -p $(KM_UAPI) $(KM_KMOD_DIR)/uapi/linux/
	$(MAKE) -C $(KDIR) M=$(KM_KMOD_DIR) modules

$(KM_KST_INC)/kselftest_harness.h:
	mkdir -p $(KM_KST_INC)
	tar -xJf $(KSRC_TAR) -C $(KM_KST_INC) --strip-components=4 \
		$(KSRC_TOP)/tools/testing/selftests/kselftest_harness.h \
		$(KSRC_TOP)/tools/testing/selftests/kselftest.h
	touch $@

kselftest: $(KM_KST_BIN)

$(KM_KST_DIR)/bin/%: $(KM_TOP)/tests/kselftest/%.c $(KM_UAPI) $(KM_KST_INC)/kselftest_harness.h
	mkdir -p $(dir $@)
	$(CC) $(KM_KST_CFLAGS) -o $@ $<

# One boot per mode: nt-zero makes the pool zero pages itself (NT stores,
# init_on_alloc=0); alloc-zero relies on the page allocator's init_on_alloc.
km-test-vm: $(KM_KO) $(KM_KST_BIN)
	@rc=0; for m in $(VM_MODES); do \
		case $$m in \
		nt-zero) a=init_on_alloc=0 ;; \
		alloc-zero) a=init_on_alloc=1 ;; \
		*) echo "vm.mk: unknown mode $$m" >&2; exit 2 ;; \
		esac; \
		echo "test-vm: === mode $$m ($$a) ==="; \
		$(KM_TOP)/qemu/run-vm.sh -k $(VMLINUZ) -m $(KM_KO) \
			-t $(KM_KST_DIR)/bin -o $(KM_BUILD)/vm/$$m \
			$(foreach m,$(KM_VM_EXTRA_KO),-e $(m)) \
			$(foreach o,$(VM_OVERLAYS),-O $(o)) \
			-a "$$a $(VM_APPEND)" || rc=1; \
		echo "test-vm: mode $$m: $$(tail -n 1 $(KM_BUILD)/vm/$$m/result)"; \
	done; exit $$rc

KM_VERSION	:= $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(KM_TOP)/kmod/dkms.conf)
KM_DKMS_SRC	:= /usr/src/hakmem-$(KM_VERSION)
DKMS_KO		= /var/lib/dkms/hakmem/$(KM_VERSION)/$(KVER)/$(shell uname -m)/module/hakmem.ko

dkms-install: kmod-deps
	$(KM_TOP)/scripts/install-deps.sh dkms
	+$(MAKE) -f $(KM_VM_MK) BUILD="$(BUILD)" CC="$(CC)" km-dkms-install

# dkms builds in its own tree from a copy of the sources, as a package would.
km-dkms-install:
	rm -rf $(KM_DKMS_SRC)
	mkdir -p $(KM_DKMS_SRC)/uapi/linux
	cp $(KM_KMOD_SRC) $(KM_TOP)/kmod/dkms.conf $(KM_DKMS_SRC)/
	cp $(KM_UAPI) $(KM_DKMS_SRC)/uapi/linux/
	dkms remove -m hakmem -v $(KM_VERSION) --all >/dev/null 2>&1 || true
	dkms add -m hakmem -v $(KM_VERSION)
	dkms build -m hakmem -v $(KM_VERSION) -k $(KVER)
	dkms install -m hakmem -v $(KM_VERSION) -k $(KVER) --force
	@test -f $(DKMS_KO) && echo "dkms-install: built $(DKMS_KO)"

KM_CHECKPATCH := $(KM_BUILD)/checkpatch/checkpatch.pl

$(KM_CHECKPATCH):
	mkdir -p $(dir $@)
	tar -xJf $(KSRC_TAR) -C $(dir $@) --strip-components=2 \
		$(KSRC_TOP)/scripts/checkpatch.pl \
		$(KSRC_TOP)/scripts/spelling.txt \
		$(KSRC_TOP)/scripts/const_structs.checkpatch
	touch $@

kmod-checkpatch: $(KM_CHECKPATCH)
	$(KM_CHECKPATCH) --no-tree -f $(KM_TOP)/kmod/*.c $(KM_TOP)/kmod/*.h $(KM_UAPI)

.DEFAULT_GOAL := $(KM_SAVED_GOAL)
