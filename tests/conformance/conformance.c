/*
 * Black-box conformance test for the malloc API, run under
 *   LD_PRELOAD=build/libhakmem.so build/tests/conformance [options] [GROUP...]
 *
 * Every check reports "FAIL group: file:line: what" and the program exits 1 if
 * any check failed.  With no GROUP every group runs; -l lists them.
 *
 * By default the test insists that the allocator in use is hakmem (the symbols
 * resolve into libhakmem, C23 free_sized exists, invalid frees abort with a
 * "hakmem" message).  --any-allocator turns those hakmem-specific expectations
 * into notes so the rest can be run against glibc or another preload.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <errno.h>
#include <pthread.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef void (*free_sized_fn)(void *, size_t);
typedef void (*free_aligned_sized_fn)(void *, size_t, size_t);

static bool any_allocator;      /* --any-allocator: relax hakmem-only checks */
static int errno_at_main;       /* errno as main() found it */
static const char *cur_group;   /* for messages */
static int group_failures;
static size_t page_size;

/* ------------------------------------------------------------------ */
/* reporting                                                           */

static void report(bool fatal, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(bool fatal, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (fatal)
		group_failures++;
	/* A systematic bug can trip a check thousands of times; the first
	 * few messages are what matters. */
	if (fatal && group_failures > 20)
		return;
	printf("%s %s: %s:%d: ", fatal ? "FAIL" : "note", cur_group, file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#define CHECK(cond, ...) \
	do { if (!(cond)) report(true, __FILE__, __LINE__, __VA_ARGS__); } while (0)
/* Expectations about hakmem itself; only notes with --any-allocator. */
#define EXPECT_HAKMEM(cond, ...) \
	do { if (!(cond)) report(!any_allocator, __FILE__, __LINE__, __VA_ARGS__); } while (0)
/* An allocation the test needs to continue; NULL ends the group. */
#define REQUIRE_PTR(p, ...) \
	do { if (!(p)) { report(true, __FILE__, __LINE__, __VA_ARGS__); return; } } while (0)

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* Hide a value from the optimiser so it neither folds calls with absurd
 * sizes at compile time nor warns about them. */
static size_t opaque(size_t n)
{
	__asm__ volatile("" : "+r"(n));
	return n;
}

static void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

static bool aligned_to(const void *p, size_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

/* Position-dependent pattern: a block's content depends on its seed and on
 * the offset, so overlapping blocks or moved/lost bytes are detected.  It is
 * defined per 8-byte word (little-endian) so whole words can be written and
 * compared quickly; blocks are 16-byte aligned, so offset alignment equals
 * address alignment. */
static uint64_t pattern_word(uint32_t seed, size_t j)
{
	uint64_t x = (seed ^ (j * 0xD6E8FEB86659FD93ull)) * 0x9E3779B97F4A7C15ull;
	return x ^ (x >> 29);
}

static unsigned char pattern_at(uint32_t seed, size_t i)
{
	return (unsigned char)(pattern_word(seed, i / 8) >> (8 * (i % 8)));
}

static void fill(void *p, size_t from, size_t to, uint32_t seed)
{
	unsigned char *b = p;
	size_t i = from;

	for (; i < to && i % 8; i++)
		b[i] = pattern_at(seed, i);
	for (; i + 8 <= to; i += 8) {
		uint64_t w = pattern_word(seed, i / 8);
		__builtin_memcpy(b + i, &w, 8);
	}
	for (; i < to; i++)
		b[i] = pattern_at(seed, i);
}

/* Returns the offset of the first wrong byte, or SIZE_MAX if all match. */
static size_t verify(const void *p, size_t n, uint32_t seed)
{
	const unsigned char *b = p;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		__builtin_memcpy(&w, b + i, 8);
		if (w != pattern_word(seed, i / 8))
			break;
	}
	for (; i < n; i++)
		if (b[i] != pattern_at(seed, i))
			return i;
	return SIZE_MAX;
}

static size_t first_nonzero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return i;
	return SIZE_MAX;
}

/* Read a small /proc file into @buf without allocating (stdio would call malloc). */
static void read_proc(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	if (n < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	buf[n] = '\0';
	close(fd);
}

static size_t rss_bytes(void)
{
	char buf[128];
	unsigned long size = 0, resident = 0;

	read_proc("/proc/self/statm", buf, sizeof(buf));
	if (sscanf(buf, "%lu %lu", &size, &resident) != 2) {
		fprintf(stderr, "cannot parse /proc/self/statm\n");
		exit(2);
	}
	return resident * page_size;
}

/* How much RSS grew since @before; 0 if it shrank (a decay pass may purge meanwhile). */
static size_t rss_growth(size_t before)
{
	size_t now = rss_bytes();

	return now > before ? now - before : 0;
}

static free_sized_fn lookup_free_sized(void)
{
	return (free_sized_fn)dlsym(RTLD_DEFAULT, "free_sized");
}

static free_aligned_sized_fn lookup_free_aligned_sized(void)
{
	return (free_aligned_sized_fn)dlsym(RTLD_DEFAULT, "free_aligned_sized");
}

/* ------------------------------------------------------------------ */
/* identity: the preload really is hakmem                               */

static const char *const api_names[] = {
	"malloc", "free", "calloc", "realloc", "reallocarray",
	"posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
	"malloc_usable_size", "malloc_trim", "mallinfo2", "mallopt",
	"free_sized", "free_aligned_sized",
};

static const char *symbol_object(const void *addr)
{
	Dl_info info;

	if (!addr || !dladdr(addr, &info) || !info.dli_fname)
		return "(unknown)";
	return info.dli_fname;
}

static void test_identity(void)
{
	/* The address the program itself calls through must be hakmem's. */
	const char *obj = symbol_object((void *)malloc);
	EXPECT_HAKMEM(strstr(obj, "libhakmem"), "malloc resolves into %s, not libhakmem", obj);
	obj = symbol_object((void *)malloc_usable_size);
	EXPECT_HAKMEM(strstr(obj, "libhakmem"),
		      "malloc_usable_size resolves into %s, not libhakmem", obj);

	/* Every entry point must be interposed: one left to glibc would hand
	 * out or free glibc chunks mixed with hakmem blocks. */
	for (size_t i = 0; i < ARRAY_LEN(api_names); i++) {
		void *sym = dlsym(RTLD_DEFAULT, api_names[i]);
		obj = symbol_object(sym);
		EXPECT_HAKMEM(sym && strstr(obj, "libhakmem"),
			      "%s resolves into %s, not libhakmem", api_names[i],
			      sym ? obj : "nothing (symbol missing)");
	}
}

/* ------------------------------------------------------------------ */
/* init-errno: setting the allocator up leaves errno alone              */

static void test_init_errno(void)
{
	/* C17 7.5p3: errno is zero at program startup. */
	CHECK(errno_at_main == 0, "errno is %d (%s) at the start of main()", errno_at_main,
	      strerror(errno_at_main));
}

/* ------------------------------------------------------------------ */
/* align: every size 0..70000 plus large ones: aligned, usable, disjoint */

struct live {
	void *p;
	size_t n;
	uint32_t seed;
};

/* Fill the whole usable size: it must really be usable, and neighbouring
 * live blocks (checked when they retire) must not be overwritten. */
static void live_add(struct live *slot, void *p, size_t size)
{
	size_t usable = malloc_usable_size(p);

	CHECK(aligned_to(p, 16), "malloc(%zu) = %p is not 16-byte aligned", size, p);
	CHECK(usable >= size, "malloc_usable_size(malloc(%zu)) = %zu", size, usable);
	if (usable < size)
		usable = size;
	slot->p = p;
	slot->n = usable;
	slot->seed = (uint32_t)(size * 0x9E3779B1u) ^ (uint32_t)(uintptr_t)p;
	fill(p, 0, usable, slot->seed);
}

static void live_retire(struct live *slot)
{
	if (!slot->p)
		return;
	size_t bad = verify(slot->p, slot->n, slot->seed);
	CHECK(bad == SIZE_MAX, "block %p (%zu usable bytes) corrupted at offset %zu "
	      "while other blocks were live", slot->p, slot->n, bad);
	free(slot->p);
	slot->p = NULL;
}

static void test_align(void)
{
	enum { RING = 64 };
	struct live ring[RING] = { 0 };
	static const size_t large[] = {
		100 * KiB, 128 * KiB - 1, 128 * KiB, 128 * KiB + 1, 256 * KiB + 3,
		MiB - 1, MiB, MiB + 1, 2 * MiB - 16, 2 * MiB, 4 * MiB + 3,
		16 * MiB, 33 * MiB + 7,
	};
	size_t k = 0;

	/* Keep a window of blocks alive so overlaps between neighbours show. */
	for (size_t size = 0; size <= 70000; size++, k++) {
		struct live *slot = &ring[k % RING];
		live_retire(slot);
		void *p = malloc(size);
		REQUIRE_PTR(p, "malloc(%zu) returned NULL", size);
		live_add(slot, p, size);
	}
	for (size_t i = 0; i < ARRAY_LEN(large); i++, k++) {
		struct live *slot = &ring[k % RING];
		live_retire(slot);
		void *p = malloc(large[i]);
		REQUIRE_PTR(p, "malloc(%zu) returned NULL", large[i]);
		live_add(slot, p, large[i]);
	}
	for (size_t i = 0; i < RING; i++)
		live_retire(&ring[i]);

	/* The other ways to get a block must be 16-byte aligned too. */
	for (size_t size = 1; size < 3 * MiB; size = size * 3 + 1) {
		void *c = calloc(1, size);
		REQUIRE_PTR(c, "calloc(1, %zu) returned NULL", size);
		CHECK(aligned_to(c, 16), "calloc(1, %zu) = %p not 16-byte aligned", size, c);
		void *r = realloc(c, size * 2 + 1);
		REQUIRE_PTR(r, "realloc(%zu) returned NULL", size * 2 + 1);
		CHECK(aligned_to(r, 16), "realloc(.., %zu) = %p not 16-byte aligned", size * 2 + 1, r);
		free(r);
	}
}

/* ------------------------------------------------------------------ */
/* the three aligned-allocation entry points                           */

enum align_api { API_POSIX_MEMALIGN, API_ALIGNED_ALLOC, API_MEMALIGN };
static const char *const align_api_name[] = { "posix_memalign", "aligned_alloc", "memalign" };

static void *alloc_aligned(enum align_api api, size_t align, size_t size)
{
	void *p = NULL;

	switch (api) {
	case API_POSIX_MEMALIGN: {
		int rc = posix_memalign(&p, align, size);
		CHECK(rc == 0, "posix_memalign(align %zu, size %zu) = %d", align, size, rc);
		return rc == 0 ? p : NULL;
	}
	case API_ALIGNED_ALLOC:
		return aligned_alloc(align, size);
	case API_MEMALIGN:
		return memalign(align, size);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* zero-size requests and NULL arguments                               */

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

static void test_zero(void)
{
	enum { N = 1000 };
	void *p[N];

	for (int i = 0; i < N; i++) {
		p[i] = malloc(opaque(0));
		REQUIRE_PTR(p[i], "malloc(0) returned NULL (must be a unique pointer)");
		CHECK(aligned_to(p[i], 16), "malloc(0) = %p not 16-byte aligned", p[i]);
	}
	qsort(p, N, sizeof(p[0]), cmp_ptr);
	for (int i = 1; i < N; i++)
		CHECK(p[i] != p[i - 1], "malloc(0) returned %p twice while both live", p[i]);
	for (int i = 0; i < N; i++)
		free(p[i]);

	/* Zero-size aligned requests must be unique live blocks too.  Three or
	 * more per alignment: a block handed out twice may only show up on the
	 * third request. */
	for (int api = 0; api < 3; api++) {
		for (size_t align = 16; align <= 64 * KiB; align *= 2) {
			enum { M = 8 };
			void *a[M];
			for (int i = 0; i < M; i++) {
				a[i] = alloc_aligned((enum align_api)api, align, opaque(0));
				REQUIRE_PTR(a[i], "%s(align %zu, size 0) returned NULL",
					    align_api_name[api], align);
				CHECK(aligned_to(a[i], align), "%s(align %zu, size 0) = %p misaligned",
				      align_api_name[api], align, a[i]);
				for (int j = 0; j < i; j++)
					CHECK(a[i] != a[j], "%s(align %zu, size 0) returned %p again "
					      "while it is live (call #%d and #%d)", align_api_name[api],
					      align, a[i], j + 1, i + 1);
			}
			for (int i = 0; i < M; i++)
				free(a[i]);
		}
	}

	free(NULL);
	CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = %zu",
	      malloc_usable_size(NULL));

	/* calloc with a zero factor: NULL or a freeable pointer. */
	void *c = calloc(0, 16);
	free(c);
	c = calloc(16, 0);
	free(c);
	void *r = realloc(NULL, 0);
	free(r);
}

/* ------------------------------------------------------------------ */
/* posix_memalign / aligned_alloc / memalign                          */

static void test_memalign(void)
{
	for (int api = 0; api < 3; api++) {
		for (size_t align = 16; align <= 2 * MiB; align *= 2) {
			const size_t sizes[] = { 0, 1, align / 2 + 1, align, align + 1, 3 * align + 5 };
			struct live blocks[ARRAY_LEN(sizes)] = { 0 };

			/* All sizes of one alignment live at once, so the padding the
			 * allocator adds cannot hide overlapping blocks. */
			for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
				void *p = alloc_aligned((enum align_api)api, align, sizes[i]);
				if (!p) {
					report(true, __FILE__, __LINE__, "%s(align %zu, size %zu) failed",
					       align_api_name[api], align, sizes[i]);
					continue;
				}
				CHECK(aligned_to(p, align), "%s(align %zu, size %zu) = %p misaligned",
				      align_api_name[api], align, sizes[i], p);
				live_add(&blocks[i], p, sizes[i]);
			}
			for (size_t i = 0; i < ARRAY_LEN(sizes); i++)
				live_retire(&blocks[i]);
		}
	}

	/* An aligned block must behave like any other under realloc. */
	void *p = aligned_alloc(4096, 10000);
	REQUIRE_PTR(p, "aligned_alloc(4096, 10000) failed");
	fill(p, 0, 10000, 77);
	p = realloc(p, 200000);
	REQUIRE_PTR(p, "realloc of an aligned block failed");
	CHECK(verify(p, 10000, 77) == SIZE_MAX, "realloc lost the content of an aligned block");
	free(p);

	/* sizeof(void *) is the smallest valid posix_memalign alignment. */
	CHECK(posix_memalign(&p, sizeof(void *), 24) == 0, "posix_memalign(8, 24) failed");
	free(p);
}

static void test_memalign_einval(void)
{
	static const size_t bad[] = {
		0, 1, 2, 4, 3, 6, 12, 24, 48, 100, 4095, 4097, 3 * 4096, MiB + 16,
	};
	void *const sentinel = (void *)(uintptr_t)0x5A5A5A50;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		void *p = sentinel;
		int rc = posix_memalign(&p, opaque(bad[i]), 64);
		CHECK(rc == EINVAL, "posix_memalign(align %zu) = %d, want EINVAL (%d)", bad[i], rc, EINVAL);
		/* POSIX: on failure memptr is left alone or set to NULL. */
		CHECK(p == sentinel || p == NULL, "failed posix_memalign(align %zu) stored %p",
		      bad[i], p);
		if (rc == 0 && p != sentinel)
			free(p);
	}

	/* A power of two too large to honour: align + size arithmetic must not
	 * overflow into a small successful allocation. */
	void *p = NULL;
	int rc = posix_memalign(&p, opaque((size_t)1 << 62), 64);
	CHECK(rc == ENOMEM || rc == EINVAL, "posix_memalign(align 2^62) = %d (p=%p)", rc, p);
	if (rc == 0)
		free(p);
}

/* memalign and aligned_alloc as glibc 2.36 has them (one function): an
 * alignment that is no power of two is rounded up to the next one, one of at
 * most 16 means plain malloc, one above SIZE_MAX / 2 + 1 is EINVAL.
 * posix_memalign stays strict (memalign-einval). */
static void test_memalign_round(void)
{
	static const struct { size_t align, want; } odd[] = {
		{ 0, 16 }, { 1, 16 }, { 3, 16 }, { 12, 16 }, { 24, 32 }, { 48, 64 }, { 100, 128 },
		{ 4095, 4096 }, { 4097, 8192 }, { 3 * 4096, 16384 }, { MiB + 16, 2 * MiB },
	};

	for (int api = API_ALIGNED_ALLOC; api <= API_MEMALIGN; api++) {
		for (size_t i = 0; i < ARRAY_LEN(odd); i++) {
			size_t size = i % 2 ? 100 : 5000;
			void *p = alloc_aligned((enum align_api)api, opaque(odd[i].align), size);

			CHECK(p, "%s(align %zu, size %zu) failed: %s", align_api_name[api],
			      odd[i].align, size, strerror(errno));
			if (!p)
				continue;
			CHECK(aligned_to(p, odd[i].want), "%s(align %zu) = %p not %zu-aligned",
			      align_api_name[api], odd[i].align, p, odd[i].want);
			CHECK(malloc_usable_size(p) >= size, "%s(align %zu, size %zu): usable %zu",
			      align_api_name[api], odd[i].align, size, malloc_usable_size(p));
			memset(p, 0x6b, size);
			free(p);
		}
		errno = 0;
		void *p = alloc_aligned((enum align_api)api, opaque(SIZE_MAX / 2 + 2), 64);
		CHECK(!p && errno == EINVAL, "%s(align 2^63 + 1) = %p, errno %d (want EINVAL)",
		      align_api_name[api], p, errno);
		free(p);
	}
}

static void test_valloc(void)
{
	static const size_t sizes[] = { 0, 1, 100, 4095, 4096, 4097, 100000, 3 * MiB + 1 };

	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		size_t n = sizes[i];
		void *v = valloc(n);
		REQUIRE_PTR(v, "valloc(%zu) returned NULL", n);
		CHECK(aligned_to(v, page_size), "valloc(%zu) = %p not page aligned", n, v);
		CHECK(malloc_usable_size(v) >= n, "valloc(%zu): usable %zu", n, malloc_usable_size(v));
		memset(v, 0x11, n);

		/* pvalloc rounds the size up to whole pages. */
		void *pv = pvalloc(n);
		REQUIRE_PTR(pv, "pvalloc(%zu) returned NULL", n);
		size_t rounded = (n + page_size - 1) & ~(page_size - 1);
		CHECK(aligned_to(pv, page_size), "pvalloc(%zu) = %p not page aligned", n, pv);
		CHECK(malloc_usable_size(pv) >= rounded, "pvalloc(%zu): usable %zu < %zu",
		      n, malloc_usable_size(pv), rounded);
		memset(pv, 0x22, rounded);
		free(v);
		free(pv);
	}
}

/* ------------------------------------------------------------------ */
/* impossible sizes must fail with ENOMEM                              */

#define EXPECT_ENOMEM_PTR(expr, what)                                         \
	do {                                                                  \
		errno = 0;                                                    \
		void *r_ = (expr);                                            \
		int e_ = errno;                                               \
		CHECK(r_ == NULL && e_ == ENOMEM, "%s = %p, errno %d (want NULL, ENOMEM)", \
		      what, r_, e_);                                          \
		if (r_)                                                       \
			free(r_);                                             \
	} while (0)

static void test_huge(void)
{
	const size_t huge[] = {
		SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 4096, SIZE_MAX - 2 * MiB,
		SIZE_MAX / 2, (size_t)PTRDIFF_MAX + 1, (size_t)1 << 62,
	};
	char what[128];

	for (size_t i = 0; i < ARRAY_LEN(huge); i++) {
		size_t n = opaque(huge[i]);

		snprintf(what, sizeof(what), "malloc(%#zx)", n);
		EXPECT_ENOMEM_PTR(malloc(n), what);
		snprintf(what, sizeof(what), "calloc(1, %#zx)", n);
		EXPECT_ENOMEM_PTR(calloc(1, n), what);
		snprintf(what, sizeof(what), "aligned_alloc(64, %#zx)", n);
		EXPECT_ENOMEM_PTR(aligned_alloc(64, n), what);
		snprintf(what, sizeof(what), "aligned_alloc(2 MiB, %#zx)", n);
		EXPECT_ENOMEM_PTR(aligned_alloc(2 * MiB, n), what);
		snprintf(what, sizeof(what), "memalign(4096, %#zx)", n);
		EXPECT_ENOMEM_PTR(memalign(4096, n), what);
		snprintf(what, sizeof(what), "valloc(%#zx)", n);
		EXPECT_ENOMEM_PTR(valloc(n), what);
		snprintf(what, sizeof(what), "pvalloc(%#zx)", n);
		EXPECT_ENOMEM_PTR(pvalloc(n), what);

		void *p = NULL;
		int rc = posix_memalign(&p, 64, n);
		CHECK(rc == ENOMEM, "posix_memalign(64, %#zx) = %d (p=%p), want ENOMEM", n, rc, p);
		if (rc == 0)
			free(p);

		/* A failed realloc leaves the original block alone. */
		void *old = malloc(100);
		REQUIRE_PTR(old, "malloc(100) failed");
		fill(old, 0, 100, 5);
		errno = 0;
		void *r = realloc(launder(old), n);
		int e = errno;
		CHECK(r == NULL && e == ENOMEM, "realloc(p, %#zx) = %p, errno %d", n, r, e);
		CHECK(verify(old, 100, 5) == SIZE_MAX, "failed realloc(p, %#zx) damaged p", n);
		free(r ? r : old);
	}
}

static void test_calloc_overflow(void)
{
	const struct { size_t n, size; } cases[] = {
		{ SIZE_MAX / 2 + 1, 2 },
		{ 2, SIZE_MAX / 2 + 1 },
		{ (size_t)1 << 32, (size_t)1 << 32 },      /* wraps to exactly 0 */
		{ SIZE_MAX / 8 + 1, 8 },                    /* wraps to exactly 0 */
		{ SIZE_MAX / 16 + 2, 16 },                  /* wraps to 16 */
		{ (size_t)1 << 33, ((size_t)1 << 31) + 1 }, /* wraps to 2^33 */
		{ SIZE_MAX, SIZE_MAX },
		{ 65537, (SIZE_MAX / 65537) + 1 },
	};
	char what[128];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t n = opaque(cases[i].n), size = opaque(cases[i].size);
		snprintf(what, sizeof(what), "calloc(%#zx, %#zx)", n, size);
		EXPECT_ENOMEM_PTR(calloc(n, size), what);
	}
}

