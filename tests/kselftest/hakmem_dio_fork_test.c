// SPDX-License-Identifier: GPL-2.0
/*
 * kselftest: fork() while an O_DIRECT read into the memory is in flight.
 *
 * The read goes to an NBD device served by the test itself, so the test
 * decides when the data arrives: it holds the reply until after fork() and
 * after the parent or the child has written elsewhere in the same page (a
 * malloc heap: other objects share the page with the I/O buffer).
 *
 * Each case runs the same sequence on anonymous memory and on /dev/hakmem
 * memory and requires the same outcome.  What anonymous memory gives
 * depends on how the kernel holds the pages of a direct read:
 *  - pinned (FOLL_PIN; 6.12): fork copies a maybe-pinned anonymous page for
 *    the child at once, so the parent keeps the I/O target: the parent sees
 *    the data and the child sees its fork-time snapshot, whoever writes;
 *  - referenced only (FOLL_GET; 6.1): the page is shared and write-protected
 *    like any other, and whoever writes first copies it: if the parent
 *    writes before the read completes, the data goes to the child.
 * In every case each side sees its own writes and never the other's.
 *
 * Needs root and nbd.ko; skips without them.  HK_TEST=<name>[,<name>...] in
 * the environment runs only the tests of those names.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/hakmem.h>
#include <linux/nbd.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"


#define NBD_BLK		512
#define NBD_BYTES	(1UL << 20)
#define HOLD_OFF	(256UL * 1024)	/* device offset of the held read */

/*
 * Layout of the memory under test: the I/O buffer, which takes the first
 * 512 bytes of its last page (and all of the pages before, if any), and two
 * other objects in that last page.
 */
#define R_PARENT	2048	/* written by the parent after fork */
#define R_CHILD		3072	/* written by the child after fork */
#define R_LEN		256
#define MAX_PAGES	64	/* more than hakmem handles in one batch */

#define B_OLD		0xa1	/* the whole page before fork */
#define B_DATA		0xc3	/* what the device returns */
#define B_PARENT	0xb2
#define B_CHILD		0xd4

/* Wire format of the NBD transmission phase (big endian). */
struct nbd_req_wire {
	uint32_t magic;
	uint32_t type;
	uint64_t handle;
	uint64_t from;
	uint32_t len;
} __attribute__((packed));

struct nbd_reply_wire {
	uint32_t magic;
	uint32_t error;
	uint64_t handle;
} __attribute__((packed));

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Wait up to @ms for @fd to become readable; 0 if it did. */
static int wait_readable(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };
	fd_set set;

	FD_ZERO(&set);
	FD_SET(fd, &set);
	return select(fd + 1, &set, NULL, NULL, &tv) == 1 ? 0 : -1;
}

/*
 * The NBD server: answers every request from an in-memory image.  A read
 * of HOLD_OFF while @armed is set is held: the server reports it on the
 * @arrived pipe and replies only after a byte arrives on the @release pipe.
 */
struct nbd_srv {
	int sock;
	unsigned char *image;
	volatile int armed;
	int arrived[2];
	int release[2];
	int error;
};

static void *nbd_serve(void *arg)
{
	struct nbd_srv *s = arg;
	struct nbd_req_wire req;
	struct nbd_reply_wire rep;
	uint64_t from;
	uint32_t len, type;
	char c = 0;

	for (;;) {
		if (read_full(s->sock, &req, sizeof(req)))
			break;
		if (be32toh(req.magic) != NBD_REQUEST_MAGIC) {
			s->error = 1;
			break;
		}
		type = be32toh(req.type) & 0xffff;
		from = be64toh(req.from);
		len = be32toh(req.len);
		if (type == NBD_CMD_DISC)
			break;
		rep.magic = htobe32(NBD_REPLY_MAGIC);
		rep.error = 0;
		rep.handle = req.handle;
		if ((type == NBD_CMD_READ || type == NBD_CMD_WRITE) &&
		    (from > NBD_BYTES || len > NBD_BYTES - from)) {
			s->error = 2;
			break;
		}
		if (type == NBD_CMD_WRITE &&
		    read_full(s->sock, s->image + from, len))
			break;
		if (type == NBD_CMD_READ && s->armed && from == HOLD_OFF) {
			s->armed = 0;
			if (write(s->arrived[1], &c, 1) != 1 ||
			    read(s->release[0], &c, 1) != 1) {
				s->error = 3;
				break;
			}
		}
		if (write_full(s->sock, &rep, sizeof(rep)))
			break;
		if (type == NBD_CMD_READ &&
		    write_full(s->sock, s->image + from, len))
			break;
	}
	close(s->sock);
	s->sock = -1;
	return NULL;
}

