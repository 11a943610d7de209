// SPDX-License-Identifier: MIT
/*
 * Linked (not preloaded) against an installed libhakmem, shared or static:
 * malloc must be hakmem's.  hakmem's 1-byte block is 16 bytes usable
 * (glibc's is 24), and hakmem_usable_size() must agree with the standard name.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hakmem.h>

int main(void)
{
	char *p = malloc(1), *q = malloc(100000), *big = malloc(8 << 20);

	if (!p || !q || !big) {
		fprintf(stderr, "allocation failed\n");
		return 1;
	}
	memset(big, 1, 8 << 20);
	if (malloc_usable_size(p) != 16 || hakmem_usable_size(q) != malloc_usable_size(q) ||
	    hakmem_usable_size(big) != malloc_usable_size(big)) {
		fprintf(stderr, "malloc is not hakmem's: usable sizes %zu, %zu/%zu\n",
			malloc_usable_size(p), hakmem_usable_size(q), malloc_usable_size(q));
		return 1;
	}
	free(big);
	free(q);
	free(p);
	puts("linked: malloc is hakmem's");
	return 0;
}