/* ------------------------------------------------------------------ */
/* calloc returns zeroed memory even when reusing dirty blocks          */

/* malloc every size, dirty the whole usable area, free, then calloc the same
 * sizes: the allocator will mostly hand the dirty blocks back. */
static void calloc_dirty_round(const size_t *sizes, size_t count, bool reverse)
{
	void **blk = calloc(count, sizeof(void *));
	REQUIRE_PTR(blk, "calloc for bookkeeping failed");

	for (size_t i = 0; i < count; i++) {
		blk[i] = malloc(sizes[i]);
		REQUIRE_PTR(blk[i], "malloc(%zu) failed", sizes[i]);
		memset(blk[i], 0xAA, malloc_usable_size(blk[i]));
	}
	for (size_t i = 0; i < count; i++)
		free(blk[reverse ? count - 1 - i : i]);
	for (size_t i = 0; i < count; i++) {
		size_t n = sizes[i];
		/* Split the size over both arguments now and then. */
		blk[i] = (n % 4 == 0) ? calloc(n / 4, 4) : calloc(1, n);
		REQUIRE_PTR(blk[i], "calloc(%zu bytes) failed", n);
		size_t bad = first_nonzero(blk[i], n);
		CHECK(bad == SIZE_MAX, "calloc(%zu bytes) = %p has a non-zero byte at %zu "
		      "(0x%02x) after dirty reuse", n, blk[i], bad,
		      bad == SIZE_MAX ? 0 : ((unsigned char *)blk[i])[bad]);
	}
	for (size_t i = 0; i < count; i++)
		free(blk[i]);
	free(blk);
}