static void *nbd_do_it(void *arg)
{
	ioctl(*(int *)arg, NBD_DO_IT);
	return NULL;
}

/* Bytes read into @pages pages (see the layout above). */
static size_t io_len(int pages)
{
	return (pages - 1) * PAGE + NBD_BLK;
}

struct dio_read {
	int fd;
	void *buf;
	size_t len;
	ssize_t ret;
	int err;
};

static void *dio_reader(void *arg)
{
	struct dio_read *r = arg;

	r->ret = pread(r->fd, r->buf, r->len, HOLD_OFF);
	r->err = errno;
	return NULL;
}

/* One character for what [p, p + len) holds. */
static char classify(const unsigned char *p, size_t len)
{
	static const struct { unsigned char b; char c; } k[] = {
		{ B_OLD, 'o' }, { B_DATA, 'D' },
		{ B_PARENT, 'P' }, { B_CHILD, 'C' },
	};
	size_t i, j;

	for (j = 0; j < sizeof(k) / sizeof(k[0]); j++) {
		for (i = 0; i < len && p[i] == k[j].b; i++)
			;
		if (i == len)
			return k[j].c;
	}
	return '?';
}

/* "<io><parent object><child object>" as seen in the @pages at @p. */
static void view(const unsigned char *p, int pages, char out[4])
{
	const unsigned char *last = p + (pages - 1) * PAGE;

	out[0] = classify(p, io_len(pages));
	out[1] = classify(last + R_PARENT, R_LEN);
	out[2] = classify(last + R_CHILD, R_LEN);
	out[3] = '\0';
}

enum who_writes { NOBODY, PARENT, CHILD };

struct outcome {
	ssize_t ret;		/* of the O_DIRECT read */
	char parent[4];		/* the parent's view once the read is done */
	char child[4];		/* the child's view once the read is done */
	char parent_after[4];	/* the parent's, after it writes again */
	int child_status;
};

FIXTURE(dio_fork) {
	int hk;
	int nbd;
	int bdev;
	int sk[2];
	struct nbd_srv srv;
	pthread_t srv_thread, doit_thread;
	bool srv_started, doit_started;
};

/* Open the first NBD device that is not connected (has no size). */
static int open_free_nbd(int *index)
{
	unsigned long long size;
	char path[32];
	int i, fd;

	for (i = 0; i < 16; i++) {
		snprintf(path, sizeof(path), "/dev/nbd%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -1;
		if (ioctl(fd, BLKGETSIZE64, &size) == 0 && size == 0) {
			*index = i;
			return fd;
		}
		close(fd);
	}
	errno = EBUSY;
	return -1;
}

FIXTURE_SETUP(dio_fork)
{
	unsigned long long size = 0;
	char path[32];
	int i, index;

	self->hk = self->nbd = self->bdev = -1;
	self->sk[0] = self->sk[1] = -1;
	self->srv.sock = -1;
	self->srv.arrived[0] = self->srv.arrived[1] = -1;
	self->srv.release[0] = self->srv.release[1] = -1;
	if (hk_test_left_out(_metadata->name))
		SKIP_FROM_SETUP("HK_TEST=%s", getenv("HK_TEST"));
	if (geteuid() != 0)
		SKIP_FROM_SETUP("needs root for nbd");
	self->nbd = open_free_nbd(&index);
	if (self->nbd < 0 && (errno == ENOENT || errno == ENXIO ||
			      errno == ENODEV))
		SKIP_FROM_SETUP("no nbd device (nbd.ko not loaded)");
	ASSERT_LE(0, self->nbd) TH_LOG("nbd: %s", strerror(errno));

	self->hk = open(HAKMEM_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->hk) TH_LOG(HAKMEM_DEVICE ": %s", strerror(errno));

	self->srv.image = calloc(1, NBD_BYTES);
	ASSERT_NE(NULL, self->srv.image);
	memset(self->srv.image + HOLD_OFF, B_DATA, io_len(MAX_PAGES));
	ASSERT_EQ(0, pipe2(self->srv.arrived, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(self->srv.release, O_CLOEXEC));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				self->sk));

	ASSERT_EQ(0, ioctl(self->nbd, NBD_SET_BLKSIZE, NBD_BLK));
	ASSERT_EQ(0, ioctl(self->nbd, NBD_SET_SIZE, NBD_BYTES));
	/* A backstop: a request never answered fails after 20 s. */
	ASSERT_EQ(0, ioctl(self->nbd, NBD_SET_TIMEOUT, 20));
	ASSERT_EQ(0, ioctl(self->nbd, NBD_SET_SOCK, self->sk[0]));

	self->srv.sock = self->sk[1];
	self->sk[1] = -1;
	ASSERT_EQ(0, pthread_create(&self->srv_thread, NULL, nbd_serve,
				    &self->srv));
	self->srv_started = true;
	ASSERT_EQ(0, pthread_create(&self->doit_thread, NULL, nbd_do_it,
				    &self->nbd));
	self->doit_started = true;

	/* NBD_DO_IT sets the capacity once it runs. */
	for (i = 0; i < 10000 && size != NBD_BYTES; i++) {
		if (ioctl(self->nbd, BLKGETSIZE64, &size))
			size = 0;
		usleep(1000);
	}
	ASSERT_EQ(NBD_BYTES, size);
	/* The first open scans for partitions (answered by the server). */
	snprintf(path, sizeof(path), "/dev/nbd%d", index);
	self->bdev = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, self->bdev) TH_LOG("%s: %s", path, strerror(errno));
}

