# smspool — one plain GNU Makefile.  Sources are found by wildcard so that a
# new codec, driver or test needs no edit here.
#   make            build bin/smspool
#   make run        install deps, start the private database, run the daemon
#   make check      the same set-up, then every test; last line "N passed, N failed"
#   make SANITIZE=1 ASan+UBSan build (in build-san/)
#   make TSAN=1     ThreadSanitizer build (in build-tsan/)
#   make CFLAGS=... the user's flags are added after the project's own
#                   (include paths, warnings, sanitizers), never replace them

SANITIZE ?= 0
TSAN ?= 0
FUZZ_SECONDS ?= 10
CC ?= cc
PKGS := libpq libevent jansson libevent_openssl openssl libcurl libmicrohttpd libprotobuf-c libsystemd odbc gmime-3.0 libserialport

ifeq ($(TSAN),1)
B := build-tsan
BIN := build-tsan/bin/smspool
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifeq ($(SANITIZE),1)
B := build-san
BIN := build-san/bin/smspool
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B := build
BIN := bin/smspool
SANFLAGS :=
endif
# tests/run.sh and packaging/run.sh find the binary and build dir through these.
export SMSPOOL_BIN := $(BIN)
export SMSPOOL_BUILD := $(B)
export FUZZ_SECONDS

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -levent_pthreads
# The project's own flags live in SMSPOOL_CFLAGS; CFLAGS and LDFLAGS are the
# user's (a command-line `make CFLAGS=-O0` replaces a variable wholesale, so
# nothing the build needs may live in them).
CFLAGS ?= -O2 -g
SMSPOOL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	-Isrc -Idrivers -I$(B)/gen $(PKG_CFLAGS) $(SANFLAGS) -MMD -MP
ALL_CFLAGS = $(SMSPOOL_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LDLIBS := $(PKG_LIBS) -lpthread -lm

MAIN_SRC := src/main.c
LIB_SRC := $(filter-out $(MAIN_SRC),$(wildcard src/*.c src/*/*.c drivers/*.c drivers/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/sql_embedded.o $(B)/obj/gen/link.pb-c.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
SQL_FILES := $(sort $(wildcard sql/*.sql))

.PHONY: all deps test-deps bench-deps run check test unit fuzz-build fuzz format format-check clean distclean bench soak deb deb-check
all: $(BIN)

$(BIN): $(B)/obj/src/main.o $(B)/libsmspool.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/libsmspool.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The migrations are compiled into the binary so that an installed daemon
# needs no sql/ directory beside it.
$(B)/gen/sql_embedded.c: $(SQL_FILES) packaging/embed-sql.sh
	@mkdir -p $(dir $@)
	sh packaging/embed-sql.sh $(SQL_FILES) > $@

$(B)/obj/gen/sql_embedded.o: $(B)/gen/sql_embedded.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The native link's frame schema, compiled by protoc-c (protobuf-c-compiler).
# Generated code is not ours to warn about: -w for it alone.
$(B)/gen/link.pb-c.c $(B)/gen/link.pb-c.h: drivers/link/link.proto
	@mkdir -p $(B)/gen
	protoc-c --proto_path=drivers/link --c_out=$(B)/gen $<

$(B)/obj/gen/link.pb-c.o: $(B)/gen/link.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -w -c -o $@ $<

# Everything that includes the generated header waits for it.
$(LIB_SRC:%.c=$(B)/obj/%.o) $(B)/obj/src/main.o $(UNIT_BIN): | $(B)/gen/link.pb-c.h

$(B)/tests/%: tests/unit/%.c $(B)/libsmspool.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(B)/libsmspool.a $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)

# libFuzzer targets: clang, ASan+UBSan.  The library is compiled once with
# fuzzer instrumentation into build-fuzz/libsmspool.a; each target links it.
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -Isrc -Idrivers -I$(B)/gen $(PKG_CFLAGS) \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -MMD -MP
FUZZ_OBJ := $(LIB_SRC:%.c=build-fuzz/obj/%.o) build-fuzz/obj/gen/sql_embedded.o build-fuzz/obj/gen/link.pb-c.o

build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c -o $@ $<

build-fuzz/obj/gen/sql_embedded.o: $(B)/gen/sql_embedded.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c -o $@ $<

build-fuzz/obj/gen/link.pb-c.o: $(B)/gen/link.pb-c.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -w -c -o $@ $<

$(LIB_SRC:%.c=build-fuzz/obj/%.o) $(FUZZ_BIN): | $(B)/gen/link.pb-c.h

build-fuzz/libsmspool.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

build-fuzz/%: tests/fuzz/%.c build-fuzz/libsmspool.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libsmspool.a $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

deps:
	@sh packaging/install-deps.sh

# Also the independent peers the tests start (Kannel, mail servers, ODBC
# engines, Gammu, Prometheus, npm smpp): installed here, never by a test.
test-deps:
	@sh packaging/install-deps.sh --test

# What the tests need and the benchmark's own tools (gnuplot): the benchmark
# installs nothing itself either.
bench-deps:
	@sh packaging/install-deps.sh --bench

# deps runs first and alone; the build is a second make so that pkg-config
# is asked for flags only once the -dev packages are installed.
run: deps
	@$(MAKE) --no-print-directory all
	@sh packaging/run.sh

check: test-deps
	@$(MAKE) --no-print-directory -j2 all unit fuzz-build
	@sh tests/run.sh

test: check

bench: bench-deps
	@$(MAKE) --no-print-directory all
	@sh tests/bench/run.sh

format:
	clang-format -i $(wildcard src/*.[ch] src/*/*.[ch] drivers/*.[ch] drivers/*/*.[ch] tests/*/*.[ch])

format-check:
	@clang-format --dry-run --Werror $(wildcard src/*.[ch] src/*/*.[ch] drivers/*.[ch] drivers/*/*.[ch] tests/*/*.[ch])

clean:
	rm -rf build build-san build-tsan build-fuzz bin

# Also removes the private database cluster under var/.
distclean: clean
	sh packaging/pgcluster.sh stop >/dev/null 2>&1 || true
	rm -rf var

-include $(shell find $(B) build-fuzz -name '*.d' 2>/dev/null)

# The Debian package (plain dpkg-deb), and its install test: deb-check
# installs it on this machine as root, runs the installed binary against the
# private cluster and purges it (its own target: it changes the machine).
deb: all
	@sh packaging/deb.sh $(BIN)

deb-check: deb
	@bash tests/deb/install.sh

soak: test-deps
	@$(MAKE) --no-print-directory all
	@bash tests/soak/run.sh