/* The tightest reuse: free one dirty block and immediately calloc its size. */
static void calloc_dirty_immediate(size_t n)
{
	void *p = malloc(n);
	REQUIRE_PTR(p, "malloc(%zu) failed", n);
	memset(p, 0xAA, malloc_usable_size(p));
	free(p);
	void *c = calloc(n, 1);
	REQUIRE_PTR(c, "calloc(%zu, 1) failed", n);
	size_t bad = first_nonzero(c, n);
	CHECK(bad == SIZE_MAX, "calloc(%zu, 1) right after freeing a dirty block of that size: "
	      "non-zero byte at %zu", n, bad);
	free(c);
}

static void test_calloc_dirty(void)
{
	static const size_t mid[] = {
		1024, 1500, 2048, 4000, 4096, 8000, 16384, 32776, 65536, 100000, 131072,
		131073, 200000, 262144,
	};
	static const size_t large[] = { MiB + MiB / 10, 2 * MiB, 3 * MiB + 17, 8 * MiB, 32 * MiB };
	size_t small[1024 / 7 + 1], ns = 0;

	for (size_t n = 1; n <= 1024; n += 7)
		small[ns++] = n;

	for (int round = 0; round < 2; round++) {
		calloc_dirty_round(small, ns, round);
		calloc_dirty_round(mid, ARRAY_LEN(mid), round);
		calloc_dirty_round(large, ARRAY_LEN(large), round);
	}
	for (size_t i = 0; i < ns; i++)
		calloc_dirty_immediate(small[i]);
	for (size_t i = 0; i < ARRAY_LEN(mid); i++)
		calloc_dirty_immediate(mid[i]);
	for (size_t i = 0; i < ARRAY_LEN(large); i++)
		calloc_dirty_immediate(large[i]);

	/* A large block shrunk by realloc then freed must not come back dirty. */
	void *p = malloc(4 * MiB);
	REQUIRE_PTR(p, "malloc(4 MiB) failed");
	memset(p, 0xAA, 4 * MiB);
	void *q = realloc(p, 100);
	REQUIRE_PTR(q, "realloc(4 MiB -> 100) failed");
	free(q);
	calloc_dirty_immediate(4 * MiB);
	void *c = calloc(1, 4 * MiB);
	REQUIRE_PTR(c, "calloc(1, 4 MiB) failed");
	CHECK(first_nonzero(c, 4 * MiB) == SIZE_MAX, "calloc(4 MiB) after realloc-shrink not zero");
	free(c);
}

/* ------------------------------------------------------------------ */
/* realloc                                                             */

/* Resize *pp from old to size, checking the preserved prefix.  Other blocks
 * of the new size are allocated around it so in-place growth is not always
 * possible and both the in-place and the moving paths run. */
static bool realloc_step(void **pp, size_t old, size_t size, uint32_t seed, void **noise)
{
	void *p = realloc(*pp, size);
	if (!p) {
		report(true, __FILE__, __LINE__, "realloc(%zu -> %zu) returned NULL", old, size);
		return false;
	}
	*pp = p;
	CHECK(aligned_to(p, 16), "realloc(.., %zu) = %p not 16-byte aligned", size, p);
	CHECK(malloc_usable_size(p) >= size, "realloc(.., %zu): usable %zu", size,
	      malloc_usable_size(p));
	size_t keep = old < size ? old : size;
	size_t bad = verify(p, keep, seed);
	CHECK(bad == SIZE_MAX, "realloc(%zu -> %zu) lost content at offset %zu", old, size, bad);
	fill(p, keep, size, seed);

	free(*noise);
	*noise = malloc(size);
	return true;
}

static void test_realloc(void)
{
	static const size_t chain[] = {
		8, 24, 100, 1024, 4000, 64 * KiB, 200000, MiB, 3 * MiB, 8 * MiB,
	};
	const size_t n = ARRAY_LEN(chain);
	void *noise = NULL;
	void *p = malloc(chain[0]);
	REQUIRE_PTR(p, "malloc(8) failed");
	fill(p, 0, chain[0], 42);

	/* Up the size classes and back down, twice. */
	for (int round = 0; round < 2; round++) {
		for (size_t i = 1; i < n; i++)
			if (!realloc_step(&p, chain[i - 1], chain[i], 42, &noise))
				return;
		for (size_t i = n - 1; i > 0; i--)
			if (!realloc_step(&p, chain[i], chain[i - 1], 42, &noise))
				return;
	}
	/* Same size and tiny shrink keep the content too. */
	if (!realloc_step(&p, 8, 8, 42, &noise) || !realloc_step(&p, 8, 1, 42, &noise))
		return;
	free(p);

	/* Many small growth steps through every small size class. */
	size_t size = 1;
	p = malloc(size);
	REQUIRE_PTR(p, "malloc(1) failed");
	fill(p, 0, size, 7);
	while (size < 300000) {
		size_t next = size + 1 + size / 8;
		if (!realloc_step(&p, size, next, 7, &noise))
			return;
		size = next;
	}
	while (size > 1) {
		size_t next = size - 1 - size / 9;
		if (next < 1)
			next = 1;
		if (!realloc_step(&p, size, next, 7, &noise))
			return;
		size = next;
	}
	free(p);
	free(noise);

	/* realloc(NULL, n) behaves like malloc(n). */
	p = realloc(NULL, 5000);
	REQUIRE_PTR(p, "realloc(NULL, 5000) returned NULL");
	CHECK(aligned_to(p, 16), "realloc(NULL, 5000) = %p not aligned", p);
	CHECK(malloc_usable_size(p) >= 5000, "realloc(NULL, 5000): usable %zu", malloc_usable_size(p));
	memset(p, 1, 5000);
	free(p);

	/* A calloc'd block keeps its zeroes when grown. */
	p = calloc(100, 10);
	REQUIRE_PTR(p, "calloc(100, 10) failed");
	p = realloc(p, 100000);
	REQUIRE_PTR(p, "realloc(calloc'd, 100000) failed");
	CHECK(first_nonzero(p, 1000) == SIZE_MAX, "realloc lost the zeroes of a calloc'd block");
	free(p);
}

/* realloc(p, 0): glibc frees p and returns NULL; a fresh minimal block is also
 * acceptable.  Either way nothing may leak: RSS must stay flat over many. */
static void test_realloc_zero(void)
{
	const size_t before = rss_bytes();

	for (int i = 0; i < 50000; i++) {
		void *p = malloc(4000);
		REQUIRE_PTR(p, "malloc(4000) failed");
		memset(p, 0x5C, 4000);
		void *q = realloc(p, opaque(0));
		if (q) {
			CHECK(aligned_to(q, 16), "realloc(p, 0) = %p not aligned", q);
			free(q);
		}
	}
	const size_t grown = rss_growth(before);
	CHECK(grown < 32 * MiB, "RSS grew by %zu MiB over 50000 realloc(p, 0) of 4000-byte "
	      "blocks: realloc(p, 0) leaks", grown / MiB);
}

