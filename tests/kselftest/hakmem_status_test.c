// SPDX-License-Identifier: GPL-2.0
/*
 * kselftest: `hakmem status` (scripts/hakmem) shows what sysfs and /proc
 * say, once and refreshed, and fails with a message while the module is not
 * loaded.
 *
 * The command is $HAKMEM_CMD, by default /opt/hakmem/hakmem, where the test
 * VM's overlay puts it (tests/tests.mk); the test skips without it.  The
 * not-loaded case unloads the module and loads it again from $HAKMEM_KO,
 * with the parameters it had.  Run as root in the test VM;
 * HK_TEST=<name>[,...] runs only those tests.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

#define SYSFS		"/sys/class/misc/hakmem/"
#define PARAMS		"/sys/module/hakmem/parameters/"
#define OUT_MAX		(64 * 1024)

static const char *command(void)
{
	const char *cmd = getenv("HAKMEM_CMD");

	return cmd && *cmd ? cmd : "/opt/hakmem/hakmem";
}

/*
 * Run `sh COMMAND @args` with its output (both streams) in @out; returns
 * its exit status, or -1.
 */
static int run(const char *args, char *out, size_t size)
{
	char cmd[512];
	size_t n = 0, got;
	FILE *f;
	int status;

	snprintf(cmd, sizeof(cmd), "sh %s %s 2>&1", command(), args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (n < size - 1 && (got = fread(out + n, 1, size - 1 - n, f)))
		n += got;
	out[n] = 0;
	status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The first line of @path, without its newline, in @buf; or "". */
static char *read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, size, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/*
 * The zeroing threads' CPU time in clock ticks (utime + stime): of the
 * thread of node @node, or of all of them for -1.
 */
static long long zerod_ticks(int node)
{
	char path[300], line[1024], name[32], *p;
	unsigned long long utime, stime;
	long long sum = 0;
	struct dirent *e;
	DIR *d = opendir("/proc");

	if (!d)
		return -1;
	snprintf(name, sizeof(name), "hakmem_zerod%d", node);
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		read_line(path, line, sizeof(line));
		if (node < 0 ? strncmp(line, name, 12) : strcmp(line, name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		read_line(path, line, sizeof(line));
		p = strrchr(line, ')');
		/* After "(comm) ": state, then fields 4 to 13, then utime, stime. */
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&utime, &stime) == 2)
			sum += utime + stime;
	}
	closedir(d);
	return sum;
}

/*
 * What the figure FILE of DIRECTORY (a line of `hakmem status -r`) is in
 * sysfs or /proc now, in @buf.
 */
static char *figure(const char *dir, const char *file, char *buf,
		    size_t size)
{
	char path[256];

	if (!strcmp(file, "zerod_ticks")) {
		snprintf(buf, size, "%lld",
			 zerod_ticks(strcmp(dir, "stats") ?
				     atoi(dir + strlen("node")) : -1));
		return buf;
	}
	if (!strcmp(dir, "parameters"))
		snprintf(path, sizeof(path), PARAMS "%s", file);
	else
		snprintf(path, sizeof(path), SYSFS "%s/%s", dir, file);
	return read_line(path, buf, size);
}

/* The files of sysfs directory @path. */
static int count_files(const char *path)
{
	struct dirent *e;
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * Check every line of `hakmem status -r` output @out against sysfs now;
 * returns how many lines disagree, or -1 if the output does not name every
 * file of stats/ and of the node directories or the parameters.
 */
static int compare_raw(struct __test_metadata *_metadata, char *out)
{
	char dir[64], file[64], value[64], now[64], *line, *save = NULL;
	int lines = 0, wrong = 0, want, nid;
	char path[96];

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%63s %63s %63s", dir, file, value) != 3) {
			TH_LOG("not a figure: %s", line);
			return -1;
		}
		lines++;
		figure(dir, file, now, sizeof(now));
		if (strcmp(value, now)) {
			TH_LOG("%s %s: status says %s, now %s", dir, file,
			       value, now);
			wrong++;
		}
	}
	/* Each directory's files, and zerod_ticks in stats/ and per node. */
	want = count_files(SYSFS "stats") + 1 + count_files(PARAMS);
	for (nid = 0; nid < 1024; nid++) {
		snprintf(path, sizeof(path), SYSFS "node%d", nid);
		if (!access(path, F_OK))
			want += count_files(path) + 1;
	}
	if (lines != want) {
		TH_LOG("%d figures, sysfs and /proc have %d", lines, want);
		return -1;
	}
	return wrong;
}

