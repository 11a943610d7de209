/*
 * fork-init: fork while other threads are inside the allocator's process
 * set-up, then allocate in the child.
 *
 *   fork-init [ROUNDS]
 *
 * Built from the library's sources without the malloc override (like the
 * unit tests), so that creating threads does not itself set hakmem up: a
 * constructor of this program that runs before the library's starts threads
 * whose first hakmem_malloc() calls race to run the set-up while this thread
 * forks.  Set-up runs once per process, so each round is a fresh process
 * (this program again, with FORK_INIT_ROUND set).  Every child has a
 * deadline: a hang is a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hakmem.h"

enum { RACERS = 2, FORKS = 8, CHILD_TIMEOUT_S = 5, ROUND_TIMEOUT_S = 60 };

static atomic_int ready;
static atomic_bool go;

static void *racer(void *arg)
{
	void *p[16];

	(void)arg;
	atomic_fetch_add(&ready, 1);
	while (!atomic_load(&go))
		;
	for (int i = 0; i < 16; i++)
		p[i] = hakmem_malloc((size_t)i * 24);
	for (int i = 0; i < 16; i++)
		hakmem_free(p[i]);
	return NULL;
}

static bool child_ok(int status, int n)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	dprintf(STDERR_FILENO, "FAIL: child #%d %s %d%s\n", n,
		WIFSIGNALED(status) ? "killed by signal" : "exited with",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
		WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? " (it hung)" : "");
	return false;
}

/* One round: the racers make the process's first mallocs while this thread forks. */
static void run_round(void)
{
	pthread_t t[RACERS];
	bool ok = true;

	alarm(ROUND_TIMEOUT_S);
	for (int i = 0; i < RACERS; i++)
		if (pthread_create(&t[i], NULL, racer, NULL))
			_exit(2);
	while (atomic_load(&ready) < RACERS)
		;
	atomic_store(&go, true);
	for (int i = 0; i < FORKS; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			_exit(2);
		if (pid == 0) {
			alarm(CHILD_TIMEOUT_S);
			hakmem_free(hakmem_malloc(100));
			_exit(0);
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		ok &= child_ok(status, i);
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	_exit(!ok);
}

/* Before the constructors of default priority, the library's among them. */
__attribute__((constructor(101))) static void maybe_round(void)
{
	if (getenv("FORK_INIT_ROUND"))
		run_round();
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
	char *env[] = { "FORK_INIT_ROUND=1", NULL };

	for (long r = 0; r < rounds; r++) {
		int status;
		pid_t pid;
		int rc = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, env);

		if (rc) {
			fprintf(stderr, "FAIL: posix_spawn: %s\n", strerror(rc));
			return 1;
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "FAIL: round %ld %s %d\n", r,
				WIFSIGNALED(status) ? "killed by signal" : "exited with",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			return 1;
		}
	}
	printf("fork-init: %ld rounds, %d forks each while %d threads set the allocator up\n",
	       rounds, FORKS, RACERS);
	return 0;
}
