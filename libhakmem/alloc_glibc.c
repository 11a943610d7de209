// SPDX-License-Identifier: MIT
/*
 * glibc's own malloc extras (malloc.h): malloc_trim, malloc_stats,
 * mallinfo2, mallinfo and mallopt, which programs written for glibc call
 * and expect to find whatever the malloc.
 */
#include <malloc.h>

#include "alloc.h"

#ifndef HAKMEM_NO_OVERRIDE

HK_EXPORT int malloc_trim(size_t pad)
{
	(void)pad;
	return hk_trim();
}

HK_EXPORT void malloc_stats(void)
{
	hk_stats_print();
}

HK_EXPORT struct mallinfo2 mallinfo2(void)
{
	struct mallinfo2 mi;

	hk_stats_mallinfo(&mi);
	return mi;
}

HK_EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 mi2;
	struct mallinfo mi = { 0 };

	hk_stats_mallinfo(&mi2);
	mi.arena = (int)mi2.arena;
	mi.hblks = (int)mi2.hblks;
	mi.hblkhd = (int)mi2.hblkhd;
	mi.uordblks = (int)mi2.uordblks;
	mi.fordblks = (int)mi2.fordblks;
	return mi;
}

/*
 * hakmem sizes its caches and decay itself; glibc's knobs (arena count,
 * trim and mmap thresholds, ...) are accepted and have no effect.
 */
HK_EXPORT int mallopt(int param, int value)
{
	(void)param;
	(void)value;
	return 1;
}

#endif /* HAKMEM_NO_OVERRIDE */
