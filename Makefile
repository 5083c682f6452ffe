# samlog - build, test, benchmark, install.
#
#   make            build build/samlogd and build/samlog
#   make run        set up, build, create the default node if needed, run it
#   make check      set up, build, run every test, normally and under ASan+UBSan,
#                   plus a short fuzz pass
#   make unit       the fast suites (no daemon, no network): seconds
#   make lint       cppcheck and clang-tidy (part of check)
#   make bench      benchmarks (not part of check)
#   make bench-compare  samlog beside SQLite and the machine's limits
#   make soak       five nodes under partitions and kills, DURATION seconds
#                   (default 600; check runs 60), SEED= to replay
#   make fuzz       fuzz every decoder of outside input, FUZZ_TIME seconds
#                   each (default 300; FUZZ=NAME for one)
#   make install    PREFIX=/usr/local, DESTDIR= for staging
#   make man        regenerate the record commands of man/samlog.1 from
#                   the schema (check fails while the page is stale)
#
# Dependencies are Debian's packages (scripts/deps.sh): what the build
# needs is installed by every target that builds, what the tests need by
# those that test, when run as root; as another user the missing ones are
# named in one apt-get line to run first.  `make deps` installs both.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SAN     ?=
FUZZ_TIME ?= 300
FUZZ_CHECK_TIME ?= 10

PKGS     := libuv lmdb msgpack libsodium libssl libcrypto
# Asked of pkg-config when first used, not when the Makefile is read: on a
# fresh machine the packages (pkg-config too) come with deps-build, which
# every object waits for.
lazy = $(eval $(1) := $$(shell $(2) 2>/dev/null))$($(1))
PKG_CFLAGS = $(call lazy,PKG_CFLAGS,pkg-config --cflags $(PKGS) jansson)
PKG_LIBS   = $(call lazy,PKG_LIBS,pkg-config --libs $(PKGS))
CLI_PC_LIBS = $(call lazy,CLI_PC_LIBS,pkg-config --libs msgpack libsodium)
# msgpack-c, libsodium and Jansson (JSON Lines import) linked in: only
# the C library is loaded at each samlog start, which is most of a short
# command's time.  samlog --version: 0.89-0.91 ms, against 0.95-0.96 ms
# with the two loaded, and 0.90-0.91 ms for /bin/true (perf stat -r 1000,
# three runs each).  A fix in one of them needs samlog built again.
CLI_LIBS   = -Wl,-Bstatic $(CLI_PC_LIBS) -ljansson -Wl,-Bdynamic

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
           -Wno-format-nonliteral -Wmissing-prototypes
CFLAGS  ?= -O2 -g
ifeq ($(SAN),1)
CFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -MMD -MP \
              $(PKG_CFLAGS)
# Each folder sees only the headers it may use: protocol/ its own, the
# daemon and the CLI protocol/ and their own, the tests everything.  A
# forbidden include (cli/ reaching into daemon/, protocol/ into either)
# is a compile error.
INC_protocol := -Iprotocol
INC_daemon   := -Iprotocol -Idaemon
INC_cli      := -Iprotocol -Icli
INC_tests    := -Iprotocol -Idaemon -Icli -Itests/unit
inc = $(INC_$(firstword $(subst /, ,$(1))))

PROTO_SRC  := protocol/mp.c protocol/event.c protocol/crypto.c protocol/frame.c \
              protocol/clock.c protocol/base32.c protocol/node.c protocol/hash.c \
              protocol/schema.c protocol/record.c protocol/peer_wire.c \
              protocol/text.c protocol/labels.c protocol/timefmt.c \
              protocol/member.c protocol/evfile.c protocol/checkpoint.c \
              protocol/forkproof.c protocol/erasure.c protocol/tar.c
# What the CLI needs: no OpenSSL, no LMDB, no libuv (start-up time);
# SHA-256 for checking audit bundles comes from libsodium.
CLI_PROTO_SRC := protocol/mp.c protocol/frame.c protocol/base32.c \
              protocol/node.c protocol/crypto.c protocol/event.c \
              protocol/clock.c protocol/hash_sodium.c protocol/schema.c \
              protocol/record.c protocol/text.c protocol/labels.c \
              protocol/timefmt.c protocol/member.c \
              protocol/evfile.c protocol/checkpoint.c protocol/forkproof.c \
              protocol/erasure.c protocol/tar.c
