# libhakmem: the allocator, as a shared library (LD_PRELOAD or link) and a
# static archive.  Internals are hidden; only the malloc family and the
# hakmem_* names are exported.

LIB_SRCS := $(addprefix libhakmem/,alloc.c alloc_cxx.c alloc_glibc.c alloc_override.c backing.c backing_kmod.c backing_populate.c chunk_map.c fatal.c \
	heap.c helper.c init.c large.c os.c purge.c state.c stats.c superslab.c unshare.c)
LIB_HDRS := $(wildcard libhakmem/*.h) uapi/linux/hakmem.h

# -fno-builtin-*: stop the compiler from turning hakmem's own code into calls
# to malloc/calloc (e.g. malloc+memset -> calloc), which would recurse.
# -fno-tree-slp-vectorize: free() writes a block's link and tag with two
# stores; GCC 12 packs them through an SSE register, two instructions more.
LIB_CFLAGS := $(HK_CFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fno-semantic-interposition -fno-builtin-malloc -fno-builtin-calloc \
	-fno-builtin-free -fno-builtin-realloc -fno-tree-slp-vectorize -Ilibhakmem -Iuapi

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)

.PHONY: lib
lib: $(LIB_SO) $(LIB_A)

$(BUILD)/libhakmem/%.o: libhakmem/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(LIB_SO): $(LIB_OBJS)
	$(CC) -shared -pthread -Wl,-soname,libhakmem.so.0 -Wl,-z,now -o $@ $^

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# Sanitizer builds keep glibc's malloc (the sanitizers own it) and are used
# through the hakmem_* names.
LIB_TSAN := $(BUILD)/tsan/libhakmem.a
LIB_ASAN_CFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
TSAN_OBJS := $(LIB_SRCS:libhakmem/%.c=$(BUILD)/tsan/%.o)

$(BUILD)/tsan/%.o: libhakmem/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HK_CFLAGS) -O1 -g -fPIC -fsanitize=thread -DHAKMEM_NO_OVERRIDE -Ilibhakmem -Iuapi -c $< -o $@

$(LIB_TSAN): $(TSAN_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# Installation: the library (shared and static), its header, a pkg-config
# file, the `hakmem` wrapper command and the manual page.  LIBDIR is where the
# libraries go on the target system (DESTDIR is prepended when staging);
# distributions set it to their multiarch directory, /usr/lib/<triplet>.
HK_VERSION := $(shell sed -n 's/^\#define HAKMEM_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)/\2/p' libhakmem/hakmem.h | paste -sd.)
LIBDIR ?= $(PREFIX)/lib
HK_LIBDIR = $(DESTDIR)$(LIBDIR)

install: lib
	install -d $(HK_LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(LIB_SO) $(HK_LIBDIR)/libhakmem.so.$(HK_VERSION)
	ln -sf libhakmem.so.$(HK_VERSION) $(HK_LIBDIR)/libhakmem.so.0
	ln -sf libhakmem.so.0 $(HK_LIBDIR)/libhakmem.so
	install -m 644 $(LIB_A) $(HK_LIBDIR)/libhakmem.a
	install -m 644 libhakmem/hakmem.h $(DESTDIR)$(PREFIX)/include/hakmem.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(HK_VERSION)|' \
		libhakmem/hakmem.pc.in > $(HK_LIBDIR)/pkgconfig/hakmem.pc
	install -m 755 scripts/hakmem $(DESTDIR)$(PREFIX)/bin/hakmem
	install -m 644 Documentation/hakmem.7 $(DESTDIR)$(PREFIX)/share/man/man7/hakmem.7
	-[ -z "$(DESTDIR)" ] && ldconfig

uninstall:
	rm -f $(HK_LIBDIR)/libhakmem.so* $(HK_LIBDIR)/libhakmem.a $(HK_LIBDIR)/pkgconfig/hakmem.pc \
		$(DESTDIR)$(PREFIX)/include/hakmem.h $(DESTDIR)$(PREFIX)/bin/hakmem \
		$(DESTDIR)$(PREFIX)/share/man/man7/hakmem.7
