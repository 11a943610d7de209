// SPDX-License-Identifier: MIT
/*
 * The chunk map: one byte per 2 MiB chunk of the 47-bit address space,
 * saying whether the chunk holds a SuperSlab, the header of a large block,
 * or nothing of ours.  free() consults it before touching any header, so
 * a pointer hakmem never handed out is reported instead of followed.
 *
 * hk_superslab_bits mirrors the SuperSlab entries for the free() fast path.
 *
 * Two levels keep the byte map small: the first (1 MiB, in .bss, mostly never
 * touched) points to 512-byte second-level tables, one per GiB that hakmem
 * has ever used.  Second-level tables are never freed, so a reader needs no
 * lock; writers publish a new table with a release store under hk_map_lock.
 */
#include "internal.h"

uint8_t *hk_chunk_map[HK_MAP_L1_ENTRIES];
uint64_t hk_superslab_bits[((size_t)1 << (HK_ADDR_BITS - HK_SS_SHIFT)) / 64];

pthread_mutex_t hk_map_lock = PTHREAD_MUTEX_INITIALIZER;

bool hk_chunk_map_set(const void *chunk, unsigned int kind)
{
	uintptr_t u = (uintptr_t)chunk;
	uint8_t **slot, *l2;
	uint64_t *bits, mask;

	if ((u >> HK_ADDR_BITS) != 0)
		return false;
	slot = &hk_chunk_map[u >> HK_MAP_L2_SHIFT];
	l2 = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!l2) {
		pthread_mutex_lock(&hk_map_lock);
		l2 = *slot;
		if (!l2) {
			l2 = hk_meta_alloc(HK_MAP_L2_ENTRIES);
			if (l2)
				__atomic_store_n(slot, l2, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&hk_map_lock);
		if (!l2)
			return false;
	}
	__atomic_store_n(&l2[(u >> HK_SS_SHIFT) & (HK_MAP_L2_ENTRIES - 1)],
			 (uint8_t)kind, __ATOMIC_RELAXED);
	mask = (uint64_t)1 << ((u >> HK_SS_SHIFT) % 64);
	bits = &hk_superslab_bits[(u >> HK_SS_SHIFT) / 64];
	if (kind == HK_CHUNK_SUPERSLAB)
		__atomic_fetch_or(bits, mask, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(bits, ~mask, __ATOMIC_RELAXED);
	return true;
}
