/* SPDX-License-Identifier: MIT */
/*
 * Size classes.
 *
 * Every block size is a multiple of 16 so that every pointer is aligned for
 * max_align_t.  Up to 256 bytes the classes are 16 bytes apart; above that
 * there are eight classes per power of two, so a request never wastes more
 * than 12.5% to rounding.
 *
 *   tiny   16 .. 1 KiB      classes  0..31, one 64 KiB page per slab
 *   mid    1 KiB .. 256 KiB classes 32..95, slabs of 1..16 pages
 *   large  above 256 KiB    a mapping of its own (large.c)
 *
 * malloc finds the slab of any size up to HK_DIRECT_MAX (4 KiB) in one
 * load from a per-heap table; larger sizes compute their class on the slow
 * path.  The mid/large boundary is where a block
 * stops fitting eight times into a 1 MiB slab and a dedicated mapping with
 * a reuse cache becomes cheaper (see Documentation/design.rst).
 */
#ifndef HAKMEM_SIZE_CLASS_H
#define HAKMEM_SIZE_CLASS_H

#include <stddef.h>
#include <stdint.h>

#define HK_ALIGN		16
#define HK_TINY_MAX		1024
#define HK_MID_MAX		(256 * 1024)
#define HK_CLASSES		96
/*
 * Sizes up to HK_DIRECT_MAX are looked up directly by (size + 15) / 16: the
 * sizes programs ask for most (objects, strings, stdio's 4 KiB buffers) take
 * malloc's fast path, for 2 KiB of table per heap.  It is a class size, so
 * every class is either wholly in the table or wholly out of it.
 */
#define HK_DIRECT_MAX		4096
#define HK_DIRECT_SLOTS		(HK_DIRECT_MAX / HK_ALIGN + 1)

static inline unsigned int hk_size_class(size_t size)
{
	unsigned int w;

	if (size <= 256)
		return size ? (unsigned int)((size - 1) >> 4) : 0;
	w = 63 - (unsigned int)__builtin_clzl(size - 1);
	return 16 + (w - 8) * 8 + (unsigned int)(((size - 1) >> (w - 3)) & 7);
}

static inline size_t hk_class_size(unsigned int cls)
{
	unsigned int w, sub;

	if (cls < 16)
		return (size_t)(cls + 1) << 4;
	w = 8 + (cls - 16) / 8;
	sub = (cls - 16) % 8;
	return ((size_t)1 << w) + ((size_t)(sub + 1) << (w - 3));
}

static inline unsigned int hk_direct_slot(size_t size)
{
	return (unsigned int)((size + HK_ALIGN - 1) / HK_ALIGN);
}

#endif /* HAKMEM_SIZE_CLASS_H */
