/* SPDX-License-Identifier: MIT */
/*
 * hakmem — a kernel-assisted memory allocator.
 *
 * Linking libhakmem (or preloading libhakmem.so) replaces the standard
 * malloc family.  The hakmem_* names below are the same allocator under its
 * own names: they are always exported, also from builds that do not override
 * malloc (e.g. the sanitizer builds used by the tests).
 */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HAKMEM_VERSION_MAJOR 0
#define HAKMEM_VERSION_MINOR 1
#define HAKMEM_VERSION_PATCH 0

void *hakmem_malloc(size_t size);
void *hakmem_calloc(size_t count, size_t size);
void *hakmem_realloc(void *ptr, size_t size);
void hakmem_free(void *ptr);
int hakmem_posix_memalign(void **out, size_t alignment, size_t size);
void *hakmem_aligned_alloc(size_t alignment, size_t size);
size_t hakmem_usable_size(const void *ptr);

/* Return cached and unused memory to the OS; 1 if anything was released. */
int hakmem_trim(void);

/* Print the statistics summary (what HAKMEM_STATS=1 prints at exit). */
void hakmem_print_stats(void);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_H */
