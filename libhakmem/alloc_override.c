// SPDX-License-Identifier: MIT
/*
 * The standard C and POSIX names of the malloc family, which make hakmem
 * the program's malloc (LD_PRELOAD, or linked before the C library).
 * malloc and free inline alloc.h's fast paths; the rest call alloc.c.  A
 * build that sits beside another malloc (HAKMEM_NO_OVERRIDE: the unit
 * tests under a sanitizer) has only the hakmem_* names.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "alloc.h"

#ifndef HAKMEM_NO_OVERRIDE

HK_EXPORT void *malloc(size_t size)
{
	return hk_malloc(size);
}

HK_EXPORT void free(void *p)
{
	hk_free(p);
}

HK_EXPORT void *calloc(size_t count, size_t size)
{
	return hk_calloc(count, size);
}

HK_EXPORT void *realloc(void *p, size_t size)
{
	return hk_realloc(p, size);
}

HK_EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(count, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return hk_realloc(p, bytes);
}

HK_EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
	return hk_posix_memalign(out, alignment, size);
}

HK_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
	return hk_memalign(alignment, size);
}

HK_EXPORT void *memalign(size_t alignment, size_t size)
{
	return hk_memalign(alignment, size);
}

HK_EXPORT void *valloc(size_t size)
{
	return hk_aligned(HK_OS_PAGE, size);
}

HK_EXPORT void *pvalloc(size_t size)
{
	size_t rounded = hk_align_up(size ? size : 1, HK_OS_PAGE);

	if (rounded < size) {
		errno = ENOMEM;
		return NULL;
	}
	return hk_aligned(HK_OS_PAGE, rounded);
}

HK_EXPORT size_t malloc_usable_size(void *p)
{
	return hk_usable(p);
}

/* C23; glibc 2.36's <stdlib.h> predates them.  The sizes are hints hakmem does not need. */
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t alignment, size_t size);

HK_EXPORT void free_sized(void *p, size_t size)
{
	(void)size;
	hk_free(p);
}

HK_EXPORT void free_aligned_sized(void *p, size_t alignment, size_t size)
{
	(void)alignment;
	(void)size;
	hk_free(p);
}

#endif /* HAKMEM_NO_OVERRIDE */