static void test_reallocarray(void)
{
	char what[128];
	void *p = reallocarray(NULL, 10, 10);
	REQUIRE_PTR(p, "reallocarray(NULL, 10, 10) failed");
	fill(p, 0, 100, 9);
	p = reallocarray(p, 1000, 10);
	REQUIRE_PTR(p, "reallocarray(p, 1000, 10) failed");
	CHECK(verify(p, 100, 9) == SIZE_MAX, "reallocarray lost content while growing");
	fill(p, 0, 10000, 9);
	const size_t usable = malloc_usable_size(p);

	const struct { size_t n, size; } bad[] = {
		{ SIZE_MAX / 2, 4 },
		{ (size_t)1 << 33, (size_t)1 << 33 },
		{ SIZE_MAX / 8 + 1, 8 },        /* wraps to exactly 0 */
		{ 3, SIZE_MAX / 2 },
		{ 1, SIZE_MAX },                /* no overflow, just too big */
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		size_t n = opaque(bad[i].n), size = opaque(bad[i].size);
		errno = 0;
		/* launder: the compiler must not treat p as freed here */
		void *r = reallocarray(launder(p), n, size);
		int e = errno;
		snprintf(what, sizeof(what), "reallocarray(p, %#zx, %#zx)", n, size);
		CHECK(r == NULL && e == ENOMEM, "%s = %p, errno %d (want NULL, ENOMEM)", what, r, e);
		if (r) {
			p = r;  /* the old block may be gone; stop using it */
			break;
		}
		/* The old block must be untouched and still owned by us. */
		CHECK(verify(p, 10000, 9) == SIZE_MAX, "failed %s damaged the old block", what);
		CHECK(malloc_usable_size(p) == usable, "failed %s changed the usable size %zu -> %zu",
		      what, usable, malloc_usable_size(p));
	}
	p = reallocarray(p, 5, 10);
	REQUIRE_PTR(p, "reallocarray shrink failed");
	CHECK(verify(p, 50, 9) == SIZE_MAX, "reallocarray lost content while shrinking");
	free(p);
}

/* ------------------------------------------------------------------ */
/* malloc_trim, mallinfo2, mallopt                                     */

static void alloc_and_check_many(void)
{
	enum { N = 256 };
	struct live blocks[N] = { 0 };

	for (size_t i = 0; i < N; i++) {
		size_t n = (i * 977) % (64 * KiB) + (i % 16 == 0 ? MiB : 0);
		void *p = malloc(n);
		REQUIRE_PTR(p, "malloc(%zu) failed", n);
		live_add(&blocks[i], p, n);
	}
	for (size_t i = 0; i < N; i++)
		live_retire(&blocks[i]);
}

static void test_trim(void)
{
	enum { N = 4096 };
	void **p = malloc(N * sizeof(void *));
	REQUIRE_PTR(p, "malloc failed");

	for (int i = 0; i < N; i++) {
		p[i] = malloc(i % 64 == 0 ? 4 * MiB : 16 * KiB);
		REQUIRE_PTR(p[i], "malloc failed");
		memset(p[i], 0x33, 16 * KiB);
	}
	for (int i = 0; i < N; i++)
		free(p[i]);
	free(p);

	int rc = malloc_trim(0);
	CHECK(rc == 0 || rc == 1, "malloc_trim(0) = %d, want 0 or 1", rc);
	alloc_and_check_many();
	rc = malloc_trim(MiB);
	CHECK(rc == 0 || rc == 1, "malloc_trim(1 MiB) = %d, want 0 or 1", rc);
	alloc_and_check_many();
}

/* After malloc_trim(0) nothing freed stays resident: not the free pages, not
 * empty SuperSlabs, not memory a backing prepared ahead of demand (the
 * populate backing's helper starts after 16 SuperSlabs; give it time to
 * stock up before trimming). */
static void test_trim_rss(void)
{
	enum { N = 400 };
	const size_t block = 128 * KiB;
	const struct timespec settle = { 0, 100 * 1000 * 1000 };
	size_t before, after = 0;
	void **p = calloc(N, sizeof(void *));
	REQUIRE_PTR(p, "calloc failed");

	malloc_trim(0);
	before = rss_bytes();
	for (int i = 0; i < N; i++) {
		p[i] = malloc(block);
		REQUIRE_PTR(p[i], "malloc(%zu) failed", block);
		memset(p[i], 0x44, block);
	}
	for (int i = 0; i < N; i++)
		free(p[i]);
	/* A helper may still be filling its stock during a trim: try a few times. */
	for (int tries = 0; tries < 5; tries++) {
		nanosleep(&settle, NULL);
		malloc_trim(0);
		after = rss_bytes();
		if (after < before + 4 * MiB)
			break;
	}
	CHECK(after < before + 4 * MiB, "RSS %zu KiB before %zu MiB of blocks, %zu KiB after "
	      "freeing them and malloc_trim(0)", before / KiB, N * block / MiB, after / KiB);
	free(p);
}

/* ------------------------------------------------------------------ */
/* decay: memory unused for HAKMEM_DECAY_MS (100 by default) goes back  */
/* to the OS within about twice that, with no further allocator calls   */

#define DECAY_MS	100
#define DECAY_BLOCK	1000
#define DECAY_BLOCKS	200000

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) != 0)
		;
}

/* The array of block pointers comes from mmap, so that it is not one of the blocks. */
static void **pointer_array(size_t n)
{
	void *a = mmap(NULL, n * sizeof(void *), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (a == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return a;
}

/* A block of @size bytes, written (so resident); the test cannot go on without it. */
static void *written_block(size_t size)
{
	void *p = malloc(size);

	if (!p) {
		fprintf(stderr, "malloc(%zu) failed\n", size);
		exit(2);
	}
	memset(p, 0x5a, size);
	return p;
}

static void fill_blocks(void **p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = written_block(DECAY_BLOCK);
}

/*
 * Sleep (no allocator call) until RSS is at most a tenth of @peak or
 * 2 * DECAY_MS + 500 ms have passed; check which came first.
 */
static void check_decayed(size_t peak, const char *what)
{
	long waited = 0;
	size_t rss = rss_bytes();

	while (rss > peak / 10 && waited < 2 * DECAY_MS + 500) {
		sleep_ms(100);
		waited += 100;
		rss = rss_bytes();
	}
	EXPECT_HAKMEM(rss <= peak / 10, "%s: RSS %zu KiB after %ld ms idle, peak %zu KiB (want <= 10%%)",
	      what, rss / KiB, waited, peak / KiB);
	if (rss <= peak / 10)
		printf("note %s: RSS %zu KiB of a %zu KiB peak after %ld ms idle\n",
		       cur_group, rss / KiB, peak / KiB, waited);
}

/* Allocate and write @n blocks, free them all, and check that they decay. */
static void check_freed_blocks_decay(size_t n)
{
	void **p = pointer_array(n);
	char what[64];
	size_t peak;

	fill_blocks(p, n);
	peak = rss_bytes();
	for (size_t i = 0; i < n; i++)
		free(p[i]);
	snprintf(what, sizeof(what), "%zu x %d B freed", n, DECAY_BLOCK);
	check_decayed(peak, what);
	munmap(p, n * sizeof(void *));
}

static void test_decay_idle(void)
{
	check_freed_blocks_decay(DECAY_BLOCKS);
}

static void *fill_thread(void *arg)
{
	fill_blocks(arg, DECAY_BLOCKS / 2);
	return NULL;
}

static void test_decay_exited_thread(void)
{
	void **p = pointer_array(DECAY_BLOCKS / 2);
	pthread_t t;
	size_t peak;

	if (pthread_create(&t, NULL, fill_thread, p) != 0) {
		CHECK(false, "pthread_create failed");
		return;
	}
	pthread_join(t, NULL);
	peak = rss_bytes();
	for (size_t i = 0; i < DECAY_BLOCKS / 2; i++)
		free(p[i]);
	check_decayed(peak, "100 MB allocated by an exited thread, freed by main");
}

/*
 * Run @body in a child process; check that it passed its own checks and
 * finished within @limit_ms.  A child that hangs is killed: a hang inside
 * pthread_create() has every signal blocked, so alarm() would not end it.
 */
static void check_in_child(const char *what, void (*body)(void), int limit_ms)
{
	int status = 0, waited = 0;
	pid_t pid, done = 0;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		CHECK(false, "%s: fork: %s", what, strerror(errno));
		return;
	}
	if (pid == 0) {
		body();
		fflush(NULL);
		_exit(group_failures ? 1 : 0);
	}
	while (waited < limit_ms && (done = waitpid(pid, &status, WNOHANG)) == 0) {
		sleep_ms(50);
		waited += 50;
	}
	if (done != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		CHECK(false, "%s: hung, killed after %d ms", what, limit_ms);
		return;
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child status %#x", what, status);
}

/*
 * A fork child has no purger, whatever its parent had: its own memory
 * still decays while it idles.  The parent grows past one SuperSlab first,
 * so that it has a purger to lose.
 */
static void decay_in_child(void)
{
	check_freed_blocks_decay(DECAY_BLOCKS / 2);
}

static void test_decay_fork_child(void)
{
	void **p = pointer_array(DECAY_BLOCKS / 4);

	fill_blocks(p, DECAY_BLOCKS / 4);
	for (size_t i = 0; i < DECAY_BLOCKS / 4; i++)
		free(p[i]);
	check_in_child("decay in a fork child", decay_in_child, 20000);
}

/* Sum of voluntary and involuntary context switches of every thread but this one. */
static unsigned long other_threads_switches(int *threads)
{
	char dents[4096], path[64], buf[2048];
	unsigned long sum = 0;
	int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY);
	long n;

	*threads = 0;
	while ((n = syscall(SYS_getdents64, dir, dents, sizeof(dents))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			unsigned long v = 0, nv = 0;
			char *s;

			off += d->d_reclen;
			if (d->d_name[0] == '.' || atoi(d->d_name) == (int)syscall(SYS_gettid))
				continue;
			(*threads)++;
			snprintf(path, sizeof(path), "/proc/self/task/%s/status", d->d_name);
			read_proc(path, buf, sizeof(buf));
			s = strstr(buf, "voluntary_ctxt_switches:");
			if (s)
				v = strtoul(s + 24, NULL, 10);
			s = strstr(buf, "nonvoluntary_ctxt_switches:");
			if (s)
				nv = strtoul(s + 27, NULL, 10);
			sum += v + nv;
		}
	}
	close(dir);
	return sum;
}

/*
 * Once memory has decayed, whatever hakmem runs in the background sleeps
 * until asked: over 5 s of idling, no thread of the process but this one
 * wakes up.
 */
static void test_idle_quiet(void)
{
	unsigned long before, after;
	int threads;

	check_freed_blocks_decay(DECAY_BLOCKS / 4);
	before = other_threads_switches(&threads);
	sleep_ms(5000);
	after = other_threads_switches(&threads);
	CHECK(after - before <= 1, "%d helper thread(s) woke up %lu times in 5 s of idling",
	      threads, after - before);
}

/* A small process (within one SuperSlab) starts no helper thread. */
static void test_small_no_thread(void)
{
	void *p[64];
	int threads;

	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < 64; i++)
			p[i] = malloc(16 + (size_t)i * 100);
		for (int i = 0; i < 64; i++)
			free(p[i]);
	}
	sleep_ms(2 * DECAY_MS);
	other_threads_switches(&threads);
	EXPECT_HAKMEM(threads == 0, "%d helper thread(s) in a process that freed 6 KB at a time", threads);
}