/* The number after @label in @out, or -1. */
static double after(const char *out, const char *label)
{
	const char *p = strstr(out, label);

	return p ? atof(p + strlen(label)) : -1;
}

/* The last column, the total, of the row @label of a report in @out. */
static double total(const char *out, const char *label)
{
	const char *p = strstr(out, label), *end, *last;

	if (!p)
		return -1;
	end = strchr(p, '\n');
	for (last = end; last > p && last[-1] != ' '; last--)
		;
	return atof(last);
}

/* MiB with one decimal, as the command rounds them. */
static double mib(long long bytes)
{
	return (double)((bytes * 10 + (1 << 19)) >> 20) / 10;
}

FIXTURE(status) {
	int fd;
	char low[32];
	char *out;
};

FIXTURE_SETUP(status)
{
	self->fd = -1;
	self->low[0] = 0;
	self->out = NULL;
	if (hk_test_left_out(_metadata->name))
		SKIP_FROM_SETUP("HK_TEST=%s", getenv("HK_TEST"));
	if (access(command(), R_OK))
		SKIP_FROM_SETUP("no %s (set HAKMEM_CMD to scripts/hakmem)",
				command());
	if (geteuid() != 0)
		SKIP_FROM_SETUP("needs root");
	self->fd = hk_open();
	if (self->fd < 0 && errno == ENOENT)
		SKIP_FROM_SETUP(HAKMEM_DEVICE " does not exist (module not loaded)");
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));
	self->out = malloc(OUT_MAX);
	ASSERT_NE(NULL, self->out);
}

FIXTURE_TEARDOWN(status)
{
	if (self->low[0])
		write_file(PARAMS "pool_low_mb", self->low);
	if (self->fd >= 0)
		close(self->fd);
	free(self->out);
}

/*
 * No refills from here on (a low watermark of 0), once the one under way,
 * if any, is done: what the pools hold stays as it is.
 */
static int hold_pools(struct _test_data_status *self)
{
	long long dirty = -1;
	int i;

	read_line(PARAMS "pool_low_mb", self->low, sizeof(self->low));
	if (write_file(PARAMS "pool_low_mb", "0"))
		return -1;
	for (i = 0; i < 300 && dirty; i++) {
		usleep(100000);
		dirty = read_ll(SYSFS "stats/pool_dirty_pages");
	}
	return dirty ? -1 : 0;
}

/*
 * With regions of each kind mapped, every figure of `status -r` is the
 * one in sysfs or /proc, and the table shows them.  A pass where anything
 * changed meanwhile (the sweep freeing pages of earlier tests) is retried.
 */
TEST_F(status, figures_are_sysfs)
{
	const size_t len = 2 * SZ_2M;
	char *rw, *ro, *mapped;
	int i, wrong = 1;
	double pool;

	ASSERT_EQ(0, wait_pool_pages(self->fd, len / PAGE, 30000,
				     hk_pool_zeroed_pages, 0));
	rw = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, rw);
	memset(rw, 1, len);
	ro = mmap(NULL, SZ_2M, PROT_READ, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, hold_pools(self));

	for (i = 0; i < 5 && wrong; i++) {
		ASSERT_EQ(0, run("status -r", self->out, OUT_MAX))
			TH_LOG("%s", self->out);
		wrong = compare_raw(_metadata, self->out);
		ASSERT_LE(0, wrong);
	}
	EXPECT_EQ(0, wrong);

	ASSERT_EQ(0, run("status", self->out, OUT_MAX)) TH_LOG("%s", self->out);
	TH_LOG("hakmem status:\n%s", self->out);
	pool = mib(read_ll(SYSFS "stats/pool_zeroed_pages") * PAGE);
	EXPECT_EQ(pool, total(self->out, "pool, MiB"));
	mapped = strstr(self->out, "mapped since loading: ");
	ASSERT_NE(NULL, mapped);
	EXPECT_EQ(read_ll(SYSFS "stats/mmap_calls"),
		  (long long)after(mapped, "loading: "));
	EXPECT_EQ(mib(read_ll(SYSFS "stats/mmap_bytes")),
		  after(mapped, " regions, "));
	EXPECT_EQ(mib(read_ll(SYSFS "stats/pool_handout_pages") * PAGE),
		  after(mapped, " MiB: "));
	/* "... N past limits, N not writable" */
	EXPECT_EQ(mib(read_ll(SYSFS "stats/nowrite_fill_pages") * PAGE),
		  after(mapped, " past limits, "));
	EXPECT_EQ(mib(read_ll(SYSFS "stats/cache_pages") * PAGE),
		  after(self->out, "device pages now: "));
	EXPECT_NE(NULL, strstr(self->out, "rates since the module was loaded"));

	munmap(rw, len);
	munmap(ro, SZ_2M);
}

