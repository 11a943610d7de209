/*
 * procs: many short-lived processes, each touching fresh memory.
 *
 * Starts `procs` processes one after another (`parallel` at a time), each
 * a fresh exec of this program that allocates `mib` MiB of small objects,
 * touches and frees them (bench_fresh_round()) and exits.  Every process
 * starts with an empty heap, so the whole cost is getting memory from the
 * kernel: page faults and zeroing with anonymous memory, or a mapping of
 * already-zeroed pages from a warm cross-process pool (hakmem.ko).
 *
 * ops = processes; the usage fields include the children's.
 */
/* bench.h first: it sets _GNU_SOURCE for the system headers. */
#include "bench.h"

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static int child_main(long mib, long seed)
{
	size_t n = bench_fresh_count((size_t)mib << 20, (uint64_t)seed);
	void **obj = bench_xmalloc(n * sizeof(*obj));

	bench_fresh_round(obj, n, (uint64_t)seed);
	free(obj);
	return 0;
}

static void reap(void)
{
	int status;

	if (wait(&status) < 0)
		bench_die("wait: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_die("a child process failed (status %#x)", status);
}

int main(int argc, char **argv)
{
	long procs = 200, parallel = 1, mib = 16, seed = 1, child = 0;
	const struct bench_opt opts[] = {
		{ "procs", &procs, 1, "processes to run" },
		{ "parallel", &parallel, 1, "processes running at once" },
		{ "mib", &mib, 1, "MiB each process allocates and touches" },
		{ "seed", &seed, 0, "PRNG seed" },
		{ "child", &child, 0, "internal: run as one of the processes" },
		{ NULL, NULL, 0, NULL },
	};
	char mib_arg[32], child_arg[] = "child=1";
	char *args[] = { argv[0], mib_arg, child_arg, NULL };
	long running = 0;
	double t0, t1;

	bench_parse_opts(argc, argv, opts);
	if (child)
		return child_main(mib, seed);
	snprintf(mib_arg, sizeof(mib_arg), "mib=%ld", mib);

	t0 = bench_start();
	for (long i = 0; i < procs; i++) {
		pid_t pid;
		int rc;

		if (running == parallel) {
			reap();
			running--;
		}
		rc = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ);
		if (rc)
			bench_die("posix_spawn: %s", strerror(rc));
		running++;
	}
	while (running--)
		reap();
	t1 = bench_now();

	bench_report((uint64_t)procs, t1 - t0);
	return 0;
}
