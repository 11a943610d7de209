// SPDX-License-Identifier: MIT
/*
 * C++'s operator new and delete under an LD_PRELOADed allocator: that the
 * program's calls reach the library's own operators, and that the
 * standard's promises hold through them: memory for every form, alignment,
 * std::bad_alloc and the new_handler when there is no memory, NULL from
 * the nothrow forms, and an abort with hakmem's message for a delete of
 * something never allocated.
 *
 *   operators LIBNAME     e.g. "libhakmem" (glibc: "libstdc++")
 *
 * Prints "FAIL: what" for each failed check and exits 1 if any.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <new>

static int failures;

#define CHECK(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			printf("FAIL: " __VA_ARGS__);				\
			printf("\n");						\
			failures++;						\
		}								\
	} while (0)

/* Sizes the compiler cannot see, so that no call is folded away. */
static volatile size_t opaque_huge = SIZE_MAX / 2;
static void *volatile sink;

static void *keep(void *p)
{
	sink = p;
	return sink;
}

/* Each operator the program would call is the one defined in @lib. */
static void check_interposed(const char *lib)
{
	static const char *const names[] = {
		"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
		"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
		"_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm",
		"_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t",
		"_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t",
		"_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
		"_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t",
	};

	for (const char *name : names) {
		Dl_info info = {};
		void *fn = dlsym(RTLD_DEFAULT, name);

		CHECK(fn && dladdr(fn, &info) && info.dli_fname && strstr(info.dli_fname, lib),
		      "%s resolves to %s, not %s", name,
		      info.dli_fname ? info.dli_fname : "nothing", lib);
	}
}

/* Every form gives usable memory, aligned as asked, and takes it back. */
static void check_forms(void)
{
	static const size_t sizes[] = { 0, 1, 24, 1000, 5000, 300000, 3 << 20 };
	static const size_t aligns[] = { 32, 64, 4096, 1 << 16, 2 << 20 };

	for (size_t size : sizes) {
		char *a = static_cast<char *>(keep(::operator new(size)));
		char *b = static_cast<char *>(keep(::operator new[](size, std::nothrow)));

		CHECK(a && b && a != b, "operator new(%zu): %p and %p", size, (void *)a, (void *)b);
		memset(a, 1, size);
		memset(b, 2, size);
		::operator delete(a, size);
		::operator delete[](b, std::nothrow);

		for (size_t align : aligns) {
			std::align_val_t al = static_cast<std::align_val_t>(align);
			void *c = keep(::operator new(size, al));
			void *d = keep(::operator new[](size, al, std::nothrow));

			CHECK(c && (uintptr_t)c % align == 0 && d && (uintptr_t)d % align == 0,
			      "operator new(%zu, align %zu): %p and %p", size, align, c, d);
			memset(c, 3, size);
			memset(d, 4, size);
			::operator delete(c, size, al);
			::operator delete[](d, al, std::nothrow);
		}
	}
	::operator delete(nullptr);
	::operator delete[](nullptr, static_cast<std::align_val_t>(64));

	int *objects = new int[1000]();
	CHECK(objects[0] == 0 && objects[999] == 0, "new int[1000]() is not zeroed");
	delete[] objects;
}

static int handler_calls;

static void give_up(void)
{
	handler_calls++;
	std::set_new_handler(nullptr);	/* the next failure throws */
}

/* Out of memory: the handler runs, then std::bad_alloc; nothrow gives NULL. */
static void check_out_of_memory(void)
{
	bool threw = false;

	std::set_new_handler(give_up);
	try {
		keep(::operator new(opaque_huge));
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(threw && handler_calls == 1,
	      "operator new(SIZE_MAX / 2): bad_alloc %s, new_handler ran %d times (want 1)",
	      threw ? "thrown" : "not thrown", handler_calls);

	threw = false;
	try {
		keep(::operator new[](opaque_huge, static_cast<std::align_val_t>(4096)));
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(threw, "operator new[](SIZE_MAX / 2, align 4096) did not throw bad_alloc");

	handler_calls = 0;
	std::set_new_handler(give_up);
	CHECK(!keep(::operator new(opaque_huge, std::nothrow)) && handler_calls == 1,
	      "nothrow operator new(SIZE_MAX / 2): not NULL, or new_handler ran %d times",
	      handler_calls);
	CHECK(!keep(::operator new[](opaque_huge, static_cast<std::align_val_t>(64), std::nothrow)),
	      "nothrow operator new[](SIZE_MAX / 2, align 64) is not NULL");
}

/* delete of a pointer into a live block: the allocator's invalid-free abort. */
static void check_invalid_delete(const char *message)
{
	int fd[2];
	char buf[512] = "";
	int status = 0;

	if (pipe(fd) != 0) {
		CHECK(false, "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char *p = new char[64];

		dup2(fd[1], STDERR_FILENO);
		::operator delete(keep(p + 24));
		_exit(0);
	}
	close(fd[1]);
	for (size_t len = 0, n; len < sizeof(buf) - 1; len += n) {
		ssize_t r = read(fd[0], buf + len, sizeof(buf) - 1 - len);

		if (r <= 0)
			break;
		n = (size_t)r;
	}
	close(fd[0]);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(buf, message),
	      "delete of p + 24: status %#x, said \"%s\", want SIGABRT and \"%s\"",
	      status, buf, message);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s LIBNAME INVALID-FREE-MESSAGE\n", argv[0]);
		return 2;
	}
	check_interposed(argv[1]);
	check_forms();
	check_out_of_memory();
	check_invalid_delete(argv[2]);
	return failures ? 1 : 0;
}