STORE_SRC  := daemon/store.c daemon/wal.c daemon/project.c daemon/log.c
DAEMON_SRC := daemon/config.c daemon/control.c daemon/cmd.c \
              daemon/cmd_args.c daemon/cmd_write.c daemon/cmd_read.c \
              daemon/cmd_import.c daemon/cmd_member.c daemon/cmd_events.c \
              daemon/cmd_peer.c daemon/cmd_ckpt.c daemon/cmd_device.c daemon/cmd_fork.c \
              daemon/cmd_ledger.c daemon/cmd_erase.c daemon/cmd_backup.c \
              daemon/audit.c daemon/rights.c \
              daemon/tls.c daemon/conn.c daemon/sync.c
CLI_SRC    := cli/parser.c cli/records.c cli/output.c cli/output_json.c \
              cli/request.c cli/import.c cli/export.c cli/fileio.c \
              cli/bundle.c cli/chains.c cli/pins.c cli/events.c cli/restore.c \
              cli/report.c cli/html.c cli/words.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
PROTO_OBJ  := $(call obj,$(PROTO_SRC))
STORE_OBJ  := $(call obj,$(STORE_SRC))
DAEMON_OBJ := $(call obj,$(DAEMON_SRC))
CLI_OBJ    := $(call obj,$(CLI_SRC))
CLI_PROTO_OBJ := $(call obj,$(CLI_PROTO_SRC))

TESTS := test_mp test_event test_output test_schema test_store test_project \
         test_fold test_member test_node test_e2e test_sync test_fault test_hostile \
         test_meaning test_attack test_attack13 test_attack14 test_soak test_sheets \
         test_cli_golden test_report test_raw test_evfile test_ckpt test_device test_fork \
         test_majority test_erase
TEST_BINS := $(addprefix $(BUILD)/,$(TESTS))

.PHONY: all deps deps-build run check lint tests test-run unit bench bench-compare fuzz \
        fuzz-check soak install uninstall clean man man-check screenshots
.DEFAULT_GOAL := all

all: $(BUILD)/samlogd $(BUILD)/samlog $(BUILD)/samlog-ui

$(BUILD)/obj/%.o: %.c | deps-build
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(call inc,$*) -c $< -o $@

$(BUILD)/samlogd: $(BUILD)/obj/daemon/samlogd.o $(DAEMON_OBJ) $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/samlog: $(BUILD)/obj/cli/samlog.o $(CLI_OBJ) $(CLI_PROTO_OBJ)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(CLI_LIBS)
# samlog ui runs this program (beside samlog): libmicrohttpd and what it
# loads stay out of every other samlog command's start.
$(BUILD)/samlog-ui: $(BUILD)/obj/cli/ui_main.o $(BUILD)/obj/cli/ui.o $(CLI_OBJ) $(CLI_PROTO_OBJ)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(CLI_LIBS) -lmicrohttpd

# ---- tests -----------------------------------------------------------------

