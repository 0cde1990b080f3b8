# SPDX-License-Identifier: MIT
# logq: one non-recursive build for the collector, the shipper and the CLI.
#   make            release build into build/release, binaries copied to bin/
#                   (profile-guided: PGO below; `make PGO=0` without)
#   make test       deps check, ASan+UBSan build, unit tests, fuzz replay,
#                   the threaded unit tests under TSan (tsan-unit),
#                   integration scenarios (the README's test command)
#   make demo       three-node demo (see provisioning/README.md)
#   make bench      benchmarks, figures into BENCHMARKS.md
#   make soak       the fault scenarios (tests/integration/9x-fault-*) at
#                   the rates and durations of issue 9 (about an hour)
# Sources are found by wildcard: a new module needs no Makefile edit.
# A file named *_test.c is a cmocka unit test, linked with its program's
# library and libcommon.a.

MODE    ?= release
BUILD   := build/$(MODE)
CC      ?= cc

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif
ifneq ($(CI),)
WARN    += -Werror
endif
# _GNU_SOURCE rather than _POSIX_C_SOURCE alone: memmem, timegm, pipe2,
# inotify and O_CLOEXEC-family calls are used on purpose (Linux only).
# Hardening of the release build (SECURITY.md "Build hardening"; checked by
# tests/integration/06-hardening.sh): glibc's checked string/stdio calls
# (_FORTIFY_SOURCE=3 needs gcc >= 12 and glibc >= 2.34, Debian 12 has both;
# it needs -O1 or more), stack canaries, a position-independent executable
# and a read-only GOT (full RELRO: relocations resolved at start).
# They are kept apart from CFLAGS_release so a build that overrides it (the
# image Dockerfiles pass CFLAGS_release=-O2) still gets them.
# Not in MODE=asan: _FORTIFY_SOURCE swaps memcpy/strlen/... for glibc's
# __*_chk versions, which ASan's interceptors do not see (so ASan misses or
# misreports the very overflows it is there to find), and the canaries
# only duplicate ASan's stack redzones; the asan build stays a pure
# sanitizer build at -O1.
HARDEN_CPPFLAGS_release := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3
HARDEN_CFLAGS_release   := -fstack-protector-strong -fPIE
HARDEN_LDFLAGS_release  := -Wl,-z,relro,-z,now
# Profile-guided optimization of the release build (PGO=1, the default;
# `make PGO=0` builds without it, e.g. while editing: after `make clean`,
# as make does not rebuild objects for changed flags; MODE=asan and
# MODE=tsan never use it). The collector's objects and libcommon's are compiled
# with the counts of a training run (BENCHMARKS.md "A profile-guided
# build"): the store built from generated logs by an instrumented
# store-build (tests/bench/pgo_train.sh), its branches, inlining and
# code layout then follow what ingest does. The instrumented build is
# MODE=pgogen (build/pgogen, the release flags plus -fprofile-generate;
# counters updated atomically, as the store's threads share them); the
# counts go to build/pgo-data, named by object path under the build
# directory (-fprofile-prefix-path), so that build/release/obj/X.o finds
# the counts of build/pgogen/obj/X.o, each function's by its number in its
# file (PGO_ID: by default a static function's id hashes the object's
# path, and 16 functions of index.c and block.c lost their counts). The
# training runs again only when the instrumented store-build, the
# generator or the script changed (the sub-make decides, every time). Code the training does not run (the
# HTTP API, searches, the shipper's part of libcommon) is compiled as
# without a profile (-fprofile-partial-training). The hot store files
# (PGO_CHECKED) must find their counts: a build whose profile went
# missing fails instead of being silently slower. GCC's flags: with
# another compiler (CC=clang) the build is made without PGO.
ifeq ($(origin PGO),undefined)
PGO := $(if $(shell $(CC) -v 2>&1 | grep '^gcc version'),1,0)
endif
PGO_GEN  := build/pgogen
PGO_DATA := build/pgo-data
PGO_ID   := --param=profile-func-internal-id=1
CFLAGS_pgogen  = $(CFLAGS_release) $(PGO_ID) -fprofile-generate=$(CURDIR)/$(PGO_DATA) \
                 -fprofile-prefix-path=$(CURDIR)/$(PGO_GEN) -fprofile-update=atomic
