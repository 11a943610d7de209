// SPDX-License-Identifier: MIT
/*
 * Reporting misuse: one line on standard error, then abort().  Written
 * with write(2) and no formatting library, because the heap that would
 * serve stdio may be the thing that is broken.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
static void write_str(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));

	(void)r;
}

void hk_fatal(const char *what, const void *p)
{
	char hex[2 + 16 + 1];
	uintptr_t u = (uintptr_t)p;
	int i = sizeof(hex) - 1;

	hex[i] = '\0';
	do {
		hex[--i] = "0123456789abcdef"[u & 15];
		u >>= 4;
	} while (u && i > 2);
	hex[--i] = 'x';
	hex[--i] = '0';
	write_str("hakmem: ");
	write_str(what);
	write_str(": ");
	write_str(hex + i);
	write_str("\n");
	abort();
}
