# Tests.  `make test` runs every suite and ends with "N passed, N failed".
TEST_RESULTS := $(BUILD)/tests/results

-include tests/preload.mk