LDFLAGS_pgogen  = $(LDFLAGS_release) -fprofile-generate
HARDEN_CPPFLAGS_pgogen = $(HARDEN_CPPFLAGS_release)
HARDEN_CFLAGS_pgogen   = $(HARDEN_CFLAGS_release)
HARDEN_LDFLAGS_pgogen  = $(HARDEN_LDFLAGS_release)
LTO_pgogen = $(LTO_release)
CPPFLAGS := -I. -D_GNU_SOURCE -MMD -MP $(HARDEN_CPPFLAGS_$(MODE))
CFLAGS_release := -O2 -g
# Link-time optimization of the release build (kept apart from
# CFLAGS_release like the hardening, so the images get it too): calls
# across the search modules inline again (search_step inclusive in
# search_test under callgrind: 50.47 -> 48.00 M instructions, -4.9%; the
# search.c split had cost +1.6%), indexer_test -1.1%, search_prop_test
# -1.7%. The hardening (06-hardening) and logq's static OpenSSL are
# unchanged; a clean release build takes ~8 s more CPU.
LTO_release := -flto=auto
CFLAGS_asan    := -O1 -g -fno-omit-frame-pointer \
                  -fsanitize=address,undefined -fno-sanitize-recover=undefined
# MODE=tsan: ThreadSanitizer, for the tests of code shared between
# threads (store cursors on query workers, the pool): e.g.
# make MODE=tsan build/tsan/tests/collector/store/store_mt_test
CFLAGS_tsan    := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
LDFLAGS_release := -pie
LDFLAGS_asan   := -fsanitize=address,undefined
LDFLAGS_tsan   := -fsanitize=thread
CFLAGS  := -std=c11 $(WARN) $(CFLAGS_$(MODE)) $(HARDEN_CFLAGS_$(MODE)) \
           $(LTO_$(MODE)) $(EXTRA_CFLAGS)
LDFLAGS := $(LDFLAGS_$(MODE)) $(HARDEN_LDFLAGS_$(MODE)) $(LTO_$(MODE)) \
           $(EXTRA_LDFLAGS)
# TLS (common/tls.c): libevent's bufferevent_openssl (pkg-config
# libevent_openssl, in Debian's libevent-dev) over OpenSSL (libssl-dev).
# LIBS_REST: every library but libevent and OpenSSL, which logq's release
# link takes statically (LOGQ_LIBS_release below) and the rest shared.
LIBS_REST := -lz -ldeflate -lzstd -ljansson -lhiredis -lpcre2-8 -lpthread -lm
LIBS    := -levent -levent_pthreads $(shell pkg-config --libs libevent_openssl \
           openssl 2>/dev/null || echo -levent_openssl -lssl -lcrypto) \
           $(LIBS_REST)
TLIBS   := -lcmocka

notest   = $(filter-out %_test.c,$(1))
COMMON_SRC    := $(call notest,$(wildcard common/*.c))
SHIPPER_SRC   := $(filter-out shipper/main.c,$(call notest,$(wildcard shipper/*.c)))
COLLECTOR_SRC := $(filter-out collector/main.c,$(call notest,$(wildcard \
                  collector/*.c collector/*/*.c)))
