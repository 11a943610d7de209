/*
 * The allocator entry points the stress test calls.
 *
 * Normally these are the standard names, so the test exercises whatever
 * allocator is interposed with LD_PRELOAD.  ThreadSanitizer replaces malloc
 * itself, so the TSan build (-DSTRESS_HAKMEM_API) calls hakmem's own API from
 * the statically linked, TSan-instrumented library instead.
 */
#ifndef STRESS_TALLOC_H
#define STRESS_TALLOC_H

#include <stddef.h>

#ifdef STRESS_HAKMEM_API
# if defined(__has_include) && __has_include(<hakmem.h>)
#  include <hakmem.h>
# else
/* Same signatures as the standard functions they mirror. */
void *hakmem_malloc(size_t size);
void *hakmem_calloc(size_t nmemb, size_t size);
void *hakmem_realloc(void *ptr, size_t size);
void hakmem_free(void *ptr);
int hakmem_posix_memalign(void **memptr, size_t alignment, size_t size);
size_t hakmem_usable_size(void *ptr);
# endif
# define T_MALLOC hakmem_malloc
# define T_CALLOC hakmem_calloc
# define T_REALLOC hakmem_realloc
# define T_FREE hakmem_free
# define T_POSIX_MEMALIGN hakmem_posix_memalign
# define T_USABLE_SIZE hakmem_usable_size
# define T_API_NAME "hakmem_* API"
#else
# include <malloc.h>
# include <stdlib.h>
# define T_MALLOC malloc
# define T_CALLOC calloc
# define T_REALLOC realloc
# define T_FREE free
# define T_POSIX_MEMALIGN posix_memalign
# define T_USABLE_SIZE malloc_usable_size
# define T_API_NAME "standard malloc API"
#endif

#endif
