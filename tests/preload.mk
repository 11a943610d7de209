# Black-box tests: the real library injected with LD_PRELOAD into plain
# programs (conformance, stress, real programs), plus the stress test under
# ThreadSanitizer through the hakmem_* API.  Included by tests/tests.mk.
#
#   make test-conformance   every malloc API entry point, one result per group;
#                           C++'s operator new and delete
#   make test-stress        threads, cross-thread frees, thread churn, fork;
#                           fork while threads race to set the allocator up
#   make test-tsan          the stress test built with -fsanitize=thread
#   make test-programs      python3, gcc, g++, git, sort, bash: same output as glibc
#   make test-backings      stress and conformance again on the populate backing
#
# PRELOAD_CONF_FLAGS=--any-allocator relaxes the hakmem-only conformance
# checks, for trying the tests with another allocator as LIB_SO.

TEST_RESULTS ?= $(BUILD)/tests/results
LIB_TSAN ?= $(BUILD)/tsan/libhakmem.a
PRELOAD_CONF_FLAGS ?=

PL_BIN := $(BUILD)/tests
PL_CONF := $(PL_BIN)/conformance
PL_STRESS := $(PL_BIN)/stress
PL_STRESS_TSAN := $(PL_BIN)/stress-tsan
PL_FORK_INIT := $(PL_BIN)/fork-init
PL_OPERATORS := $(PL_BIN)/operators
PL_RUN = tests/run-test.sh $(TEST_RESULTS)
PL_PRELOAD = env LD_PRELOAD=$(abspath $(LIB_SO))

# -fno-builtin: the tests call malloc & co. with sizes and pointers that are
# meant to reach the allocator; the compiler must not fold or drop the calls.
PL_CFLAGS := $(HK_CFLAGS) $(CFLAGS) -fno-builtin

PL_STRESS_TESTS := random xthread churn fork
PL_TSAN_TESTS := random xthread churn
PL_PROGRAMS := python gcc gxx git sort bash

# ThreadSanitizer: any report fails the test; iteration counts in percent.
PL_TSAN_OPTIONS := halt_on_error=1 exitcode=66 second_deadlock_stack=1
PL_TSAN_SCALE := 10

.PHONY: test-conformance test-stress test-programs test-tsan test-backings

$(PL_CONF): tests/conformance/conformance.c
	@mkdir -p $(@D)
	$(CC) $(PL_CFLAGS) -o $@ $< -ldl

$(PL_OPERATORS): tests/conformance/operators.cc
	@mkdir -p $(@D)
	$(CXX) -std=gnu++17 -O2 -g -Wall -Wextra -fno-builtin $(CXXFLAGS) -o $@ $<

$(PL_STRESS): tests/stress/stress.c tests/stress/talloc.h
	@mkdir -p $(@D)
	$(CC) $(PL_CFLAGS) -o $@ $< -ldl

$(PL_STRESS_TSAN): tests/stress/stress.c tests/stress/talloc.h $(LIB_TSAN)
	@mkdir -p $(@D)
	$(CC) $(HK_CFLAGS) -O1 -g -fno-builtin -fsanitize=thread -DSTRESS_HAKMEM_API \
		-Ilibhakmem -o $@ $< $(LIB_TSAN) -ldl

# Set-up must not have run before the test's threads start, so this one links
# the library's sources without the override, as the unit tests do.
$(PL_FORK_INIT): tests/stress/fork_init.c $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(CFLAGS) -o $@ $< $(LIB_SRCS)

test-conformance: $(LIB_SO) $(PL_CONF) $(PL_OPERATORS)
	@for g in $$($(PL_CONF) -l); do \
		$(PL_RUN) conformance-$$g $(PL_PRELOAD) $(PL_CONF) $(PRELOAD_CONF_FLAGS) $$g; \
	done
	@$(PL_RUN) conformance-cxx-operators $(PL_PRELOAD) $(PL_OPERATORS) \
		libhakmem "hakmem: free(): invalid pointer"

test-stress: $(LIB_SO) $(PL_STRESS) $(PL_FORK_INIT)
	@for t in $(PL_STRESS_TESTS); do \
		$(PL_RUN) stress-$$t $(PL_PRELOAD) $(PL_STRESS) $$t; \
	done
	@$(PL_RUN) stress-fork-init $(PL_FORK_INIT) 100

test-tsan: $(LIB_SO) $(PL_STRESS_TSAN)
	@for t in $(PL_TSAN_TESTS); do \
		$(PL_RUN) tsan-stress-$$t env TSAN_OPTIONS="$(PL_TSAN_OPTIONS)" \
			$(PL_STRESS_TSAN) $$t $(PL_TSAN_SCALE); \
	done

test-programs: $(LIB_SO)
	@for p in $(PL_PROGRAMS); do \
		$(PL_RUN) program-$$p tests/programs/run.sh $(abspath $(LIB_SO)) $$p; \
	done

# The populate backing adds a helper thread (and fork handling for it): run
# the tests that exercise threads, fork, memory reuse and the helpers'
# invisibility on it as well.
PL_POPULATE = $(PL_PRELOAD) HAKMEM_BACKING=populate

test-backings: $(LIB_SO) $(PL_STRESS) $(PL_CONF)
	@$(PL_RUN) populate-active sh -c '$(PL_POPULATE) HAKMEM_STATS=1 $(PL_STRESS) random 1 2>&1 | \
		grep -q "backing populate"'
	@for t in $(PL_STRESS_TESTS); do \
		$(PL_RUN) populate-stress-$$t $(PL_POPULATE) $(PL_STRESS) $$t; \
	done
	@for g in calloc-dirty realloc align trim-rss unshare-user unshare-vfork setns-mnt \
			helper-signals; do \
		$(PL_RUN) populate-conformance-$$g $(PL_POPULATE) $(PL_CONF) $$g; \
	done
