// SPDX-License-Identifier: MIT
/*
 * The chunk map: one byte per 2 MiB chunk of the user address space,
 * saying whether the chunk holds a SuperSlab, the header of a large block,
 * or nothing of ours.  free() consults it before touching any header, so
 * a pointer hakmem never handed out is reported instead of followed.
 *
 * The map is flat (internal.h): the free() fast path pays one load for it.
 * Writers own the chunk they describe, so a relaxed store is enough;
 * readers learn of a chunk's blocks only through the owner.
 */
#include "internal.h"

uint8_t hk_chunk_map[HK_CHUNKS];

bool hk_chunk_map_set(const void *chunk, unsigned int kind)
{
	uintptr_t index = (uintptr_t)chunk >> HK_SS_SHIFT;

	if (index >= HK_CHUNKS)
		return false;
	__atomic_store_n(&hk_chunk_map[index], (uint8_t)kind, __ATOMIC_RELAXED);
	return true;
}
