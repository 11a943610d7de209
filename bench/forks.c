/*
 * forks: a heap forked again and again, the way a database snapshots
 * itself (Redis's BGSAVE): the child reads the whole heap and writes a
 * little of it, then exits, while the parent writes a little too.
 *
 * Fills a heap of `mib` MiB of 256-byte objects, then `forks` times: fork;
 * the child reads every object and writes `child_pct` percent of them;
 * the parent writes `parent_pct` percent of them meanwhile and waits.
 * With anonymous memory each write to a page that the other side still
 * maps copies it once; the point is what a heap from elsewhere costs.
 *
 * ops = forks; the usage fields include the children's.
 */
/* bench.h first: it sets _GNU_SOURCE for the system headers. */
#include "bench.h"

#include <sys/wait.h>

#define OBJ	256

/* Write @pct percent of the @n objects of @obj, picked by @rng. */
static void write_some(char **obj, size_t n, long pct, uint64_t *rng)
{
	size_t k = n * (size_t)pct / 100;

	while (k--)
		obj[bench_rand(rng) % n][0]++;
}

int main(int argc, char **argv)
{
	long mib = 256, forks = 20, child_pct = 1, parent_pct = 1, seed = 1;
	const struct bench_opt opts[] = {
		{ "mib", &mib, 1, "MiB of heap" },
		{ "forks", &forks, 1, "snapshots to take" },
		{ "child_pct", &child_pct, 0, "percent of the objects each child writes" },
		{ "parent_pct", &parent_pct, 0, "percent the parent writes per snapshot" },
		{ "seed", &seed, 0, "PRNG seed" },
		{ NULL, NULL, 0, NULL },
	};
	uint64_t rng;
	size_t n, i;
	double t0, t1;
	char **obj;

	bench_parse_opts(argc, argv, opts);
	rng = bench_seed((uint64_t)seed);
	n = ((size_t)mib << 20) / OBJ;
	obj = bench_xmalloc(n * sizeof(*obj));
	for (i = 0; i < n; i++) {
		obj[i] = bench_xmalloc(OBJ);
		bench_fill(obj[i], OBJ, (unsigned char)i);
	}

	t0 = bench_start();
	for (long f = 0; f < forks; f++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			bench_die("fork: %s", strerror(errno));
		if (pid == 0) {
			unsigned long sum = 0;

			for (i = 0; i < n; i++)
				sum += (unsigned char)obj[i][OBJ - 1];
			bench_escape(&sum);
			write_some(obj, n, child_pct, &rng);
			_exit(0);
		}
		write_some(obj, n, parent_pct, &rng);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bench_die("a child failed (status %#x)", status);
	}
	t1 = bench_now();

	bench_report((uint64_t)forks, t1 - t0);
	return 0;
}