# The tests' and benchmarks' objects need the test packages (cmocka).
$(call obj,$(wildcard tests/unit/*.c tests/bench/*.c)): | deps

$(BUILD)/test_mp: $(BUILD)/obj/tests/unit/test_mp.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_event: $(BUILD)/obj/tests/unit/test_event.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
# The CLI's output backends, linked as samlog links them (no daemon).
$(BUILD)/test_output: $(BUILD)/obj/tests/unit/test_output.o $(BUILD)/obj/tests/unit/testutil.o $(CLI_OBJ) $(CLI_PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CLI_LIBS) -lcmocka
# The schema against the CLI's parser, import, export, tables and docs.
$(BUILD)/test_schema: $(BUILD)/obj/tests/unit/test_schema.o $(CLI_OBJ) $(CLI_PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLI_LIBS) -lcmocka
$(BUILD)/test_store: $(BUILD)/obj/tests/unit/test_store.o $(BUILD)/obj/tests/unit/testutil.o $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_project: $(BUILD)/obj/tests/unit/test_project.o $(BUILD)/obj/tests/unit/testutil.o $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_member: $(BUILD)/obj/tests/unit/test_member.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/test_fold: $(BUILD)/obj/tests/unit/test_fold.o $(BUILD)/obj/tests/unit/testutil.o $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_e2e: $(BUILD)/obj/tests/unit/test_e2e.o $(BUILD)/obj/tests/unit/testutil.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
# Spreadsheets in and out through samlog and a real samlogd.
$(BUILD)/test_sheets: $(BUILD)/obj/tests/unit/test_sheets.o $(BUILD)/obj/tests/unit/testutil.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_sync: $(BUILD)/obj/tests/unit/test_sync.o $(BUILD)/obj/tests/unit/cluster.o $(BUILD)/obj/tests/unit/testutil.o $(BUILD)/obj/tests/unit/fill.o $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
CLUSTER_OBJ := $(BUILD)/obj/tests/unit/cluster.o $(BUILD)/obj/tests/unit/testutil.o
$(BUILD)/test_device: $(BUILD)/obj/tests/unit/test_device.o $(CLUSTER_OBJ) $(BUILD)/obj/tests/unit/fill.o $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_fault: $(BUILD)/obj/tests/unit/test_fault.o $(BUILD)/obj/tests/unit/relay.o $(CLUSTER_OBJ) $(BUILD)/obj/tests/unit/fill.o $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_soak: $(BUILD)/obj/tests/unit/test_soak.o $(BUILD)/obj/tests/unit/relay.o $(CLUSTER_OBJ) $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_hostile: $(BUILD)/obj/tests/unit/test_hostile.o $(BUILD)/obj/tests/unit/attacker.o $(CLUSTER_OBJ) $(DAEMON_OBJ) $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_meaning: $(BUILD)/obj/tests/unit/test_meaning.o $(BUILD)/obj/tests/unit/attacker.o $(BUILD)/obj/tests/unit/victim.o $(CLUSTER_OBJ) $(DAEMON_OBJ) $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
# The security review's findings (the open ones: SAMLOG_ATTACK_OPEN=1).
$(BUILD)/test_attack: $(BUILD)/obj/tests/unit/test_attack.o $(BUILD)/obj/tests/unit/attacker.o $(BUILD)/obj/tests/unit/victim.o $(CLUSTER_OBJ) $(DAEMON_OBJ) $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
# Issue 13's review (the open ones: SAMLOG_ATTACK_OPEN=1).
$(BUILD)/test_attack13: $(BUILD)/obj/tests/unit/test_attack13.o $(BUILD)/obj/tests/unit/attacker.o $(BUILD)/obj/tests/unit/victim.o $(CLUSTER_OBJ) $(DAEMON_OBJ) $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
# Issue 14's review: membership in the log, the deciding organisation
# (the open ones: SAMLOG_ATTACK_OPEN=1).
$(BUILD)/test_attack14: $(BUILD)/obj/tests/unit/test_attack14.o $(BUILD)/obj/tests/unit/attacker.o $(BUILD)/obj/tests/unit/victim.o $(CLUSTER_OBJ) $(DAEMON_OBJ) $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
# The CLI's output against tests/golden/, through real daemons.
$(BUILD)/test_report: $(BUILD)/obj/tests/unit/test_report.o $(CLUSTER_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_cli_golden: $(BUILD)/obj/tests/unit/test_cli_golden.o $(CLUSTER_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
# The raw event export's format and checker, without a daemon.
$(BUILD)/test_evfile: $(BUILD)/obj/tests/unit/test_evfile.o $(CLI_OBJ) $(CLI_PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLI_LIBS) -lcmocka
# Witnessed checkpoints (PROTOCOL.md 15): the payload's rules, the
# worked example, and real daemons witnessing each other.
$(BUILD)/test_ckpt: $(BUILD)/obj/tests/unit/test_ckpt.o $(CLUSTER_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
# Fork proofs (PROTOCOL.md 16): the payload's rules, the worked example,
# and real daemons passing a proof along a line.
$(BUILD)/test_fork: $(BUILD)/obj/tests/unit/test_fork.o $(BUILD)/obj/tests/unit/attacker.o $(CLUSTER_OBJ) $(DAEMON_OBJ) $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
# Raw event exports from real daemons, verified offline (PROTOCOL.md 14).
# Admission by majority (PROTOCOL.md 12.4) with real daemons.
$(BUILD)/test_majority: $(BUILD)/obj/tests/unit/test_majority.o $(CLUSTER_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
# Erasure (PROTOCOL.md 5.1, 5.2) with real daemons, and a hostile member.
$(BUILD)/test_erase: $(BUILD)/obj/tests/unit/test_erase.o $(BUILD)/obj/tests/unit/attacker.o $(BUILD)/obj/tests/unit/victim.o $(CLUSTER_OBJ) $(DAEMON_OBJ) $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_raw: $(BUILD)/obj/tests/unit/test_raw.o $(CLUSTER_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
$(BUILD)/test_node: $(BUILD)/obj/tests/unit/test_node.o $(BUILD)/obj/tests/unit/testutil.o $(DAEMON_OBJ) $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

tests: all $(TEST_BINS)

# The fast tier for the edit-test loop: the suites that need no daemon
# and no network (a few seconds in all).
UNIT := test_mp test_event test_output test_schema test_store test_project \
        test_fold test_member test_evfile
unit: $(addprefix $(BUILD)/,$(UNIT))
	@SAMLOG_SUITES="$(UNIT)" sh tests/run.sh $(BUILD)

# Runs the suites of one build directory (used by check for both builds).
test-run: tests
	@sh tests/run.sh $(BUILD)

check: deps lint man-check
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 tests
	@$(MAKE) --no-print-directory fuzz-build
	@rm -rf build/stage
	@$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/build/stage >/dev/null
	@SAMLOG_UNIT=build/stage/lib/systemd/system/samlogd.service \
	    SAMLOG_MAN="$$(echo build/stage/share/man/man*/*)" \
	    SAMLOG_FUZZ_TIME=$(FUZZ_CHECK_TIME) \
	    sh tests/run.sh build build/asan -- $(FUZZ_TARGETS)

# ---- static analysis -----------------------------------------------------
#
# cppcheck over the product and the tests, with the suppressions (and the
# reasons for them) in tests/lint/; then clang-tidy over the product with
# the checks in .clang-tidy (tests/lint/README.md says which, and why some
# are off).  Any finding of either fails the check.  clang-tidy runs the
# static analyzer, so it is the slow part: one file per job, TIDY_JOBS at
# a time, largest first so that the last job to finish is a short one.

CPPCHECK_FLAGS := --quiet --enable=warning,portability,performance \
                  --inline-suppr --error-exitcode=1 --std=c11 -D_GNU_SOURCE \
                  --suppressions-list=tests/lint/cppcheck.supp \
                  -Iprotocol -Idaemon -Icli

TIDY_SRC    := $(wildcard protocol/*.c daemon/*.c cli/*.c)
TIDY_JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
TIDY_CFLAGS = -std=c11 -D_GNU_SOURCE -Iprotocol -Idaemon -Icli -Itests/unit \
               $(PKG_CFLAGS)
# One file (the script's $0): its report is printed in one piece, so that
# parallel jobs do not interleave, and without clang's "N warnings
# generated." (a count of what clang-tidy filtered out: system headers).
TIDY_ONE = out=$$(clang-tidy -quiet --warnings-as-errors="*" "$$0" -- \
           $(TIDY_CFLAGS) 2>&1); rc=$$?; printf "%s\n" "$$out" | \
           grep -v -e "^[0-9]* warnings* generated\.$$" -e "^$$"; exit $$rc

.PHONY: lint
lint: deps
	@echo "== cppcheck"
	@cppcheck $(CPPCHECK_FLAGS) protocol daemon cli tests
	@echo "== clang-tidy"
	@ls -S $(TIDY_SRC) | xargs -P$(TIDY_JOBS) -n1 sh -c '$(TIDY_ONE)'

# ---- fuzzing (clang's libFuzzer) -----------------------------------------
#
# One target per decoder of outside input (tests/fuzz/fuzz_*.c), each with
# a seed corpus in tests/fuzz/corpus/NAME.  `make fuzz` runs each for
# FUZZ_TIME seconds (FUZZ=NAME for one); check runs each for
# FUZZ_CHECK_TIME.  Crashes land in tests/fuzz/crashes/ and, once fixed,
# are kept in tests/fuzz/regress/NAME, which check replays every time.

FUZZ_CC ?= clang
FUZZ_TARGETS := event peer control config import bundle events fork
FUZZ ?= $(FUZZ_TARGETS)
FUZZ_FLAGS = -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) \
              -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=all $(PKG_CFLAGS)
fuzz_obj = $(patsubst %.c,build/fuzz/obj/%.o,$(1))
FUZZ_DAEMON_OBJ := $(call fuzz_obj,$(PROTO_SRC) $(STORE_SRC) $(DAEMON_SRC))
FUZZ_CLI_OBJ := $(call fuzz_obj,$(CLI_SRC) $(CLI_PROTO_SRC))
FUZZ_BINS := $(addprefix build/fuzz/fuzz_,$(FUZZ_TARGETS))

build/fuzz/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(call inc,$*) -MMD -MP -c $< -o $@

FUZZ_LINK = $(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^
# event, peer and fork read only what the protocol library decodes.
build/fuzz/fuzz_event build/fuzz/fuzz_peer build/fuzz/fuzz_fork: \
    build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o \
    $(call fuzz_obj,$(PROTO_SRC))
	$(FUZZ_LINK) $(PKG_LIBS)
build/fuzz/fuzz_control build/fuzz/fuzz_config: \
    build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_DAEMON_OBJ)
	$(FUZZ_LINK) $(PKG_LIBS)
build/fuzz/fuzz_import build/fuzz/fuzz_bundle build/fuzz/fuzz_events: \
    build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_CLI_OBJ)
	$(FUZZ_LINK) $(CLI_LIBS)

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	@for t in $(FUZZ); do \
	    mkdir -p build/fuzz/corpus-$$t tests/fuzz/crashes; \
	    echo "== fuzz_$$t for $(FUZZ_TIME)s"; \
	    build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) \
	        -artifact_prefix=tests/fuzz/crashes/$$t- \
	        build/fuzz/corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# ---- soak --------------------------------------------------------------------
#
# Five nodes under clients, partitions and kills for DURATION seconds
# (check runs 60); SEED replays a run's schedule (it is always printed).

SEED     ?=
DURATION ?= 600

soak: deps
	@$(MAKE) --no-print-directory all $(BUILD)/test_soak
	@SAMLOG_BUILD=$(BUILD) SAMLOG_SOAK_SEED=$(SEED) \
	    SAMLOG_SOAK_DURATION=$(DURATION) $(BUILD)/test_soak

# ---- benchmarks ------------------------------------------------------------

$(BUILD)/bench_store: $(BUILD)/obj/tests/bench/bench_store.o $(BUILD)/obj/tests/unit/testutil.o $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench_daemon: $(BUILD)/obj/tests/bench/bench_daemon.o $(BUILD)/obj/tests/bench/benchnode.o $(BUILD)/obj/tests/unit/testutil.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench_sync: $(BUILD)/obj/tests/bench/bench_sync.o $(BUILD)/obj/tests/bench/benchnode.o $(BUILD)/obj/tests/unit/testutil.o $(BUILD)/obj/tests/unit/fill.o $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench_record: $(BUILD)/obj/tests/bench/bench_record.o $(BUILD)/obj/tests/unit/testutil.o $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/bench_member: $(BUILD)/obj/tests/bench/bench_member.o $(BUILD)/obj/tests/unit/testutil.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench_load: $(BUILD)/obj/tests/bench/bench_load.o $(CLUSTER_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/bench_compare: $(BUILD)/obj/tests/bench/bench_compare.o $(BUILD)/obj/tests/bench/benchnode.o $(BUILD)/obj/tests/unit/testutil.o $(BUILD)/obj/tests/unit/fill.o $(STORE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lsqlite3

$(BUILD)/bench_sqlite_query: $(BUILD)/obj/tests/bench/sqlite_query.o
	$(CC) $(LDFLAGS) -o $@ $^ -lsqlite3

# samlog beside SQLite (Debian's libsqlite3, WAL, synchronous=FULL) and the
# machine's limits, in one run, with each ratio and its target.
bench-compare: deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench_compare \
	    $(BUILD)/bench_sqlite_query
	@SAMLOG_BUILD=$(BUILD) $(BUILD)/bench_compare

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench_store $(BUILD)/bench_daemon \
	    $(BUILD)/bench_record $(BUILD)/bench_sync $(BUILD)/bench_load \
	    $(BUILD)/bench_member
	@echo "== events with 200-byte payloads"
	@BENCH_PAYLOAD=200 $(BUILD)/bench_store
	@echo "== 200-byte events (37-byte payloads)"
	@BENCH_PAYLOAD=37 $(BUILD)/bench_store
	@echo "== the daemon and the CLI"
	@SAMLOG_BUILD=$(BUILD) $(BUILD)/bench_daemon
	@echo "== records: many events on one record; rebuilds"
	@$(BUILD)/bench_record
	@echo "== settling the members"
	@$(BUILD)/bench_member
	@echo "== sync between two daemons over TLS on loopback"
	@SAMLOG_BUILD=$(BUILD) $(BUILD)/bench_sync
	@echo "== 32 clients writing to one node while two peers sync"
	@SAMLOG_BUILD=$(BUILD) $(BUILD)/bench_load

# ---- the man page's record commands --------------------------------------
#
# samlog(1) documents the record commands between two marker lines; that
# part is printed by build/samlog-mangen from the command table samlog
# parses with (made from the record schema).  `make man` rewrites it;
# man-check (part of check) fails while the committed page differs.

$(BUILD)/samlog-mangen: $(BUILD)/obj/cli/mangen.o $(CLI_OBJ) $(CLI_PROTO_OBJ)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(CLI_LIBS)

man: $(BUILD)/samlog-mangen
	@sh scripts/man.sh $(BUILD)/samlog-mangen man/samlog.1 update

man-check: $(BUILD)/samlog-mangen
	@sh scripts/man.sh $(BUILD)/samlog-mangen man/samlog.1 check

# ---- running and installing -----------------------------------------------

# deps waits for deps-build: under -j the two never run apt-get at once.
deps: deps-build
	@sh scripts/deps.sh test
deps-build:
	@sh scripts/deps.sh build

# The main job: a default node (created on first run, for the
# organisation ORG names, asked for on a terminal) served in the
# foreground; Ctrl-C stops it.
ORG ?=
export ORG
run: all
	@sh scripts/run.sh $(BUILD)

# The web page's main pages at 1280x800 and the board report's first
# page, as PNG files in build/screenshots (the browser tests make them).
screenshots: deps all
	@/usr/bin/python3 tests/browser/test_ui.py $(BUILD) --screenshots \
	    $(CURDIR)/build/screenshots
	@ls build/screenshots/*.png

UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
COMPLDIR    ?= $(PREFIX)/share/bash-completion/completions
MANDIR      ?= $(PREFIX)/share/man

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 $(BUILD)/samlog $(DESTDIR)$(PREFIX)/bin/samlog
	install -m 0755 $(BUILD)/samlog-ui $(DESTDIR)$(PREFIX)/bin/samlog-ui
	install -m 0755 $(BUILD)/samlogd $(DESTDIR)$(PREFIX)/bin/samlogd
	sed 's#@BINDIR@#$(PREFIX)/bin#g' systemd/samlogd.service.in \
	    > $(BUILD)/samlogd.service
	install -m 0644 $(BUILD)/samlogd.service \
	    $(DESTDIR)$(UNITDIR)/samlogd.service
	install -m 0644 systemd/samlog.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/samlog.conf
	install -d $(DESTDIR)$(COMPLDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 completion/samlog.bash $(DESTDIR)$(COMPLDIR)/samlog
	install -m 0644 man/samlog.1 $(DESTDIR)$(MANDIR)/man1/samlog.1
	install -m 0644 man/samlog.conf.5 $(DESTDIR)$(MANDIR)/man5/samlog.conf.5
	install -m 0644 man/samlogd.8 $(DESTDIR)$(MANDIR)/man8/samlogd.8

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/samlog $(DESTDIR)$(PREFIX)/bin/samlogd \
	    $(DESTDIR)$(PREFIX)/bin/samlog-ui \
	    $(DESTDIR)$(UNITDIR)/samlogd.service \
	    $(DESTDIR)$(SYSUSERSDIR)/samlog.conf \
	    $(DESTDIR)$(COMPLDIR)/samlog $(DESTDIR)$(MANDIR)/man1/samlog.1 \
	    $(DESTDIR)$(MANDIR)/man5/samlog.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/samlogd.8

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(shell find build/fuzz/obj -name '*.d' 2>/dev/null)
