// SPDX-License-Identifier: MIT
/*
 * Process-wide state that every layer reads or bumps: the options, the
 * free-tag key, the thread-exit key, the global counters and the purge
 * requests.  It sits at the bottom of the stack, with no code, so that a
 * layer touching it reaches down, never up: set-up (init.c) writes the
 * options and keys once, stats.c and purge.c at the top read what the
 * lower layers wrote.
 */
#include "internal.h"

struct hk_options hk_options = {
	.stats = false,
	.decay_ms = 100,
	.backing = HK_BACKING_AUTO,
};

/* Set from AT_RANDOM by set-up, before anything can allocate (internal.h). */
uintptr_t hk_tag_key = HK_TAG_KEY_BUILTIN;

pthread_key_t hk_heap_key;

struct hk_global_stats hk_stats;

_Atomic bool hk_purge_wanted;
_Atomic int hk_purge_state;