FIXTURE_TEARDOWN(dio_fork)
{
	char c = 0;

	/* Never leave a read held: its reader could not exit. */
	if (self->srv.release[1] >= 0)
		(void)!write(self->srv.release[1], &c, 1);
	if (self->bdev >= 0)
		close(self->bdev);
	if (self->doit_started) {
		ioctl(self->nbd, NBD_DISCONNECT);
		pthread_join(self->doit_thread, NULL);
	}
	if (self->srv_started)
		pthread_join(self->srv_thread, NULL);
	if (self->nbd >= 0) {
		ioctl(self->nbd, NBD_CLEAR_SOCK);
		close(self->nbd);
	}
	if (self->sk[0] >= 0)
		close(self->sk[0]);
	if (self->hk >= 0)
		close(self->hk);
	EXPECT_EQ(0, self->srv.error);
}

/*
 * Read into the first @pages pages of @mem with the reply held, fork, let
 * @who write its object in the last page, then let the read complete.
 * Fills @out; returns a negative step on a setup error.
 */
static int run(struct nbd_srv *srv, int bdev, unsigned char *mem, int pages,
	       enum who_writes who, struct outcome *out)
{
	unsigned char *last = mem + (pages - 1) * PAGE;
	struct dio_read rd = { .fd = bdev, .buf = mem, .len = io_len(pages) };
	int go[2], ack[2], res[2];
	pthread_t reader;
	pid_t pid = -1;
	int status, ret = 0;
	char c = 0;

	memset(out, 0, sizeof(*out));
	out->child_status = -1;
	memset(mem, B_OLD, pages * PAGE);
	if (pipe(go) || pipe(ack) || pipe(res))
		return -1;

	srv->armed = 1;
	if (pthread_create(&reader, NULL, dio_reader, &rd))
		return -2;
	/* The request reaches the server after the pages were taken. */
	if (wait_readable(srv->arrived[0], 10000) ||
	    read(srv->arrived[0], &c, 1) != 1)
		ret = -3;

	if (!ret) {
		pid = fork();
		if (pid < 0)
			ret = -4;
	}
	if (pid == 0) {
		char v[4];

		if (who == CHILD) {
			memset(last + R_CHILD, B_CHILD, R_LEN);
			if (write(ack[1], &c, 1) != 1)
				_exit(10);
		}
		if (read(go[0], &c, 1) != 1)
			_exit(11);
		view(mem, pages, v);
		if (write(res[1], v, sizeof(v)) != sizeof(v))
			_exit(12);
		_exit(0);
	}

	if (pid > 0 && who == PARENT)
		memset(last + R_PARENT, B_PARENT, R_LEN);
	if (pid > 0 && who == CHILD && read(ack[0], &c, 1) != 1)
		ret = -5;

	/* Let the read complete. */
	if (write(srv->release[1], &c, 1) != 1 && !ret)
		ret = -6;
	pthread_join(reader, NULL);
	out->ret = rd.ret;
	view(mem, pages, out->parent);

	if (pid > 0) {
		if ((write(go[1], &c, 1) != 1 ||
		     read_full(res[0], out->child, sizeof(out->child))) && !ret)
			ret = -7;
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			out->child_status = WEXITSTATUS(status);
	}
	/* A later write by the parent keeps what it sees. */
	memset(last + R_PARENT, B_PARENT, R_LEN);
	view(mem, pages, out->parent_after);

	close(go[0]);
	close(go[1]);
	close(ack[0]);
	close(ack[1]);
	close(res[0]);
	close(res[1]);
	return ret;
}

