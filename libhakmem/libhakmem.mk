# libhakmem: the allocator, as a shared library (LD_PRELOAD or link) and a
# static archive.  Internals are hidden; only the malloc family and the
# hakmem_* names are exported.

LIB_SRCS := $(addprefix libhakmem/,alloc.c backing.c chunk_map.c heap.c init.c large.c os.c stats.c superslab.c)
LIB_HDRS := $(wildcard libhakmem/*.h)

# -fno-builtin-*: stop the compiler from turning hakmem's own code into calls
# to malloc/calloc (e.g. malloc+memset -> calloc), which would recurse.
LIB_CFLAGS := $(HK_CFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fno-semantic-interposition -fno-builtin-malloc -fno-builtin-calloc \
	-fno-builtin-free -fno-builtin-realloc -Ilibhakmem

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
	$(CC) $(HK_CFLAGS) -O1 -g -fPIC -fsanitize=thread -DHAKMEM_NO_OVERRIDE -Ilibhakmem -c $< -o $@

$(LIB_TSAN): $(TSAN_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^