/*
 * join-threads: once glibc's cache of thread stacks holds more than 40 MiB,
 * pthread_join() frees exited threads' TLS with the cache's lock held.  An
 * allocator that starts a thread from that free() (pthread_create() takes
 * the same lock) hangs for good, with every signal blocked.
 */
enum { JOIN_ROUNDS = 5, JOIN_THREADS = 12, JOIN_BLOCKS = 100 };
static pthread_barrier_t join_barrier;

static void *join_worker(void *arg)
{
	void *p[JOIN_BLOCKS];

	for (int i = 0; i < JOIN_BLOCKS; i++)
		p[i] = written_block(64 + (size_t)i);
	/* All alive at once: each round leaves JOIN_THREADS stacks in the cache. */
	pthread_barrier_wait(&join_barrier);
	for (int i = 0; i < JOIN_BLOCKS; i++)
		free(p[i]);
	return arg;
}

static void join_rounds(void)
{
	pthread_t t[JOIN_THREADS];
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 8 * MiB);
	for (int round = 0; round < JOIN_ROUNDS; round++) {
		pthread_barrier_init(&join_barrier, NULL, JOIN_THREADS);
		for (int i = 0; i < JOIN_THREADS; i++) {
			if (pthread_create(&t[i], &attr, join_worker, NULL) != 0) {
				CHECK(false, "pthread_create failed in round %d", round);
				return;
			}
		}
		for (int i = 0; i < JOIN_THREADS; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&join_barrier);
	}
}

static void test_join_threads(void)
{
	check_in_child("5 rounds of 12 threads joined", join_rounds, 20000);
}

/* ------------------------------------------------------------------ */
/* single-threaded calls: the kernel allows some only in a process of   */
/* one thread; hakmem's helper threads must not make them fail          */

/*
 * Blocks enough to need every helper hakmem has (the purger past one
 * SuperSlab, the populate backing's past 16) when the program allocates
 * and frees before it sandboxes itself, as bubblewrap or a browser do.
 */
#define HELPER_BLOCKS	40000

static void need_helpers(void)
{
	void **p = pointer_array(HELPER_BLOCKS);
	int threads;

	fill_blocks(p, HELPER_BLOCKS);
	for (size_t i = 0; i < HELPER_BLOCKS; i++)
		free(p[i]);
	munmap(p, HELPER_BLOCKS * sizeof(void *));
	other_threads_switches(&threads);
	EXPECT_HAKMEM(threads >= 1, "no helper thread after %d x %d B: the test shows nothing",
		      HELPER_BLOCKS, DECAY_BLOCK);
}

/*
 * Memory still decays afterwards, so the helpers came back.  Enough of it
 * that the populate backing's stock is less than a tenth.
 */
static void decay_after(const char *call)
{
	printf("note %s: %s succeeded; now checking decay\n", cur_group, call);
	check_freed_blocks_decay(DECAY_BLOCKS);
}

/*
 * A process that made namespaces with unshare(@flags) and waits; the
 * test joins them through /proc/<pid>/ns.  Its exit is the test's.
 */
struct ns_holder {
	pid_t pid;
	int release;	/* closing it lets the holder exit */
};

static bool ns_holder_start(struct ns_holder *h, int flags)
{
	int ready[2], release[2], err = 0;

	if (pipe(ready) || pipe(release)) {
		CHECK(false, "pipe: %s", strerror(errno));
		return false;
	}
	h->pid = fork();
	if (h->pid == 0) {
		char c;

		close(ready[0]);
		close(release[1]);
		err = unshare(flags) ? errno : 0;
		if (write(ready[1], &err, sizeof(err)) != sizeof(err))
			_exit(1);
		while (read(release[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	h->release = release[1];
	if (h->pid < 0 || read(ready[0], &err, sizeof(err)) != sizeof(err))
		err = ECHILD;
	close(ready[0]);
	CHECK(err == 0, "the namespace holder's unshare(%#x): %s", flags, strerror(err));
	return err == 0;
}

static void ns_holder_end(struct ns_holder *h)
{
	close(h->release);
	waitpid(h->pid, NULL, 0);
}

/* setns() into the holder's namespace @ns of type @type; true if it worked. */
static bool join_ns(const struct ns_holder *h, const char *ns, int type)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)h->pid, ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		CHECK(false, "open %s: %s", path, strerror(errno));
		return false;
	}
	ret = setns(fd, type);
	CHECK(ret == 0, "setns(%s) with memory freed: %s", ns, strerror(errno));
	close(fd);
	return ret == 0;
}

static void unshare_body(int flags, const char *call)
{
	int ret;

	need_helpers();
	ret = unshare(flags);
	CHECK(ret == 0, "%s with memory freed: %s", call, strerror(errno));
	if (ret == 0)
		decay_after(call);
}

static void unshare_user_body(void)
{
	unshare_body(CLONE_NEWUSER, "unshare(CLONE_NEWUSER)");
}

/* unshare(CLONE_VM) shares nothing new: it only asks the kernel whether the process is alone. */
static void unshare_vm_body(void)
{
	unshare_body(CLONE_VM | CLONE_SIGHAND | CLONE_THREAD, "unshare(CLONE_VM)");
}

/*
 * A vfork() child shares the parent's memory, hakmem's helper state
 * included, but not its threads: its unshare() must leave the parent's
 * helpers running, and the parent's memory still decays.
 */
static void unshare_vfork_body(void)
{
	int status = -1, threads;
	pid_t pid;

	need_helpers();
	pid = vfork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) ? 1 : 0);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && status == 0,
	      "unshare(CLONE_NEWUSER) in a vfork() child: status %#x", status);
	other_threads_switches(&threads);
	EXPECT_HAKMEM(threads >= 1, "the parent lost its helper thread to a vfork() child");
	decay_after("unshare(CLONE_NEWUSER) in a vfork() child");
}

/*
 * Each setns() test joins the holder's user namespace first, which gives
 * it the capabilities the other namespaces ask for, root or not.
 */
static void setns_body(const char *ns, int type, int holder_flags)
{
	struct ns_holder h;

	if (!ns_holder_start(&h, CLONE_NEWUSER | holder_flags))
		return;
	need_helpers();
	if (join_ns(&h, "user", CLONE_NEWUSER) && (!type || join_ns(&h, ns, type)))
		decay_after(ns);
	ns_holder_end(&h);
}

static void setns_user_body(void)
{
	setns_body("user", 0, 0);
}

static void setns_mnt_body(void)
{
	setns_body("mnt", CLONE_NEWNS, CLONE_NEWNS);
}

/* A time namespace is entered by its holder's children: join that one. */
static void setns_time_body(void)
{
	setns_body("time_for_children", CLONE_NEWTIME, CLONE_NEWTIME);
}

/*
 * Signals no thread can block: SIGKILL, SIGSTOP, and the two the C
 * library keeps for itself (cancellation, the setxid broadcast).
 */
#define SIGBIT(sig)		(1ull << ((sig) - 1))
#define UNBLOCKABLE_SIGNALS	(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP) | SIGBIT(32) | SIGBIT(33))

/*
 * Every helper thread blocks every signal: a process-directed signal goes
 * to one of the program's threads, as the program arranged.
 */
static void test_helper_signals(void)
{
	char dents[4096], path[64], buf[2048];
	int dir, threads = 0, self = (int)syscall(SYS_gettid);
	long n;

	need_helpers();
	dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY);
	while ((n = syscall(SYS_getdents64, dir, dents, sizeof(dents))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			unsigned long long blocked;
			char name[32] = "";
			char *s;

			off += d->d_reclen;
			if (d->d_name[0] == '.' || atoi(d->d_name) == self)
				continue;
			threads++;
			snprintf(path, sizeof(path), "/proc/self/task/%s/status", d->d_name);
			read_proc(path, buf, sizeof(buf));
			sscanf(buf, "Name:\t%31s", name);
			s = strstr(buf, "SigBlk:");
			blocked = s ? strtoull(s + 7, NULL, 16) : 0;
			CHECK((blocked | UNBLOCKABLE_SIGNALS) == ~0ull,
			      "thread %s (%s) lets signals through: SigBlk %016llx", d->d_name, name,
			      blocked);
		}
	}
	close(dir);
	printf("note %s: %d helper thread(s)\n", cur_group, threads);
}

static void test_unshare_user(void)
{
	check_in_child("unshare(CLONE_NEWUSER)", unshare_user_body, 20000);
}

static void test_unshare_vm(void)
{
	check_in_child("unshare(CLONE_VM)", unshare_vm_body, 20000);
}

static void test_unshare_vfork(void)
{
	check_in_child("unshare(CLONE_NEWUSER) in a vfork() child", unshare_vfork_body, 20000);
}

static void test_setns_user(void)
{
	check_in_child("setns(user)", setns_user_body, 20000);
}

static void test_setns_mnt(void)
{
	check_in_child("setns(mnt)", setns_mnt_body, 20000);
}

static void test_setns_time(void)
{
	check_in_child("setns(time)", setns_time_body, 20000);
}

/*
 * commit-charge: what the kernel charges against the commit limit under
 * vm.overcommit_memory=2 (every private writable mapping, whether touched
 * or not, MAP_NORESERVE or not).  A small program commits no more under hakmem than under the C
 * library's malloc plus a few MiB: its SuperSlab, its heap, the chunk
 * map's leaf.  The C library's figure comes from the same program run
 * again without LD_PRELOAD.
 */
#define COMMIT_SLACK	(6 * MiB)

/* Whether the space-separated @flags include @flag. */
static bool vm_flag(const char *flags, const char *flag)
{
	size_t len = strlen(flag);

	for (const char *f = strstr(flags, flag); f; f = strstr(f + 1, flag)) {
		if (f[-1] == ' ' && (f[len] == ' ' || f[len] == '\0'))
			return true;
	}
	return false;
}

