# hakmem.ko from the top-level make (included by ./Makefile).  The module is
# built by kmod/Makefile, its one build route, in a copy of its source tree
# per kernel release, $(BUILD)/kmod/<release>: the source tree stays clean
# and kernels build side by side.
#
#   make module [KVER=release]  $(BUILD)/kmod/KVER/hakmem.ko; KVER defaults to
#                               the running kernel (plain `make` builds the
#                               module only when its headers are installed),
#                               in a build root if KVER's headers are there
#   make dkms-install [KVER=…]  install the sources in /usr/src, then dkms
#                               add, build and install them for KVER
#   make kmod-checkpatch        checkpatch.pl --no-tree over kmod/ and uapi/
#
# The kernels the module supports are those kmod/dkms.conf names in
# BUILD_EXCLUSIVE_KERNEL (the same range kmod/compat.h accepts).

KVER ?= $(shell uname -r)
KM_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kmod/dkms.conf)
KM_SUPPORTED := $(shell sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"/\1/p' kmod/dkms.conf)
KM_SRCS := $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild kmod/Makefile kmod/dkms.conf \
	uapi/linux/hakmem.h
km_ko = $(BUILD)/kmod/$(1)/hakmem.ko
KM_KO = $(call km_ko,$(KVER))

# Build roots (scripts/build-root.sh, made by scripts/install-deps.sh roots)
# hold the kernels whose compiler the host does not have: a kernel whose
# headers are in a root is built there, with the root's compiler.
KM_ROOTS := $(patsubst %/.complete,%,$(wildcard $(BUILD)/roots/*/.complete))
# The root that has headers for release $(1), or nothing for the host's.
km_root = $(firstword $(foreach r,$(KM_ROOTS),$(if $(wildcard \
	$(r)/usr/src/linux-headers-$(1)/Makefile),$(r))))

# Every kernel (image and headers) that the module supports, on the host or
# in a root, oldest first; km_sysroot gives the file system a release's
# /boot and /lib/modules are in ("" for the host's).
KM_KERNELS := $(shell for d in / $(addsuffix /,$(KM_ROOTS)); do \
	for k in $$(ls $$d/boot 2>/dev/null | sed -n 's/^vmlinuz-//p'); do \
	{ [ -d /lib/modules/$$k/build ] || [ -e $$d/usr/src/linux-headers-$$k/Makefile ]; } && echo $$k | grep -E '$(KM_SUPPORTED)'; \
	done; done | sort -uV)
# The configuration release $(1) was built with.
km_config = $(if $(call km_root,$(1)),$(call km_root,$(1))/usr/src/linux-headers-$(1),/lib/modules/$(1)/build)/.config
km_sysroot = $(if $(wildcard /boot/vmlinuz-$(1)),,$(call km_root,$(1)))

.PHONY: module module-if-headers dkms-install kmod-checkpatch

module: $(KM_KO)

module-if-headers:
	@if [ -d /lib/modules/$(KVER)/build ]; then \
		$(MAKE) --no-print-directory module; \
	else \
		echo "make: hakmem.ko not built: no headers for $(KVER) (make module KVER=…)"; \
	fi

$(BUILD)/kmod/%/hakmem.ko: $(KM_SRCS)
	rm -rf $(@D)
	$(MAKE) -C kmod --no-print-directory dist DEST=$(abspath $(@D))
	$(if $(call km_root,$*),scripts/build-root.sh make $(call km_root,$*) $(@D) KVER=$*,$(MAKE) -C $(@D) KVER=$*)

KM_DKMS_SRC := /usr/src/hakmem-$(KM_VERSION)

dkms-install:
	rm -rf $(KM_DKMS_SRC)
	$(MAKE) -C kmod --no-print-directory dist DEST=$(KM_DKMS_SRC)
	dkms remove -m hakmem -v $(KM_VERSION) --all >/dev/null 2>&1 || true
	dkms add -m hakmem -v $(KM_VERSION)
	dkms build -m hakmem -v $(KM_VERSION) -k $(KVER)
	dkms install -m hakmem -v $(KM_VERSION) -k $(KVER) --force
	@echo "dkms-install: built" /var/lib/dkms/hakmem/$(KM_VERSION)/$(KVER)/*/module/hakmem.ko*

KSRC_TAR ?= $(firstword $(wildcard /usr/src/linux-source-*.tar.xz) /usr/src/linux-source-6.1.tar.xz)
KSRC_TOP = $(basename $(basename $(notdir $(KSRC_TAR))))
KM_CHECKPATCH := $(BUILD)/checkpatch/checkpatch.pl

$(KM_CHECKPATCH):
	mkdir -p $(dir $@)
	tar -xJf $(KSRC_TAR) -C $(dir $@) --strip-components=2 \
		$(KSRC_TOP)/scripts/checkpatch.pl \
		$(KSRC_TOP)/scripts/spelling.txt \
		$(KSRC_TOP)/scripts/const_structs.checkpatch
	touch $@

kmod-checkpatch: $(KM_CHECKPATCH)
	$(MAKE) -C kmod --no-print-directory checkpatch CHECKPATCH=$(abspath $(KM_CHECKPATCH))
