// SPDX-License-Identifier: MIT
/*
 * run-program: run a real program as a benchmark.
 *
 *   run-program COMMAND [ARG...]
 *
 * Runs COMMAND once (it inherits LD_PRELOAD, so the allocator under test is
 * the program's) and prints the runner's result line for it: one operation
 * per run, the wall time, and the peak RSS of the largest process of the
 * program (ru_maxrss over the waited-for children; at exec a child starts
 * from this small process's RSS, well below any program's peak).  Fails if
 * the program fails.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
	struct rusage children;
	double start, secs;
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	start = bench_start();
	pid = fork();
	if (pid < 0)
		bench_die("fork failed");
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		bench_die("waitpid failed");
	secs = bench_now() - start;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "run-program: %s failed (status %#x)\n", argv[1], status);
		return 1;
	}
	getrusage(RUSAGE_CHILDREN, &children);
	printf("ops_per_sec=%.6f ops=1 elapsed_sec=%.6f peak_rss_kib=%ld minflt=%ld "
	       "malloc_lib=%s\n", 1.0 / secs, secs, children.ru_maxrss, children.ru_minflt,
	       bench_malloc_lib());
	return 0;
}
