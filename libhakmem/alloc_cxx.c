// SPDX-License-Identifier: MIT
/*
 * C++'s operator new and delete, under their Itanium C++ ABI names.
 *
 * C++ programs reach malloc through operator new and delete, which the C++
 * runtime implements by calling malloc and free: two calls and a PLT jump
 * more per pair.  Like mimalloc, jemalloc and
 * tcmalloc, hakmem defines the operators itself, under their Itanium C++
 * ABI names (size_t is "m"; std::align_val_t is a size_t and
 * std::nothrow_t, empty, is passed by reference).
 *
 * C cannot throw.  When hakmem has no memory, the operator new the
 * program would have had (the C++ runtime's, the next definition after
 * this library) takes over: it calls malloc again, runs the new_handler,
 * and throws std::bad_alloc or, for the nothrow forms, returns NULL, as
 * the standard asks.  new[] is new in every C++ runtime, so each array
 * form is an alias, and falls back on the single-object form.  A program
 * linked with libhakmem.a and a static C++ runtime has no next definition
 * and stops with a message instead.
 */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "alloc.h"

#ifndef HAKMEM_NO_OVERRIDE

_Static_assert(__builtin_types_compatible_p(size_t, unsigned long),
	       "operator new's names below spell size_t as unsigned long");

typedef void *hk_new_fn(size_t size);
typedef void *hk_new_nothrow_fn(size_t size, const void *nothrow);
typedef void *hk_new_aligned_fn(size_t size, size_t alignment);
typedef void *hk_new_aligned_nothrow_fn(size_t size, size_t alignment, const void *nothrow);

static HK_COLD void *hk_next_new(const char *name)
{
	void *next = dlsym(RTLD_NEXT, name);

	if (!next)
		hk_fatal("operator new: out of memory, and no C++ runtime to report it", NULL);
	return next;
}

#define HK_NEW(name, array_name, type, params, alloc, args)			\
	HK_EXPORT type name;							\
	HK_EXPORT type array_name __attribute__((alias(#name)));		\
	void *name params							\
	{									\
		void *p = alloc;						\
										\
		if (unlikely(!p))						\
			p = ((type *)hk_next_new(#name))args;			\
		return p;							\
	}
HK_NEW(_Znwm, _Znam, hk_new_fn, (size_t size), hk_malloc(size), (size))
HK_NEW(_ZnwmRKSt9nothrow_t, _ZnamRKSt9nothrow_t, hk_new_nothrow_fn,
       (size_t size, const void *nothrow), hk_malloc(size), (size, nothrow))
HK_NEW(_ZnwmSt11align_val_t, _ZnamSt11align_val_t, hk_new_aligned_fn,
       (size_t size, size_t alignment), hk_memalign(alignment, size), (size, alignment))
HK_NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, _ZnamSt11align_val_tRKSt9nothrow_t,
       hk_new_aligned_nothrow_fn, (size_t size, size_t alignment, const void *nothrow),
       hk_memalign(alignment, size), (size, alignment, nothrow))

/*
 * Every form of operator delete is free(): hakmem needs neither the size
 * nor the alignment (an over-aligned block is freed by its own pointer).
 */
#define HK_UNUSED	__attribute__((unused))
#define HK_DELETE(name, array_name, ...)					\
	HK_EXPORT void name(void *p, ##__VA_ARGS__);				\
	HK_EXPORT void array_name(void *p, ##__VA_ARGS__) __attribute__((alias(#name))); \
	void name(void *p, ##__VA_ARGS__)					\
	{									\
		hk_free(p);							\
	}
HK_DELETE(_ZdlPv, _ZdaPv)
HK_DELETE(_ZdlPvm, _ZdaPvm, size_t size HK_UNUSED)
HK_DELETE(_ZdlPvRKSt9nothrow_t, _ZdaPvRKSt9nothrow_t, const void *nothrow HK_UNUSED)
HK_DELETE(_ZdlPvSt11align_val_t, _ZdaPvSt11align_val_t, size_t alignment HK_UNUSED)
HK_DELETE(_ZdlPvmSt11align_val_t, _ZdaPvmSt11align_val_t,
	  size_t size HK_UNUSED, size_t alignment HK_UNUSED)
HK_DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, _ZdaPvSt11align_val_tRKSt9nothrow_t,
	  size_t alignment HK_UNUSED, const void *nothrow HK_UNUSED)

#endif /* HAKMEM_NO_OVERRIDE */