/*
 * Whether a mapping of these VmFlags is charged under strict overcommit:
 * it is now ("ac"), or it is private and writable, which MAP_NORESERVE
 * exempts only while vm.overcommit_memory is not 2.
 */
static bool charged_mapping(const char *flags)
{
	return vm_flag(flags, "ac") || (vm_flag(flags, "wr") && !vm_flag(flags, "sh"));
}

/* The sizes of this process's mappings that strict overcommit charges. */
static size_t commit_charge(void)
{
	static char smaps[1 << 20];
	size_t len = 0, size_kb = 0, charged = 0;
	int fd = open("/proc/self/smaps", O_RDONLY);
	ssize_t n;

	while (fd >= 0 && len < sizeof(smaps) - 1 &&
	       (n = read(fd, smaps + len, sizeof(smaps) - 1 - len)) > 0)
		len += (size_t)n;
	if (fd < 0 || len == sizeof(smaps) - 1) {
		fprintf(stderr, "cannot read /proc/self/smaps\n");
		exit(2);
	}
	close(fd);
	smaps[len] = '\0';
	for (char *line = smaps; *line; line = strchr(line, '\n') + 1) {
		char *end = strchr(line, '\n');

		*end = '\0';
		if (!strncmp(line, "Size:", 5))
			size_kb = strtoul(line + 5, NULL, 10);
		else if (!strncmp(line, "VmFlags:", 8) && charged_mapping(line + 8))
			charged += size_kb * KiB;
		*end = '\n';
	}
	return charged;
}

/* A small program's allocations: tiny, mid and large blocks, all in use. */
static size_t commit_workload(void)
{
	static const size_t sizes[][2] = { { 64, 1000 }, { 8 * KiB, 100 }, { 256 * KiB, 4 },
					   { 2 * MiB, 1 } };

	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		for (size_t j = 0; j < sizes[i][1]; j++)
			written_block(sizes[i][0]);
	}
	return commit_charge();
}

/* The workload's charge in this program run again without LD_PRELOAD. */
static size_t commit_charge_without_preload(void)
{
	extern char **environ;
	char *env[256], *argv[] = { "conformance", "--commit-charge", NULL }, out[64] = "";
	size_t envc = 0, charge = 0;
	int fds[2];
	pid_t pid;

	for (char **e = environ; *e && envc < ARRAY_LEN(env) - 1; e++) {
		if (strncmp(*e, "LD_PRELOAD=", 11))
			env[envc++] = *e;
	}
	env[envc] = NULL;
	if (pipe(fds)) {
		perror("pipe");
		exit(2);
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execve("/proc/self/exe", argv, env);
		_exit(127);
	}
	close(fds[1]);
	if (read(fds[0], out, sizeof(out) - 1) <= 0 || sscanf(out, "%zu", &charge) != 1)
		CHECK(false, "no charge from the program run without LD_PRELOAD");
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return charge;
}

static void test_commit_charge(void)
{
	size_t libc = commit_charge_without_preload();
	size_t here = commit_workload();

	printf("note %s: %zu KiB charged, %zu KiB without LD_PRELOAD\n", cur_group, here / KiB,
	       libc / KiB);
	CHECK(libc && here <= libc + COMMIT_SLACK,
	      "commits %zu KiB, %zu KiB more than the C library's malloc (want <= %zu KiB more)",
	      here / KiB, (here - libc) / KiB, COMMIT_SLACK / KiB);
}

/*
 * exited-threads: heaps of exited threads wait in a pool for new threads,
 * and what is freed into them is recycled; however many wait, malloc and
 * free cost what they did.  Rounds of a workload that keeps taking new
 * slabs (its blocks freed half by their thread, half by another) are
 * timed while EXITED_THREADS threads are alive, so that nothing is pooled,
 * and again once they have exited, each leaving a block that this thread
 * frees.  The phases alternate, and each one's fastest round counts: the
 * machine's noise only adds time, and a cost per pooled heap would be in
 * every round.  A walk of the pool costs tens of times the round; the
 * bound leaves room for a loaded machine.
 */
enum { EXITED_THREADS = 4000, EXITED_CYCLES = 3 };
#define EXITED_SLOWDOWN	3.0
enum { WORK_ROUNDS = 100, WORK_BLOCKS = 20000 };
static const size_t work_sizes[] = { 16, 32, 64, 128, 256 };

static pthread_mutex_t exited_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t exited_arrived_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t exited_release_cond = PTHREAD_COND_INITIALIZER;
static int exited_arrived;	/* guarded by exited_lock */
static bool exited_release;	/* guarded by exited_lock */
static pthread_t exited_tids[EXITED_THREADS];

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Holds its block until released, so that its heap stays out of the pool. */
static void *exited_worker(void *arg)
{
	*(void **)arg = written_block(64);
	pthread_mutex_lock(&exited_lock);
	exited_arrived++;
	pthread_cond_signal(&exited_arrived_cond);
	while (!exited_release)
		pthread_cond_wait(&exited_release_cond, &exited_lock);
	pthread_mutex_unlock(&exited_lock);
	return NULL;
}

static void *free_odd_blocks(void *arg)
{
	void **p = arg;

	for (size_t i = 1; i < WORK_BLOCKS; i += 2)
		free(p[i]);
	return NULL;
}

/* Seconds of the fastest of WORK_ROUNDS rounds of the workload, or -1 if it failed. */
static double time_workload(void **p)
{
	double best = -1;

	for (int round = 0; round < WORK_ROUNDS; round++) {
		double start = now_s(), took;
		pthread_t t;

		for (size_t i = 0; i < WORK_BLOCKS; i++) {
			p[i] = malloc(work_sizes[i % ARRAY_LEN(work_sizes)]);
			if (!p[i]) {
				CHECK(false, "malloc(%zu) failed", work_sizes[i % ARRAY_LEN(work_sizes)]);
				return -1;
			}
		}
		if (pthread_create(&t, NULL, free_odd_blocks, p) != 0) {
			CHECK(false, "pthread_create failed");
			return -1;
		}
		for (size_t i = 0; i < WORK_BLOCKS; i += 2)
			free(p[i]);
		pthread_join(t, NULL);
		took = now_s() - start;
		if (best < 0 || took < best)
			best = took;
	}
	return best;
}

/*
 * Start EXITED_THREADS threads that each allocate a block, time the
 * workload while they wait, let them exit, free their blocks, and time it
 * again.  Returns false if the threads could not all be started.
 */
static bool exited_cycle(void **work, void **blocks, double *alive, double *exited)
{
	pthread_attr_t attr;
	int started = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * KiB);
	exited_arrived = 0;
	exited_release = false;
	while (started < EXITED_THREADS &&
	       pthread_create(&exited_tids[started], &attr, exited_worker, &blocks[started]) == 0)
		started++;
	pthread_attr_destroy(&attr);
	CHECK(started == EXITED_THREADS, "only %d of %d threads started", started, EXITED_THREADS);
	pthread_mutex_lock(&exited_lock);
	while (exited_arrived < started)
		pthread_cond_wait(&exited_arrived_cond, &exited_lock);
	pthread_mutex_unlock(&exited_lock);

	*alive = time_workload(work);

	pthread_mutex_lock(&exited_lock);
	exited_release = true;
	pthread_cond_broadcast(&exited_release_cond);
	pthread_mutex_unlock(&exited_lock);
	for (int i = 0; i < started; i++)
		pthread_join(exited_tids[i], NULL);
	for (int i = 0; i < started; i++)
		free(blocks[i]);

	*exited = time_workload(work);
	return started == EXITED_THREADS;
}

static void test_exited_threads(void)
{
	void **work = pointer_array(WORK_BLOCKS), **blocks = pointer_array(EXITED_THREADS);
	double alive = -1, exited = -1;

	for (int cycle = 0; cycle < EXITED_CYCLES; cycle++) {
		double a, e;

		if (!exited_cycle(work, blocks, &a, &e) || a < 0 || e < 0)
			return;
		printf("note %s: cycle %d: %.3f ms with %d threads alive, %.3f ms once exited\n",
		       cur_group, cycle, a * 1e3, EXITED_THREADS, e * 1e3);
		if (alive < 0 || a < alive)
			alive = a;
		if (exited < 0 || e < exited)
			exited = e;
	}
	CHECK(exited <= EXITED_SLOWDOWN * alive,
	      "a round took %.3f ms with %d exited threads' heaps, %.3f ms with none (want <= %gx)",
	      exited * 1e3, EXITED_THREADS, alive * 1e3, EXITED_SLOWDOWN);
	munmap(work, WORK_BLOCKS * sizeof(void *));
	munmap(blocks, EXITED_THREADS * sizeof(void *));
}

/*
 * mid-reuse: a block that grows through the mid sizes, as an interpreter's
 * stack does, leaves an empty slab of each size behind it.  Their pages do
 * not stay resident: small blocks allocated a while later grow RSS by about
 * what they hold.  (Kept resident, the empty slabs held 8 MiB of Lua's test
 * suite's peak, and 8 MiB here.)
 */
static void test_mid_reuse(void)
{
	enum { COPIES = 4, SMALL = 64 };
	const size_t small_bytes = 24 * MiB, n = small_bytes / SMALL;
	void **small = pointer_array(n);
	void *p[COPIES];
	size_t before, grown;

	memset(small, 0, n * sizeof(*small));
	before = rss_bytes();
	for (size_t size = 16 * KiB; size <= 256 * KiB; size += size / 8) {
		for (int i = 0; i < COPIES; i++)
			p[i] = written_block(size);
		for (int i = 0; i < COPIES; i++)
			free(p[i]);
	}
	sleep_ms(2 * DECAY_MS);
	for (size_t i = 0; i < n; i++)
		small[i] = written_block(SMALL);
	grown = rss_growth(before);
	EXPECT_HAKMEM(grown <= small_bytes + 3 * MiB,
		      "RSS grew %zu KiB for %zu KiB of small blocks after the mid-size ones were freed",
		      grown / KiB, small_bytes / KiB);
	if (grown <= small_bytes + 3 * MiB)
		printf("note %s: RSS grew %zu KiB for %zu KiB of small blocks\n", cur_group,
		       grown / KiB, small_bytes / KiB);
	for (size_t i = 0; i < n; i++)
		free(small[i]);
}

/*
 * large-reuse: 20 live blocks of 5-25 MiB, one replaced at a time and
 * written in full (mimalloc-bench's malloc-large).  Freed mappings are
 * reused, so after a warm-up at most a sixteenth of what is written
 * faults; cutting a big mapping down for every smaller request left the
 * pieces too small for the next big one (an eighth faulted).
 */
