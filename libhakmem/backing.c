// SPDX-License-Identifier: MIT
/*
 * SuperSlab backings.  A backing hands out 2 MiB-aligned, zero-filled
 * regions and takes them back; the allocator never asks where they came
 * from.  The plain backing is anonymous mmap: pages are faulted in and
 * zeroed by the kernel on first touch.  The /dev/hakmem backing (pre-zeroed,
 * pre-mapped regions from hakmem.ko) slots in here without touching any
 * allocation path.
 */
#include "internal.h"

static void *mmap_backing_map(size_t size)
{
	return hk_os_map_aligned(size, HK_SS_SIZE, false);
}

static const struct hk_backing mmap_backing = {
	.name	= "mmap",
	.map	= mmap_backing_map,
	.unmap	= hk_os_unmap,
	.purge	= hk_os_purge,
};

const struct hk_backing *hk_backing = &mmap_backing;