/* Whether direct reads pin the pages (FOLL_PIN): -1 if not known here. */
static int kernel_dio_pins(void)
{
	struct utsname u;
	int major, minor;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return -1;
	if (major == 6 && minor == 1)
		return 0;
	if (major > 6 || (major == 6 && minor >= 12))
		return 1;
	return -1;
}

static void check(struct __test_metadata *_metadata, struct nbd_srv *srv,
		  int bdev, int hk, int pages, enum who_writes who)
{
	static const char *const names[] = { "nobody", "parent", "child" };
	/* [pins][who]: the parent's and the child's view, as anon gives. */
	static const char *const expect[2][3][2] = {
		{ { "Doo", "Doo" }, { "oPo", "Doo" }, { "Doo", "ooC" } },
		{ { "Doo", "ooo" }, { "DPo", "ooo" }, { "Doo", "ooC" } },
	};
	struct outcome o[2];
	int pins = kernel_dio_pins();
	unsigned char *mem;
	int i;

	/*
	 * A fresh region for each run: after a fork, the first write to a
	 * page of a hakmem region copies it into an anonymous page.
	 */
	for (i = 0; i < 2; i++) {
		if (i == 0) {
			mem = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			ASSERT_NE(MAP_FAILED, mem);
			/*
			 * Small pages, as on the hakmem side; a kernel
			 * without THP (PREEMPT_RT) has nothing else and
			 * refuses the advice.
			 */
			if (madvise(mem, SZ_2M, MADV_NOHUGEPAGE))
				ASSERT_EQ(EINVAL, errno);
		} else {
			mem = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, hk, 0);
			ASSERT_NE(MAP_FAILED, mem);
		}
		ASSERT_EQ(0, run(srv, bdev, mem, pages, who, &o[i]));
		EXPECT_EQ(io_len(pages), o[i].ret);
		EXPECT_EQ(0, o[i].child_status);
		munmap(mem, SZ_2M);
	}
	TH_LOG("%d page(s), %s writes first: anon parent=%s child=%s, hakmem parent=%s child=%s (dio pins pages: %s)",
	       pages, names[who], o[0].parent, o[0].child, o[1].parent,
	       o[1].child, pins < 0 ? "?" : pins ? "yes" : "no");

	for (i = 0; i < 2; i++) {
		/* Each side sees its own writes and never the other's. */
		EXPECT_EQ(who == PARENT ? 'P' : 'o', o[i].parent[1]);
		EXPECT_EQ('o', o[i].parent[2]);
		EXPECT_EQ('o', o[i].child[1]);
		EXPECT_EQ(who == CHILD ? 'C' : 'o', o[i].child[2]);
		/* Writing again changes nothing the parent saw. */
		EXPECT_EQ(o[i].parent[0], o[i].parent_after[0]);
	}
	/*
	 * What anon gives on this kernel (with pages only referenced, a
	 * parent that writes in one page of many loses the data of that
	 * page only) ...
	 */
	if (pins == 1 || (pins == 0 && pages == 1)) {
		EXPECT_STREQ(expect[pins][who][0], o[0].parent);
		EXPECT_STREQ(expect[pins][who][1], o[0].child);
	}
	/* ... and hakmem is no different. */
	EXPECT_STREQ(o[0].parent, o[1].parent);
	EXPECT_STREQ(o[0].child, o[1].child);
}

/* Fork with the read in flight; the parent writes in the page first. */
TEST_F_TIMEOUT(dio_fork, parent_writes, 120)
{
	check(_metadata, &self->srv, self->bdev, self->hk, 1, PARENT);
}

/* Fork with the read in flight; the child writes in the page first. */
TEST_F_TIMEOUT(dio_fork, child_writes, 120)
{
	check(_metadata, &self->srv, self->bdev, self->hk, 1, CHILD);
}

/* Fork with the read in flight; nobody writes until it completes. */
TEST_F_TIMEOUT(dio_fork, nobody_writes, 120)
{
	check(_metadata, &self->srv, self->bdev, self->hk, 1, NOBODY);
}

/* A read into many pages, the parent writing in the last one. */
TEST_F_TIMEOUT(dio_fork, many_pages_parent_writes, 120)
{
	check(_metadata, &self->srv, self->bdev, self->hk, MAX_PAGES, PARENT);
}

/* A read into many pages, nobody writing until it completes. */
TEST_F_TIMEOUT(dio_fork, many_pages_nobody_writes, 120)
{
	check(_metadata, &self->srv, self->bdev, self->hk, MAX_PAGES, NOBODY);
}

TEST_HARNESS_MAIN
