// SPDX-License-Identifier: MIT
/*
 * SuperSlab backings.  A backing hands out 2 MiB-aligned, zero-filled
 * regions and takes them back; the allocator never asks where they came
 * from, and only SuperSlab slow paths call it.  HAKMEM_BACKING picks one:
 *
 *   mmap      anonymous memory; the kernel faults and zeroes each page on
 *             first touch, on the allocating thread
 *   populate  the same memory, pre-faulted a few SuperSlabs ahead of demand
 *             by a SCHED_IDLE helper thread (backing_populate.c)
 *   kmod      regions from /dev/hakmem (hakmem.ko): zeroed and mapped
 *             before they are handed out (backing_kmod.c)
 *   auto      kmod when the device opens and its memory takes process-shared
 *             futexes (robust and pshared pthread objects in malloc'd
 *             memory), else mmap
 */
#include <stdio.h>

#include "internal.h"

static void *mmap_backing_map(size_t size)
{
	return hk_os_map_aligned(size, HK_SS_SIZE, false);
}

const struct hk_backing hk_mmap_backing = {
	.name	= "mmap",
	.map	= mmap_backing_map,
	.unmap	= hk_os_unmap,
	.purge	= hk_os_purge,
};

const struct hk_backing *hk_backing = &hk_mmap_backing;

void hk_backing_init(void)
{
	switch (hk_options.backing) {
	case HK_BACKING_AUTO:
		if (hk_kmod_backing_open(false))
			hk_backing = &hk_kmod_backing;
		break;
	case HK_BACKING_KMOD:
		if (hk_kmod_backing_open(true))
			hk_backing = &hk_kmod_backing;
		break;
	case HK_BACKING_POPULATE:
		hk_backing = &hk_populate_backing;
		break;
	case HK_BACKING_MMAP:
		break;
	}
}