static uint64_t xorshift(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static void test_large_reuse(void)
{
	enum { SLOTS = 20, WARMUP = 100, MEASURED = 300 };
	char *slot[SLOTS] = { 0 };
	uint64_t rng = 42;
	size_t bytes = 0;
	long faults = 0;

	for (int i = 0; i < WARMUP + MEASURED; i++) {
		size_t size = 5 * MiB + xorshift(&rng) % (20 * MiB);
		unsigned int k = (unsigned int)(xorshift(&rng) % SLOTS);
		long before = minor_faults();
		char *p = malloc(size);

		REQUIRE_PTR(p, "malloc(%zu) failed", size);
		memset(p, i, size);
		free(slot[k]);
		slot[k] = p;
		if (i >= WARMUP) {
			faults += minor_faults() - before;
			bytes += size;
		}
	}
	for (int k = 0; k < SLOTS; k++)
		free(slot[k]);
	EXPECT_HAKMEM(faults * (long)page_size <= (long)(bytes / 16),
		      "%ld faults (%zu MiB) for %d replacements writing %zu MiB: large blocks are "
		      "not reused (want at most a sixteenth faulted)",
		      faults, faults * page_size / MiB, MEASURED, bytes / MiB);
	printf("note %s: %ld faults (%zu MiB) for %zu MiB written\n", cur_group, faults,
	       faults * page_size / MiB, bytes / MiB);
}

/*
 * large-buffer: one 40 MiB buffer, freed and taken again, is not faulted
 * in again each time: the cache keeps the mapping freed last whatever its
 * byte budget for many blocks.
 */
static void test_large_buffer(void)
{
	enum { ROUNDS = 8 };
	const size_t size = 40 * MiB;
	size_t faulted;
	long before;

	free(written_block(size));
	before = minor_faults();
	for (int round = 0; round < ROUNDS; round++)
		free(written_block(size));
	faulted = (size_t)(minor_faults() - before) * page_size;
	EXPECT_HAKMEM(faulted <= size / 4, "%zu KiB faulted in %d rounds of a %zu KiB buffer",
		      faulted / KiB, ROUNDS, size / KiB);
	if (faulted <= size / 4)
		printf("note %s: %zu KiB faulted in %d rounds of a %zu KiB buffer\n", cur_group,
		       faulted / KiB, ROUNDS, size / KiB);
}

/*
 * pshared-futex: malloc'd memory works for everything glibc builds on
 * process-shared futexes (no FUTEX_PRIVATE_FLAG): a raw FUTEX_WAKE, a
 * robust mutex and a process-shared mutex under contention, and a robust
 * mutex whose owner died (EOWNERDEAD).
 */
struct contended {
	pthread_mutex_t *mutex;
	long *counter;
	bool failed;
};

static void *contend(void *arg)
{
	struct contended *c = arg;

	for (int i = 0; i < 20000; i++) {
		if (pthread_mutex_lock(c->mutex) != 0) {
			c->failed = true;
			return NULL;
		}
		(*c->counter)++;
		pthread_mutex_unlock(c->mutex);
	}
	return NULL;
}

static void check_contended_mutex(bool robust)
{
	pthread_mutexattr_t attr;
	pthread_mutex_t *m = malloc(sizeof(*m));
	long *counter = malloc(sizeof(*counter));
	struct contended c[3];
	pthread_t t[3];

	REQUIRE_PTR(m && counter, "malloc failed");
	*counter = 0;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (robust)
		pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &attr);
	for (int i = 0; i < 3; i++) {
		c[i] = (struct contended){ m, counter, false };
		pthread_create(&t[i], NULL, contend, &c[i]);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CHECK(!c[i].failed, "%s mutex in malloc'd memory: lock failed",
		      robust ? "robust" : "pshared");
	}
	CHECK(*counter == 60000, "%s mutex: counter %ld, want 60000",
	      robust ? "robust" : "pshared", *counter);
	pthread_mutex_destroy(m);
	free(m);
	free(counter);
}

static void *lock_and_die(void *arg)
{
	pthread_mutex_lock(arg);
	return NULL;
}

static void test_pshared_futex(void)
{
	int *word = malloc(64);
	pthread_mutexattr_t attr;
	pthread_mutex_t *m;
	pthread_t t;
	long r;

	REQUIRE_PTR(word, "malloc failed");
	*word = 0;
	r = syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
	CHECK(r >= 0, "FUTEX_WAKE (shared) on malloc'd memory: %s", strerror(errno));
	free(word);

	check_contended_mutex(true);
	check_contended_mutex(false);

	m = malloc(sizeof(*m));
	REQUIRE_PTR(m, "malloc failed");
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &attr);
	pthread_create(&t, NULL, lock_and_die, m);
	pthread_join(t, NULL);
	r = pthread_mutex_lock(m);
	CHECK(r == EOWNERDEAD, "robust mutex of a dead owner: lock gave %ld, want EOWNERDEAD", r);
	if (r == EOWNERDEAD) {
		pthread_mutex_consistent(m);
		pthread_mutex_unlock(m);
	}
	pthread_mutex_destroy(m);
	free(m);
}

static void test_mallinfo2(void)
{
	enum { N = 1024 };
	const size_t block = 16 * KiB, live = N * block;
	void **p = malloc(N * sizeof(void *));
	REQUIRE_PTR(p, "malloc failed");

	for (int i = 0; i < N; i++) {
		p[i] = malloc(block);
		REQUIRE_PTR(p[i], "malloc(%zu) failed", block);
		memset(p[i], 1, block);
	}
	struct mallinfo2 mi = mallinfo2();
	printf("mallinfo2 with %zu MiB live: arena %zu ordblks %zu hblks %zu hblkhd %zu "
	       "uordblks %zu fordblks %zu keepcost %zu\n", live / MiB, mi.arena, mi.ordblks,
	       mi.hblks, mi.hblkhd, mi.uordblks, mi.fordblks, mi.keepcost);

	const size_t fields[] = { mi.arena, mi.ordblks, mi.smblks, mi.hblks, mi.hblkhd,
				  mi.usmblks, mi.fsmblks, mi.uordblks, mi.fordblks, mi.keepcost };
	for (size_t i = 0; i < ARRAY_LEN(fields); i++)
		CHECK(fields[i] < ((size_t)1 << 40), "mallinfo2 field #%zu = %zu is absurd",
		      i, fields[i]);
	CHECK(mi.arena || mi.uordblks || mi.hblkhd, "mallinfo2 reports all zero with %zu MiB live",
	      live / MiB);
	/* The live bytes must show up either as memory in use or as memory
	 * obtained from the system (a preload that leaves mallinfo2 to glibc
	 * reports only glibc's own tiny arena). */
	EXPECT_HAKMEM(mi.uordblks + mi.hblkhd >= live / 2 || mi.arena + mi.hblkhd >= live / 2,
		      "mallinfo2 does not account for %zu MiB live (arena %zu uordblks %zu "
		      "hblkhd %zu)", live / MiB, mi.arena, mi.uordblks, mi.hblkhd);

	for (int i = 0; i < N; i++)
		free(p[i]);
	free(p);
}

static void test_mallopt(void)
{
	const struct { int param, value; } opts[] = {
		{ M_MMAP_THRESHOLD, 256 * 1024 }, { M_TRIM_THRESHOLD, 1 << 20 },
		{ M_TOP_PAD, 64 * 1024 }, { M_ARENA_MAX, 4 }, { M_MXFAST, 64 },
		{ M_MMAP_MAX, 65536 }, { 12345, 1 } /* unknown parameter */,
	};

	for (size_t i = 0; i < ARRAY_LEN(opts); i++) {
		int rc = mallopt(opts[i].param, opts[i].value);
		CHECK(rc == 0 || rc == 1, "mallopt(%d, %d) = %d, want 0 or 1", opts[i].param,
		      opts[i].value, rc);
		alloc_and_check_many();
	}
}

/* ------------------------------------------------------------------ */
/* C23 free_sized / free_aligned_sized                                 */

static void test_free_sized(void)
{
	free_sized_fn fs = lookup_free_sized();
	free_aligned_sized_fn fas = lookup_free_aligned_sized();

	EXPECT_HAKMEM(fs && fas, "free_sized (%p) / free_aligned_sized (%p) not exported",
		      (void *)fs, (void *)fas);
	if (!fs || !fas)
		return;

	static const size_t sizes[] = { 0, 1, 8, 16, 100, 1000, 4096, 10000, 70000, 300000,
					2 * MiB + 5 };
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		size_t n = sizes[i];
		void *p = malloc(n);
		REQUIRE_PTR(p, "malloc(%zu) failed", n);
		memset(p, 1, n);
		fs(p, n);

		p = calloc(n / 4 + 1, 4);
		REQUIRE_PTR(p, "calloc failed");
		fs(p, (n / 4 + 1) * 4);

		p = realloc(NULL, n);
		REQUIRE_PTR(p, "realloc(NULL, %zu) failed", n);
		p = realloc(p, n * 2 + 1);
		REQUIRE_PTR(p, "realloc failed");
		fs(p, n * 2 + 1);
	}
	fs(NULL, 0);
	fas(NULL, 64, 0);

	for (size_t align = 16; align <= 2 * MiB; align *= 2) {
		for (size_t mult = 1; mult <= 3; mult++) {
			void *p = aligned_alloc(align, align * mult);
			REQUIRE_PTR(p, "aligned_alloc(%zu, %zu) failed", align, align * mult);
			CHECK(aligned_to(p, align), "aligned_alloc(%zu) = %p misaligned", align, p);
			memset(p, 2, align * mult);
			fas(p, align, align * mult);
		}
	}

	/* The sized frees must really release memory. */
	const size_t before = rss_bytes();
	for (int i = 0; i < 50000; i++) {
		size_t n = 1000 + (size_t)(i % 7) * 1000;
		void *p = malloc(n);
		REQUIRE_PTR(p, "malloc failed");
		memset(p, 3, n);
		fs(p, n);
		p = aligned_alloc(4096, 8192);
		REQUIRE_PTR(p, "aligned_alloc failed");
		memset(p, 4, 8192);
		fas(p, 4096, 8192);
	}
	const size_t grown = rss_growth(before);
	CHECK(grown < 32 * MiB, "RSS grew by %zu MiB over 50000 free_sized/free_aligned_sized "
	      "cycles: they leak", grown / MiB);
}

/* ------------------------------------------------------------------ */
/* invalid frees: the allocator must notice, say so and abort          */

static char static_area[256] __attribute__((aligned(64)));

static void bad_free_stack(void)
{
	long on_stack[8] = { 0 };
	free(launder(&on_stack[2]));
	printf("%ld\n", on_stack[0]);
}

