# Tests.  `make test` runs every suite, native and (with the module) in the
# VM, and ends with one line "N passed, N failed"; it fails if any failed.
#
#   make test-unit          internals, plain and under ASan+UBSan
#   make test-layers        libhakmem's files call and share data one way only
#   make test-conformance   the API under LD_PRELOAD (tests/preload.mk)
#   make test-stress        threads, remote frees, fork (tests/preload.mk)
#   make test-tsan          the stress test under ThreadSanitizer
#   make test-programs      python3, gcc, g++, git, sort, bash under LD_PRELOAD
#   make test-checkpatch    checkpatch.pl --no-tree over kmod/ and uapi/
#   make test-modules       hakmem.ko builds, without a warning, for every
#                           supported kernel on the host or in a build root
#   make test-install       make install, then the wrapper, shared and static links
#   make test-deb           the Debian packages: build, install, check, purge (root)
#   make test-deb-root      hakmem-dkms in the Debian 13 build root: DKMS builds
#                           the module there for each of its kernels (root)
#   make test-vm            hakmem.ko's kselftests in QEMU, every supported
#                           installed kernel (qemu/vm.mk), libhakmem on the
#                           kmod backing, and the real programs (python3,
#                           git, sort, bash) on it in the alloc-zero boots

TEST_RESULTS := $(BUILD)/tests/results
RUN_TEST := tests/run-test.sh $(TEST_RESULTS)
TEST_SUITES := test-unit test-layers test-checkpatch test-modules test-install test-deb test-deb-root test-conformance test-stress test-tsan \
	test-backings test-programs test-vm-suite

.PHONY: test test-begin $(TEST_SUITES)

# The suites run one after another so that the final summary sees them all.
test:
	@$(MAKE) --no-print-directory test-begin
	@$(MAKE) --no-print-directory -k $(TEST_SUITES) || true
	@tests/summarize.sh $(TEST_RESULTS)

test-begin:
	@mkdir -p $(dir $(TEST_RESULTS))
	@: > $(TEST_RESULTS)

# Unit tests link the shipped library's objects (the program's malloc is
# hakmem's too).  The ASan+UBSan build compiles the same sources without the
# malloc override, since the sanitizer owns malloc there.
UNIT_CFLAGS := $(HK_CFLAGS) -Ilibhakmem -Iuapi -Itests/unit
UNIT_PLAIN := $(BUILD)/tests/unit/test_internals
UNIT_ASAN := $(BUILD)/tests/unit/test_internals-asan

$(UNIT_PLAIN): tests/unit/test_internals.c tests/unit/unit.h $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(CFLAGS) -o $@ tests/unit/test_internals.c $(LIB_OBJS)

$(UNIT_ASAN): tests/unit/test_internals.c tests/unit/unit.h $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -DHAKMEM_NO_OVERRIDE -O1 -g $(LIB_ASAN_CFLAGS) -fno-sanitize-recover=all \
		-o $@ tests/unit/test_internals.c $(LIB_SRCS)

test-unit: $(UNIT_PLAIN) $(UNIT_ASAN)
	@$(RUN_TEST) unit $(UNIT_PLAIN)
	@$(RUN_TEST) unit-asan-ubsan $(UNIT_ASAN)

# libhakmem's tests in the VM, on the kmod backing: the script and the
# dynamic binaries it runs, with their shared libraries (qemu/userland.sh);
# and the hakmem command, whose status the kselftest hakmem_status_test
# checks.
VM_LIB_OVERLAY := $(BUILD)/vm/libhakmem-overlay
VM_LIB_BINS := $(LIB_SO) $(BUILD)/tests/conformance $(BUILD)/tests/stress \
	$(BUILD)/bench/fresh-touch
export VM_OVERLAYS := $(abspath $(VM_LIB_OVERLAY))

# libhakmem-programs runs the host's own programs (its / shared into the VM).
# It sorts after libhakmem-kmod: run before it, in two boots out of two the
# fork stress test's child then overran its 10 s limit (TCG; the pool was
# refilling the 1.3 GiB the programs had taken), which it never did otherwise.
$(VM_LIB_OVERLAY)/tests/libhakmem-kmod: tests/vm/libhakmem-kmod.sh tests/vm/host-programs.sh tests/tests.mk \
		qemu/userland.sh scripts/hakmem $(VM_LIB_BINS)
	rm -rf $(VM_LIB_OVERLAY)
	mkdir -p $(@D)
	qemu/userland.sh $(VM_LIB_OVERLAY) /opt/hakmem $(VM_LIB_BINS)
	cp scripts/hakmem $(VM_LIB_OVERLAY)/opt/hakmem/hakmem
	cp tests/vm/host-programs.sh $(@D)/libhakmem-programs
	cp $< $@

test-vm: $(VM_LIB_OVERLAY)/tests/libhakmem-kmod

# The VM run (boot, tests, kernel-log check) as one result, then each test
# case the guest ran as one result of its own.
test-vm-suite:
	@rm -f $(foreach b,$(VM_BOOTS),$(BUILD)/vm/$(b)/console.log)
	@$(RUN_TEST) vm-kselftests $(MAKE) --no-print-directory test-vm
	@tests/vm-results.sh $(TEST_RESULTS) $(BUILD) $(VM_BOOTS)

# The library's objects again, with gcc's call graph of each (.ci files).
LAYERS_DIR := $(BUILD)/layers
LAYERS_CI := $(LIB_SRCS:libhakmem/%.c=$(LAYERS_DIR)/%.ci)

$(LAYERS_DIR)/%.ci: libhakmem/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -fcallgraph-info -c $< -o $(LAYERS_DIR)/$*.o

test-layers: $(LAYERS_CI)
	@$(RUN_TEST) layers python3 tests/layers/check.py $(LAYERS_CI)

test-checkpatch:
	@$(RUN_TEST) kmod-checkpatch $(MAKE) --no-print-directory kmod-checkpatch

# Each build from scratch; it passes if it prints no warning and the module
# was built by the compiler that built its kernel (tests/module-compiler.sh).
test-modules:
	@$(foreach k,$(KM_KERNELS),$(RUN_TEST) module-$(k) sh -c 'out=$$($(MAKE) \
		--no-print-directory -B $(call km_ko,$(k)) 2>&1); rc=$$?; echo "$$out"; \
		[ $$rc -eq 0 ] && ! echo "$$out" | grep -q "warning:" && \
		tests/module-compiler.sh $(call km_ko,$(k)) $(call km_config,$(k))';)

test-install: lib
	@$(RUN_TEST) install tests/install/run.sh

test-deb:
	@$(RUN_TEST) deb tests/deb/run.sh $(BUILD)

# After test-deb, which leaves the packages it built in $(BUILD)/deb.
test-deb-root:
	@$(RUN_TEST) deb-root tests/deb/root.sh $(BUILD)/roots/trixie $(BUILD)/deb

include tests/preload.mk
