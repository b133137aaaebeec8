#!/usr/bin/env bash
# `make CFLAGS=...` adds the user's flags to the project's own instead of
# replacing them (a command-line variable overrides the Makefile's `+=`), and
# TSAN=1 selects a ThreadSanitizer build in its own directory.  Checked on the
# commands make would run (-n), so nothing is built.
. "$(dirname "$0")/../lib/e2e.sh"
plan 6

# TSAN=0 SANITIZE=0: under `make check TSAN=1` the test inherits TSAN=1
# (environment and MAKEFLAGS), which would move the plain build's objects.
cmd=$(make -n -B TSAN=0 SANITIZE=0 CFLAGS='-O0 -g3' build/obj/src/util.o 2>&1 | grep -- ' -c -o build/obj/src/util.o')
like "$cmd" '-Isrc' "make CFLAGS=... keeps -Isrc"
like "$cmd" '-Idrivers' "make CFLAGS=... keeps -Idrivers"
like "$cmd" '-O0 -g3' "make CFLAGS=... passes the user's flags"
like "$cmd" '-Werror' "make CFLAGS=... keeps the project's warnings"

cmd=$(make -n -B TSAN=1 build-tsan/obj/src/util.o 2>&1 | grep -- ' -c -o build-tsan/obj/src/util.o')
like "$cmd" '-fsanitize=thread' "TSAN=1 compiles with -fsanitize=thread"
cmd=$(make -n -B TSAN=1 CFLAGS=-O1 build-tsan/tests/test_gsm7 2>&1 | grep -- '-o build-tsan/tests/test_' | head -n 1)
like "$cmd" '-fsanitize=thread.*-Isrc|-Isrc.*-fsanitize=thread' "TSAN=1 with CFLAGS links tests with TSan and includes"
finish
