/* SPDX-License-Identifier: MIT */
/*
 * A minimal TAP producer for the unit tests: CHECK() records a failure with
 * its location and carries on, so one run reports every broken expectation.
 */
#ifndef HAKMEM_UNIT_H
#define HAKMEM_UNIT_H

#include <stdio.h>
#include <stdlib.h>

static int unit_failures, unit_case_failed, unit_cases;

#define CHECK(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "# %s:%d: CHECK(%s) failed: ",		\
				__FILE__, __LINE__, #cond);			\
			fprintf(stderr, __VA_ARGS__);				\
			fputc('\n', stderr);					\
			unit_case_failed = 1;					\
		}								\
	} while (0)

static inline void unit_run(const char *name, void (*fn)(void))
{
	unit_case_failed = 0;
	fn();
	unit_cases++;
	printf("%s %d - %s\n", unit_case_failed ? "not ok" : "ok", unit_cases, name);
	fflush(stdout);
	unit_failures += unit_case_failed;
}

static inline int unit_done(void)
{
	printf("1..%d\n", unit_cases);
	printf("%d passed, %d failed\n", unit_cases - unit_failures, unit_failures);
	return unit_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* HAKMEM_UNIT_H */
