// SPDX-License-Identifier: MIT
/*
 * The kmod backing: SuperSlabs from /dev/hakmem (hakmem.ko).
 *
 * The module maps MAP_PRIVATE regions whose pages are already zeroed (by a
 * kernel thread, at idle time) and already mapped writable, so the first
 * touch of a SuperSlab takes no page fault and zeroes nothing.  Regions are
 * obtained HK_KMOD_BATCH SuperSlabs per mmap() to keep system calls and
 * VMAs few; the rest of a batch waits in a stock.  Unmapping one SuperSlab
 * of a batch simply splits the VMA; the pages go back to the kernel, where
 * the module's pool refills and re-zeroes for the next user.
 *
 * Purged ranges go through the module's purge ioctl, which frees their pages
 * at once (after plain MADV_DONTNEED the module frees a page only when its
 * address is touched again, or in a sweep some time later); they refault
 * as zeroed pages.  If the device cannot map (out of memory, pool limits),
 * the SuperSlab comes from anonymous memory instead, which the ioctl
 * refuses and madvise() purges.
 *
 * Device pages are resident from the moment they are mapped, so batches
 * grow with the heap (1, 2, 4 SuperSlabs): a small process maps 2 MiB,
 * not a whole batch it would never touch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/hakmem.h>

#include "internal.h"

#define HK_KMOD_BATCH	4

_Static_assert(HAKMEM_SUPERSLAB_SIZE == HK_SS_SIZE, "SuperSlab size differs from the module's");

/* The SuperSlabs of a batch not handed out yet. */
#define HK_STOCK_MAX	8
struct hk_stock {
	void *ss[HK_STOCK_MAX];
	unsigned int count;
};

pthread_mutex_t hk_backing_lock = PTHREAD_MUTEX_INITIALIZER;
static int dev_fd = -1;
static bool dev_purges;			/* the module has HAKMEM_IOC_PURGE */
static struct hk_stock stock;		/* guarded by hk_backing_lock */
static unsigned int mapped;		/* SuperSlabs mapped; guarded by hk_backing_lock */

static void stock_put(struct hk_stock *s, void *ss)
{
	s->ss[s->count++] = ss;
}

static void *stock_take(struct hk_stock *s)
{
	return s->count ? s->ss[--s->count] : NULL;
}

static void *device_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, dev_fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Whether device memory takes process-shared futexes, which glibc uses for
 * robust and process-shared mutexes, condition variables, semaphores and
 * barriers: a program may keep any of those in malloc'd memory.  Shared
 * futex keys need pages with an identity (page->mapping), which modules
 * before HAKMEM_FEAT_SHARED_FUTEX did not give them (EFAULT).  The probe is
 * a FUTEX_WAKE, which wakes nobody, on a fresh region that then starts the
 * stock.
 */
static bool shared_futexes_work(void)
{
	void *ss = device_map(HK_SS_SIZE);

	if (!ss)
		return false;
	if (syscall(SYS_futex, ss, FUTEX_WAKE, 1, NULL, NULL, 0) < 0) {
		hk_os_unmap(ss, HK_SS_SIZE);
		return false;
	}
	pthread_mutex_lock(&hk_backing_lock);
	stock_put(&stock, ss);
	mapped++;
	pthread_mutex_unlock(&hk_backing_lock);
	return true;
}

/*
 * Open the device for HAKMEM_BACKING=kmod (@required) or auto.  auto also
 * wants the device's memory to behave like anonymous memory for shared
 * futexes; kmod is the user's word that the program needs none.
 */
bool hk_kmod_backing_open(bool required)
{
	struct hakmem_info info;
	const char *why = NULL;

	dev_fd = open(HAKMEM_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev_fd < 0) {
		why = "cannot open " HAKMEM_DEVICE;
	} else {
		memset(&info, 0, sizeof(info));
		if (ioctl(dev_fd, HAKMEM_IOC_INFO, &info) != 0)
			why = "HAKMEM_IOC_INFO failed";
		else if (info.abi_version != HAKMEM_ABI_VERSION ||
			 info.superslab_size != HK_SS_SIZE)
			why = "the module's ABI differs from this library's";
		else if (!required && !shared_futexes_work())
			why = "its memory does not take process-shared futexes";
		dev_purges = info.features & HAKMEM_FEAT_PURGE;
		if (why) {
			close(dev_fd);
			dev_fd = -1;
		}
	}
	if (why && required)
		dprintf(STDERR_FILENO, "hakmem: HAKMEM_BACKING=kmod: %s; using mmap\n", why);
	return !why;
}

static void *kmod_map(size_t size)
{
	unsigned int batch;
	uint8_t *region;
	void *ss;

	if (size != HK_SS_SIZE)
		return device_map(size) ?: hk_os_map_aligned(size, HK_SS_SIZE, false);

	pthread_mutex_lock(&hk_backing_lock);
	ss = stock_take(&stock);
	batch = mapped < HK_KMOD_BATCH ? (mapped ? mapped : 1) : HK_KMOD_BATCH;
	pthread_mutex_unlock(&hk_backing_lock);
	if (ss)
		return ss;

	region = device_map(batch * HK_SS_SIZE);
	if (!region) {
		batch = 1;
		region = device_map(HK_SS_SIZE);
		if (!region)
			return hk_os_map_aligned(size, HK_SS_SIZE, false);
	}
	pthread_mutex_lock(&hk_backing_lock);
	mapped += batch;
	for (unsigned int i = batch - 1; i > 0; i--) {
		if (stock.count < HK_STOCK_MAX)
			stock_put(&stock, region + i * HK_SS_SIZE);
		else
			hk_os_unmap(region + i * HK_SS_SIZE, HK_SS_SIZE);
	}
	pthread_mutex_unlock(&hk_backing_lock);
	return region;
}

/* malloc_trim(): unmap the rest of the batches. */
static bool kmod_trim(void)
{
	struct hk_stock taken;
	bool any;
	void *ss;

	pthread_mutex_lock(&hk_backing_lock);
	taken = stock;
	stock.count = 0;
	pthread_mutex_unlock(&hk_backing_lock);
	any = taken.count != 0;
	while ((ss = stock_take(&taken)))
		hk_os_unmap(ss, HK_SS_SIZE);
	return any;
}

static void kmod_purge(void *addr, size_t size)
{
	struct hakmem_purge arg = { .addr = (uintptr_t)addr, .len = size };
	int saved = errno;

	if (dev_purges && ioctl(dev_fd, HAKMEM_IOC_PURGE, &arg) == 0) {
		errno = saved;
		atomic_fetch_add_explicit(&hk_stats.purged_bytes, size,
					  memory_order_relaxed);
		return;
	}
	errno = saved;
	hk_os_purge(addr, size);
}

const struct hk_backing hk_kmod_backing = {
	.name	= "kmod",
	.map	= kmod_map,
	.unmap	= hk_os_unmap,
	.purge	= kmod_purge,
	.trim	= kmod_trim,
};