/*
 * Refreshed, the second report shows the rates between the two: 8 MiB
 * handed out in between, and nothing else mapped.
 */
TEST_F(status, watch_rates)
{
	const size_t len = 4 * SZ_2M;
	double secs, handed, missed;
	size_t n = 0;
	char cmd[512];
	FILE *f;
	char *p;

	ASSERT_EQ(0, wait_pool_pages(self->fd, len / PAGE, 30000,
				     hk_pool_zeroed_pages, 0));
	ASSERT_EQ(0, hold_pools(self));
	snprintf(cmd, sizeof(cmd), "sh %s status -w 2 -n 2", command());
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	/* The first report ends with the line of device pages. */
	while (fgets(self->out + n, OUT_MAX - n, f) &&
	       !strstr(self->out + n, "device pages now"))
		n += strlen(self->out + n);
	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, len);
	n = fread(self->out, 1, OUT_MAX - 1, f);
	self->out[n] = 0;
	EXPECT_EQ(0, pclose(f));
	TH_LOG("second report:\n%s", self->out);

	secs = after(self->out, "rates over the last ");
	handed = total(self->out, "handed out, MiB/s");
	missed = total(self->out, "pool misses, MiB/s");
	ASSERT_LT(0, secs);
	EXPECT_LT(len * 0.95, (handed + missed) * secs * (1 << 20));
	EXPECT_GT(len * 1.05, (handed + missed) * secs * (1 << 20));
	EXPECT_LT(0, handed);
	EXPECT_EQ(0, total(self->out, "past limits, MiB/s"));
}

TEST_F(status, usage_errors)
{
	EXPECT_EQ(2, run("status -x", self->out, OUT_MAX));
	EXPECT_NE(NULL, strstr(self->out, "usage: hakmem"));
	EXPECT_EQ(2, run("status -n", self->out, OUT_MAX));
	EXPECT_EQ(2, run("", self->out, OUT_MAX));
}

/* The parameters now, as finit_module() takes them: "name=value ...". */
static void current_params(char *buf, size_t size)
{
	static const char * const names[] = {
		"pool_low_mb", "pool_high_mb", "pool_max_mb",
		"shrink_backoff_ms", "nt_zero",
	};
	char path[128], val[32];
	size_t i, n = 0;

	buf[0] = 0;
	for (i = 0; i < ARRAY_SIZE(names) && n < size; i++) {
		snprintf(path, sizeof(path), PARAMS "%s", names[i]);
		n += snprintf(buf + n, size - n, "%s%s=%s", n ? " " : "",
			      names[i], read_line(path, val, sizeof(val)));
	}
}

/*
 * Without the module: a message and exit status 1.  The module is loaded
 * again afterwards with the parameters it had, for the tests after this.
 */
TEST_F(status, not_loaded)
{
	const char *ko = getenv("HAKMEM_KO");
	char args[256];
	int ko_fd, ret;

	if (!ko || access(ko, R_OK))
		SKIP(return, "set HAKMEM_KO to the path of hakmem.ko");
	current_params(args, sizeof(args));
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, syscall(SYS_delete_module, "hakmem", O_NONBLOCK))
		TH_LOG("delete_module: %s", strerror(errno));

	ret = run("status", self->out, OUT_MAX);
	EXPECT_EQ(1, ret);
	EXPECT_NE(NULL, strstr(self->out, "not loaded")) TH_LOG("%s", self->out);

	ko_fd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ko_fd);
	ASSERT_EQ(0, syscall(SYS_finit_module, ko_fd, args, 0))
		TH_LOG("finit_module %s: %s", args, strerror(errno));
	close(ko_fd);
	TH_LOG("loaded again with %s", args);
	/* Nothing to restore in the module loaded afresh. */
	self->low[0] = 0;
}

TEST_HARNESS_MAIN
