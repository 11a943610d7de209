// SPDX-License-Identifier: MIT
/*
 * The chunk map: one byte per 2 MiB chunk of the user address space,
 * saying whether the chunk holds a SuperSlab, the header of a large block,
 * or nothing of ours.  free() consults it before touching any header, so
 * a pointer hakmem never handed out is reported instead of followed.
 *
 * The map has two levels (internal.h): a small root in .bss and leaves
 * mapped when a chunk they cover is first set.  A flat map would be 64 MiB
 * of writable .bss, which the kernel charges to every process in full
 * under strict overcommit (vm.overcommit_memory=2) although almost none
 * of it is ever touched.  Leaves are never unmapped: a reader may hold one
 * at any time, and a process has a handful.
 *
 * Writers own the chunk they describe, so a relaxed store is enough;
 * readers learn of a chunk's blocks only through the owner.  A leaf is
 * published with release order and read with acquire (consume) order,
 * although fresh memory reads as zero either way.
 */
#include "internal.h"

_Atomic(uint8_t *) hk_chunk_root[HK_CHUNK_LEAVES];

/* The leaf for @index, mapped if missing; NULL if no memory is left. */
static uint8_t *leaf_for(uintptr_t index)
{
	_Atomic(uint8_t *) *slot = &hk_chunk_root[index >> HK_CHUNK_LEAF_BITS];
	uint8_t *leaf = atomic_load_explicit(slot, memory_order_acquire);
	uint8_t *mine;

	if (leaf)
		return leaf;
	mine = hk_os_map(HK_CHUNK_LEAF_SIZE);
	if (!mine)
		return NULL;
	if (atomic_compare_exchange_strong_explicit(slot, &leaf, mine, memory_order_acq_rel,
						    memory_order_acquire))
		return mine;
	hk_os_unmap(mine, HK_CHUNK_LEAF_SIZE);	/* another thread mapped it first */
	return leaf;
}

bool hk_chunk_map_set(const void *chunk, unsigned int kind)
{
	uintptr_t index = (uintptr_t)chunk >> HK_SS_SHIFT;
	uint8_t *leaf;

	if (index >= HK_CHUNKS)
		return false;
	leaf = leaf_for(index);
	if (!leaf)
		return false;
	__atomic_store_n(&leaf[index & (HK_CHUNK_LEAF_SIZE - 1)], (uint8_t)kind,
			 __ATOMIC_RELAXED);
	return true;
}