QUERY_SRC     := $(filter-out query/main.c,$(call notest,$(wildcard query/*.c)))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCOMMON    := $(BUILD)/libcommon.a
LIBSHIPPER   := $(BUILD)/libshipper.a
LIBCOLLECTOR := $(BUILD)/libcollector.a
LIBQUERY     := $(BUILD)/libquery.a

PROGS := $(BUILD)/logq-collector $(BUILD)/logq-shipper $(BUILD)/logq
# Man pages, printed by each program from its own flag table (--man), so
# they are built, never edited; checked by tests/integration/05-cli-flags.
MANPAGES := $(BUILD)/man/logq.1 $(BUILD)/man/logq-collector.8 \
            $(BUILD)/man/logq-shipper.8

TEST_SRC := $(wildcard common/*_test.c shipper/*_test.c collector/*_test.c \
              collector/*/*_test.c query/*_test.c tests/support/*_test.c)
TESTS    := $(patsubst %.c,$(BUILD)/tests/%,$(TEST_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%_replay,$(FUZZ_SRC))

.PHONY: FORCE all build tests test unit tsan-unit release-unit fuzz-replay integration lint clean bench soak \
        demo demo-down demo-refresh images fuzz deps man install print-libs
all: bin/logq-collector bin/logq-shipper bin/logq bin/logq-loggen $(MANPAGES)

ifeq ($(MODE),release)
bin/%: $(BUILD)/% | bin
	cp $< $@.tmp && mv -f $@.tmp $@
bin:
	mkdir -p bin
endif

build: $(PROGS) $(BUILD)/logq-loggen $(MANPAGES)
man: $(MANPAGES)

$(BUILD)/man/%.1: $(BUILD)/%
	@mkdir -p $(dir $@)
	$< --man >$@.tmp && mv -f $@.tmp $@
$(BUILD)/man/%.8: $(BUILD)/%
	@mkdir -p $(dir $@)
	$< --man >$@.tmp && mv -f $@.tmp $@

# make install [PREFIX=/usr/local] [DESTDIR=]: the three programs, their
# man pages and the bash and zsh completion of logq, from $(BUILD)
# (provisioning/install.sh; 05-cli-flags installs into a temporary
# DESTDIR).
PREFIX  ?= /usr/local
DESTDIR ?=
install: $(PROGS) $(MANPAGES)
	provisioning/install.sh $(BUILD) "$(DESTDIR)" "$(PREFIX)"
tests: $(TESTS) $(FUZZ_REPLAY)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# PGO (above, after the hardening flags): the objects compiled with the
# training's counts wait for them.
ifeq ($(MODE)$(PGO),release1)
PGO_OBJS    := $(call obj,$(COMMON_SRC) $(COLLECTOR_SRC) collector/main.c)
PGO_CHECKED := $(call obj,$(addprefix collector/store/,tokenize.c index.c \
               index_write.c block.c tailset.c segment_seal.c store_append.c))
PGO_USE     := $(PGO_ID) -fprofile-use=$(CURDIR)/$(PGO_DATA) \
               -fprofile-prefix-path=$(CURDIR)/$(BUILD) \
               -fprofile-partial-training -Wno-error=coverage-mismatch
$(filter-out $(PGO_CHECKED),$(PGO_OBJS)): CFLAGS += $(PGO_USE) -Wno-missing-profile
$(PGO_CHECKED): CFLAGS += $(PGO_USE) -Werror=missing-profile
$(PGO_OBJS): $(PGO_DATA)/trained
$(PGO_DATA)/trained: FORCE $(BUILD)/logq-loggen tests/bench/pgo_train.sh
	@$(MAKE) -q --no-print-directory MODE=pgogen PGO=0 $(PGO_GEN)/store-build 2>/dev/null || \
	    $(MAKE) --no-print-directory MODE=pgogen PGO=0 $(PGO_GEN)/store-build
	@if [ ! -e $@ ] || [ $(PGO_GEN)/store-build -nt $@ ] || \
	    [ $(BUILD)/logq-loggen -nt $@ ] || [ tests/bench/pgo_train.sh -nt $@ ]; then \
	    tests/bench/pgo_train.sh $(PGO_GEN)/store-build $(BUILD)/logq-loggen \
	        $(PGO_DATA) && touch $@; \
	fi
endif
FORCE:

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBSHIPPER): $(call obj,$(SHIPPER_SRC))
$(LIBCOLLECTOR): $(call obj,$(COLLECTOR_SRC))
$(LIBQUERY): $(call obj,$(QUERY_SRC))
$(BUILD)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	$(if $^,ar rcs $@ $^,ar rcs $@)

$(BUILD)/logq-collector: $(call obj,collector/main.c) $(LIBCOLLECTOR) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/logq-shipper: $(call obj,shipper/main.c) $(LIBSHIPPER) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
# logq (release) links OpenSSL, libevent_openssl and libevent statically:
# loading libssl.so and libcrypto.so took 1.2 of the 2.3 ms of CPU a `logq`
# query costs its process (BENCHMARKS.md "Where a rare term's time goes"),
# libevent's 0.3-0.6 ms more ("Frames in the index"); the daemons, which
# start once, keep the shared libraries. libjansson.a clashes with
# common/utf8.c (utf8_encode), so jansson stays shared.
LOGQ_LIBS_release := -Wl,-Bstatic -levent_openssl -lssl -lcrypto \
                     -levent -levent_pthreads \
                     -Wl,-Bdynamic $(LIBS_REST) -ldl
$(BUILD)/logq: $(call obj,query/main.c) $(LIBQUERY) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(or $(LOGQ_LIBS_$(MODE)),$(LIBS))

# A unit test links with its own program's library, then libcommon (a test
# of tests/support/ with libcommon only).
testlib = $(if $(filter shipper/%,$(1)),$(LIBSHIPPER),$(if $(filter \
          collector/%,$(1)),$(LIBCOLLECTOR),$(if $(filter query/%,$(1)),$(LIBQUERY))))
.SECONDEXPANSION:
$(BUILD)/tests/%: $(BUILD)/obj/%.o $$(call testlib,%) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(TLIBS)

$(BUILD)/fuzz/%_replay: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay.o \
                        $(LIBCOLLECTOR) $(LIBSHIPPER) $(LIBQUERY) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/obj/tests/fuzz/replay.o: CPPFLAGS += -DLOGQ_FUZZ_REPLAY

deps:
	@provisioning/deps.sh

# The README's test command. Installs missing packages first (as root).
# Builds with one job per core (TEST_JOBS) even when make was called
# without -j (CI calls plain `make test`).
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: deps
	$(MAKE) -j$(TEST_JOBS) MODE=asan build tests
	$(MAKE) -j$(TEST_JOBS) all
	tests/run-unit.sh build/asan
	$(MAKE) tsan-unit
	$(MAKE) release-unit
	tests/integration/run.sh build/asan

# Unit tests whose subject is glibc's own malloc, which ASan and TSan
# replace: memtune_test's threshold part is skipped under ASan, so it
# runs here in the release build (about 4 s of build, 1 s of run).
RELEASE_TESTS := build/release/tests/collector/memtune_test
release-unit:
	$(MAKE) -j$(TEST_JOBS) MODE=release $(RELEASE_TESTS)
	@for t in $(RELEASE_TESTS); do echo "release: $$t"; $$t || exit 1; done

unit: deps
	$(MAKE) -j$(TEST_JOBS) MODE=asan build tests
	tests/run-unit.sh build/asan

# ThreadSanitizer over the unit tests of what threads share: the query
# worker pool, store cursors on workers against a sealing, retaining
# writer, a follower's hand-off from the loop to a worker, a shipper
# frame's decode on ingest's decoding thread (its corpus part runs under
# ASan in run-unit.sh; here LOGQ_CORPUS defaults to none), a search's
# creation on a worker while its client leaves (api_create_test), the
# sealing thread's indexing thread (indexer_test), metric downsampling
# on a worker while its client leaves (api_metrics_pool_test), the
# lost-data writer thread (losssave_test) and the shipper's positions
# writer (state_test; both common/filesave.c), the store's WAL syncing
# thread (store_commit_test) and ingest's ACKs after it (ingest_commit_test),
# full tails waiting for the sealing thread (store_pend_test), tails
# closed at a WAL write against syncs held and failed (store_close_test), a seal
# job's frames compressed on the sealing thread's helpers (sealpool_test),
# cold segments rewritten on the recompacting thread (recompact_test). Part of
# `make test` (about 10 s of build and 10 s of run on a quiet machine).
# setarch -R: without address randomization, as gcc 12's TSan cannot map
# its shadow memory under the larger mmap randomization of newer kernels.
TSAN_TESTS := $(patsubst %,build/tsan/tests/collector/%,search/pool_test \
              search/feed_test search/search_mt_test store/store_mt_test ingest/ingest_dec_test \
              api/api_create_test store/indexer_test \
              api/api_metrics_pool_test ingest/losssave_test \
              store/store_commit_test ingest/ingest_commit_test \
              store/store_pend_test store/store_close_test store/sealpool_test \
              store/recompact_test) \
              build/tsan/tests/shipper/state_test
tsan-unit:
	$(MAKE) -j$(TEST_JOBS) MODE=tsan $(TSAN_TESTS)
	@for t in $(TSAN_TESTS); do \
	    if LOGQ_CORPUS=$${LOGQ_CORPUS:-none} TSAN_OPTIONS=halt_on_error=1 \
	        setarch -R $$t >$$t.log 2>&1; then \
	        echo "PASS tsan $${t#build/tsan/tests/}"; \
	    else cat $$t.log; echo "FAIL tsan $$t"; exit 1; fi; done

integration:
	$(MAKE) MODE=asan build
	$(MAKE) all
	tests/integration/run.sh build/asan $(SCENARIO)

# The libraries to link, for the scripts that build outside make
# (tests/fuzz/*.sh): one list, this one.
print-libs:
	@echo $(LIBS)

lint:
	tests/lint.sh

# rsyslog (the peer in the bench) is installed here only, not for make test.
bench: deps all $(BUILD)/store-size
	@provisioning/deps.sh --bench
	tests/bench/run.sh

# The fault suite's long mode on the release build (the short mode runs in
# make test): tests/integration/README.md "Faults".
soak: deps all
	LOGQ_SOAK=1 tests/integration/run.sh build/release \
	    $(notdir $(basename $(wildcard tests/integration/9?-fault-*.sh)))

demo: deps all
	provisioning/demo/demo.sh up

demo-refresh: deps all
	provisioning/demo/demo.sh refresh

demo-down:
	provisioning/demo/demo.sh down

images: deps all
	provisioning/images/build.sh

fuzz:
	tests/fuzz/run-libfuzzer.sh

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)

# tests/bench/deflate_bench.sh: the batch encoders side by side (not in
# make test; libdeflate is linked by the programs too, see LIBS).
$(BUILD)/deflate-bench: $(call obj,tests/bench/deflate_bench.c) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# tests/bench/msgenc_bench.c: what each part of a sealed block costs, and
# the message column as templates + numbers (tplenc.c) against codec 5 (BENCHMARKS.md "Message column encodings"; not in make test).
$(BUILD)/msgenc-bench: $(call obj,tests/bench/msgenc_bench.c tests/bench/tplenc.c) \
                      $(LIBCOLLECTOR) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# tests/bench/zlevel_bench.c: zstd levels on a store's own block bodies
# (BENCHMARKS.md "zstd level of sealed blocks"; not in make test).
$(BUILD)/zlevel-bench: $(call obj,tests/bench/zlevel_bench.c) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# tests/bench/frames_bench.c: codec 6 frame sizes against codec 5 on a
# real store's segments (BENCHMARKS.md "Frames in blocks"; not in make test).
$(BUILD)/frames-bench: $(call obj,tests/bench/frames_bench.c) $(LIBCOLLECTOR) \
                      $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The project's realistic log generator (tests, bench, demo containers).
# Linked statically (so no sanitizers) so it runs inside a busybox image;
# in release as a static PIE with the same hardening as the daemons.
LOGGEN_LINK_release := -static-pie $(HARDEN_CFLAGS_release) \
                       $(HARDEN_LDFLAGS_release)
LOGGEN_LINK := $(or $(LOGGEN_LINK_$(MODE)),-static)
# Its parts: tests/support/loggen*.c (README.md "Source map").
LOGGEN_SRC := $(wildcard tests/support/loggen*.c)
$(BUILD)/logq-loggen: $(LOGGEN_SRC) $(wildcard tests/support/loggen*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=c11 $(WARN) -O2 $(LOGGEN_LINK) -o $@ $(LOGGEN_SRC) -lm

# tests/bench/tok_bench.c: tokenizing and the token index, by hand (not in
# make test): build/release/tok-bench FILE...
$(BUILD)/tok-bench: $(call obj,tests/bench/tok_bench.c) $(LIBCOLLECTOR) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# tests/bench/store_build.c: a store built the same way from the same
# lines, to compare two builds byte for byte (not in make test):
# build/release/store-build DIR FILE...
$(BUILD)/store-build: $(call obj,tests/bench/store_build.c) $(LIBCOLLECTOR) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# tests/bench/merge_bench.c: what a search's merge holds and reads on a
# store of sources shipped in turns of bytes (not in make test):
# build/release/merge-bench [--turn BYTES] DIR WORD FILE...
$(BUILD)/merge-bench: $(call obj,tests/bench/merge_bench.c) $(LIBCOLLECTOR) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# tests/bench/store_size.c: stored bytes of plain log lines through the
# store's own code, as a share of their json-file bytes (bench.py runs it
# on ../shared/corpus; BENCHMARKS.md "Stored size on real samples").
$(BUILD)/store-size: $(call obj,tests/bench/store_size.c) $(LIBCOLLECTOR) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# tests/bench/follow_bench.c: one live follower through the follow path
# alone (BENCHMARKS.md "Live tail"; not in make test):
# build/release/follow-bench [LINES [MSG_BYTES [WINDOW [BUSY_US]]]]
$(BUILD)/follow-bench: $(call obj,tests/bench/follow_bench.c) $(LIBCOLLECTOR) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