static void bad_free_static(void)
{
	free(launder(static_area + 64));
}

static void bad_double_free(void)
{
	void *p = malloc(opaque(16));
	free(p);
	free(launder(p));
}

/* Another free in between defeats a check that only looks at the most
 * recently freed block. */
static void bad_double_free_interleaved(void)
{
	void *p = malloc(opaque(16)), *q = malloc(opaque(16));
	free(p);
	free(q);
	free(launder(p));
}

/* A pointer into a SuperSlab of hakmem's (2 MiB aligned) that holds block p. */
static char *superslab_of(void *p)
{
	return (char *)((uintptr_t)p & ~(2 * MiB - 1));
}

/* free() of a pointer malloc never returned: inside a live block. */
static void bad_free_interior(void)
{
	char *p = malloc(opaque(64));
	free(launder(p + 24));
	/* What an allocator that took it would do next: hand it out. */
	char *q = malloc(opaque(64));
	printf("malloc(64) after free(p + 24) = %p (p = %p)\n", (void *)q, (void *)p);
}

/* ... at a block boundary of the slab, but a block never handed out. */
static void bad_free_uncarved(void)
{
	char *p = malloc(opaque(64));
	free(launder(p + 64 * 500));
}

/* ... in the SuperSlab's header page (the slab descriptors). */
static void bad_free_header(void)
{
	free(launder(superslab_of(malloc(opaque(64))) + 256));
}

/* ... in a page of the SuperSlab that belongs to no slab. */
static void bad_free_unused_page(void)
{
	free(launder(superslab_of(malloc(opaque(64))) + 31 * 64 * KiB + 128));
}

/* A use-after-free write into a free block's link: the allocator must not
 * hand out the address written there. */
static void bad_poisoned_free_list(void)
{
	static char target[256] __attribute__((aligned(64)));
	void **p = malloc(opaque(48)), **q = malloc(opaque(48));

	free(q);
	free(p);
	*(void **)launder(p) = target + 64;
	/* p comes back once malloc has used the slab's other free blocks. */
	for (int i = 0; i < 4096; i++) {
		void *a = malloc(opaque(48));

		if (a == target + 64)
			printf("after the write: malloc(48) = %p, the target\n", a);
	}
}

static void *free_in_thread(void *p)
{
	free(p);
	return NULL;
}

static void free_elsewhere(void *p)
{
	pthread_t t;

	if (pthread_create(&t, NULL, free_in_thread, p) || pthread_join(t, NULL))
		abort();        /* the message would be missing: reported as a failure */
}

/* The same write into a block on the remote-free list, which the owner
 * drains when a size class runs dry. */
static void bad_poisoned_remote_list(void)
{
	static char target[256] __attribute__((aligned(64)));
	void *p = malloc(opaque(80)), *q = malloc(opaque(80));

	free_elsewhere(q);
	free_elsewhere(p);
	*(void **)launder(p) = target + 64;
	for (int i = 0; i < 64; i++)
		printf("malloc(992) = %p\n", malloc(opaque(992)));
}

/* Freed by another thread, then again by the owner. */
static void bad_double_free_cross_thread(void)
{
	void *p = malloc(opaque(16));

	free_elsewhere(p);
	free(launder(p));
}

/* Run action in a child with stderr captured; the parent checks that the
 * child died of SIGABRT and said "hakmem: <message>: 0x...". */
static void expect_abort(const char *what, void (*action)(void), const char *message)
{
	int fd[2];
	char buf[4096];
	size_t len = 0;

	fflush(NULL);
	if (pipe(fd) != 0) {
		report(true, __FILE__, __LINE__, "pipe: %s", strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		report(true, __FILE__, __LINE__, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		dup2(fd[1], STDERR_FILENO);
		close(fd[0]);
		close(fd[1]);
		alarm(10);      /* a hang shows up as SIGALRM */
		action();
		static const char msg[] = "child survived the invalid free\n";
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			_exit(3);
		_exit(0);
	}
	close(fd[1]);
	for (;;) {
		ssize_t r = read(fd[0], buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	close(fd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;

	bool aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
	printf("%s: child %s %d; stderr: %s%s", what,
	       WIFSIGNALED(status) ? "killed by signal" : "exited with",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
	       len ? buf : "(empty)\n", len && buf[len - 1] != '\n' ? "\n" : "");
	EXPECT_HAKMEM(aborted, "%s: child was not killed by SIGABRT", what);
	char want[128];
	snprintf(want, sizeof(want), "hakmem: %s", message);
	EXPECT_HAKMEM(strstr(buf, want), "%s: stderr does not say \"%s\"", what, want);
	EXPECT_HAKMEM(strstr(buf, ": 0x"), "%s: stderr has no address", what);
}

#define INVALID_FREE "free(): invalid pointer"
#define DOUBLE_FREE "free(): double free"
#define CORRUPTED_LIST "malloc(): corrupted free list"

static void test_invalid_free_stack(void)
{
	expect_abort("free(stack address)", bad_free_stack, INVALID_FREE);
}

static void test_invalid_free_static(void)
{
	expect_abort("free(static array)", bad_free_static, INVALID_FREE);
}

static void test_invalid_free_interior(void)
{
	expect_abort("free(p + 24) of a live malloc(64)", bad_free_interior, INVALID_FREE);
	expect_abort("free() of a block never handed out", bad_free_uncarved, INVALID_FREE);
}

static void test_invalid_free_header(void)
{
	expect_abort("free() into a SuperSlab header", bad_free_header, INVALID_FREE);
	expect_abort("free() into an unused SuperSlab page", bad_free_unused_page, INVALID_FREE);
}

static void test_double_free(void)
{
	expect_abort("double free of malloc(16)", bad_double_free, DOUBLE_FREE);
}

static void test_double_free_interleaved(void)
{
	expect_abort("free(p); free(q); free(p)", bad_double_free_interleaved, DOUBLE_FREE);
}

static void test_double_free_cross_thread(void)
{
	expect_abort("free(p) in another thread, then here", bad_double_free_cross_thread,
		     DOUBLE_FREE);
}

static void test_corrupted_free_list(void)
{
	expect_abort("write into a free block's link", bad_poisoned_free_list, CORRUPTED_LIST);
	expect_abort("write into a remotely freed block's link", bad_poisoned_remote_list,
		     CORRUPTED_LIST);
}

/* ------------------------------------------------------------------ */

static const struct group {
	const char *name;
	void (*run)(void);
} groups[] = {
	{ "identity", test_identity },
	{ "init-errno", test_init_errno },
	{ "align", test_align },
	{ "zero", test_zero },
	{ "memalign", test_memalign },
	{ "memalign-einval", test_memalign_einval },
	{ "memalign-round", test_memalign_round },
	{ "valloc", test_valloc },
	{ "huge", test_huge },
	{ "calloc-overflow", test_calloc_overflow },
	{ "calloc-dirty", test_calloc_dirty },
	{ "realloc", test_realloc },
	{ "realloc-zero", test_realloc_zero },
	{ "reallocarray", test_reallocarray },
	{ "trim", test_trim },
	{ "trim-rss", test_trim_rss },
	{ "decay-idle", test_decay_idle },
	{ "decay-exited-thread", test_decay_exited_thread },
	{ "decay-fork-child", test_decay_fork_child },
	{ "idle-quiet", test_idle_quiet },
	{ "small-no-thread", test_small_no_thread },
	{ "join-threads", test_join_threads },
	{ "exited-threads", test_exited_threads },
	{ "unshare-user", test_unshare_user },
	{ "unshare-vm", test_unshare_vm },
	{ "unshare-vfork", test_unshare_vfork },
	{ "setns-user", test_setns_user },
	{ "setns-mnt", test_setns_mnt },
	{ "setns-time", test_setns_time },
	{ "helper-signals", test_helper_signals },
	{ "commit-charge", test_commit_charge },
	{ "mid-reuse", test_mid_reuse },
	{ "large-reuse", test_large_reuse },
	{ "large-buffer", test_large_buffer },
	{ "pshared-futex", test_pshared_futex },
	{ "mallinfo2", test_mallinfo2 },
	{ "mallopt", test_mallopt },
	{ "free-sized", test_free_sized },
	{ "invalid-free-stack", test_invalid_free_stack },
	{ "invalid-free-static", test_invalid_free_static },
	{ "double-free", test_double_free },
	{ "double-free-interleaved", test_double_free_interleaved },
	{ "double-free-cross-thread", test_double_free_cross_thread },
	{ "invalid-free-interior", test_invalid_free_interior },
	{ "invalid-free-header", test_invalid_free_header },
	{ "corrupted-free-list", test_corrupted_free_list },
};

static bool run_group(const struct group *g)
{
	cur_group = g->name;
	group_failures = 0;
	g->run();
	printf("%s %s", group_failures ? "FAIL" : "ok", g->name);
	if (group_failures)
		printf(" (%d failed checks)", group_failures);
	putchar('\n');
	fflush(stdout);
	return group_failures == 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: conformance [--any-allocator] [-l] [GROUP...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int first = 1, failed = 0, ran = 0;

	errno_at_main = errno;
	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "--any-allocator") || !strcmp(argv[first], "-a")) {
			any_allocator = true;
		} else if (!strcmp(argv[first], "--commit-charge")) {
			/* test_commit_charge()'s baseline, in a process of its own */
			printf("%zu\n", commit_workload());
			return 0;
		} else if (!strcmp(argv[first], "-l")) {
			for (size_t i = 0; i < ARRAY_LEN(groups); i++)
				puts(groups[i].name);
			return 0;
		} else {
			usage();
		}
	}
	printf("allocator: malloc from %s%s\n", symbol_object((void *)malloc),
	       any_allocator ? " (--any-allocator: hakmem-specific checks are notes)" : "");

	for (size_t i = 0; i < ARRAY_LEN(groups); i++) {
		bool wanted = first == argc;
		for (int a = first; a < argc; a++)
			wanted |= !strcmp(argv[a], groups[i].name);
		if (!wanted)
			continue;
		ran++;
		failed += !run_group(&groups[i]);
	}
	for (int a = first; a < argc; a++) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_LEN(groups); i++)
			known |= !strcmp(argv[a], groups[i].name);
		if (!known) {
			printf("FAIL: unknown group %s\n", argv[a]);
			failed++;
		}
	}
	if (!ran) {
		printf("FAIL: no group ran\n");
		return 1;
	}
	printf("%d of %d groups failed\n", failed, ran);
	return failed ? 1 : 0;
}
