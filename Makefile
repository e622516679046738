# distpoll - top-level GNU Makefile: builds every binary into build/.
#   make            build everything         make test     format-check + unit (+ASan/UBSan) + integration
#   make run/stop   private local stack      make bench    benchmarks that print figures
#   make SAN=address,undefined O=0           sanitizer build into build/san/
SHELL := /bin/bash
O ?= 2
ifdef SAN
BUILD ?= build/san
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# -O1's weaker range analysis reports bounded snprintf truncation that -O2 proves safe;
# the plain build keeps -Wformat-truncation (and -Werror in CI).
SANWARN := -Wno-format-truncation
else
BUILD ?= build
endif
CFLAGS ?= -O$(O) -g
WARN := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
ifeq ($(CI),true)
WARN += -Werror
endif
BASE_PKGS := libczmq libzmq hiredis libmariadb msgpack libsodium libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(BASE_PKGS) netsnmp librrd 2>/dev/null)
BASE_LIBS := $(shell pkg-config --libs $(BASE_PKGS) 2>/dev/null) -lpthread -lm
SNMP_LIBS := $(shell pkg-config --libs netsnmp 2>/dev/null)
RRD_LIBS := $(shell pkg-config --libs librrd 2>/dev/null)
ALL_CFLAGS = $(CFLAGS) $(WARN) $(SANWARN) $(SANFLAGS) $(PKG_CFLAGS) -Icommon -MMD -MP
LDFLAGS += $(SANFLAGS)

COMMON_SRC := $(wildcard common/*.c)
OBJ := $(BUILD)/obj
COMMON_OBJ := $(COMMON_SRC:%.c=$(OBJ)/%.o)
LIBCOMMON := $(BUILD)/libdpcommon.a

# Daemons: one folder each; a folder with main.c builds $(BUILD)/<folder>.
DAEMONS := $(foreach d,scheduler poller discoverer biller rrdwriter,$(if $(wildcard $(d)/main.c),$(d)))
scheduler_LIBS := $(BASE_LIBS)
poller_LIBS := $(SNMP_LIBS) $(BASE_LIBS)
discoverer_LIBS := $(SNMP_LIBS) $(BASE_LIBS)
biller_LIBS := $(SNMP_LIBS) $(BASE_LIBS)
rrdwriter_LIBS := $(RRD_LIBS) $(BASE_LIBS)
cli_LIBS := $(RRD_LIBS) $(SNMP_LIBS) $(BASE_LIBS)
BINS := $(DAEMONS:%=$(BUILD)/%) $(if $(wildcard cli/main.c),$(BUILD)/distpoll) \
	$(if $(wildcard simulator/main.c),$(BUILD)/dpsim)

UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(BUILD)/tests/unit_run
IT_SRC := $(wildcard tests/integration/*.c)
IT_BINS := $(IT_SRC:tests/integration/%.c=$(BUILD)/tests/%)
FMT_SRC = $(shell git ls-files -co --exclude-standard '*.c' '*.h' 2>/dev/null)

.PHONY: all deps test unit integration bench fault run stop format format-check memcheck clean
all: $(LIBCOMMON) $(BINS) $(UNIT_BIN) $(IT_BINS)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

define daemon_rule
$(BUILD)/$(1): $(patsubst %.c,$(OBJ)/%.o,$(wildcard $(1)/*.c)) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$($(1)_LIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rule,$(d))))
# The poller builds METRICS with the rrdwriter's RRD definitions (one shared table).
$(BUILD)/poller: $(OBJ)/rrdwriter/rrdwriter_def.o

$(BUILD)/distpoll: $(patsubst %.c,$(OBJ)/%.o,$(wildcard cli/*.c)) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(cli_LIBS)

# The SNMP device simulator (issue: simulator and bench).
$(BUILD)/dpsim: $(patsubst %.c,$(OBJ)/%.o,$(wildcard simulator/*.c)) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(SNMP_LIBS) $(BASE_LIBS) -lz

# Unit tests link libdpcommon plus every binary's modules except its main.c.
BIN_MODULES := $(filter-out %/main.c,$(wildcard $(foreach d,scheduler poller discoverer biller rrdwriter cli simulator,$(d)/*.c)))
$(UNIT_BIN): $(UNIT_SRC:%.c=$(OBJ)/%.o) $(BIN_MODULES:%.c=$(OBJ)/%.o) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(RRD_LIBS) $(SNMP_LIBS) $(BASE_LIBS) -lz

# Integration helpers may use any binary's modules (from an archive: only what they call).
LIBMODULES := $(BUILD)/libdpmodules.a
$(LIBMODULES): $(BIN_MODULES:%.c=$(OBJ)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/tests/%: $(OBJ)/tests/integration/%.o $(LIBMODULES) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(RRD_LIBS) $(SNMP_LIBS) $(BASE_LIBS) -lz

deps:
	@bash tests/lib/deps.sh

test: deps
	@bash tests/run-all.sh

unit: $(UNIT_BIN)
	$(UNIT_BIN)

integration: all
	@bash tests/integration/run.sh

bench: deps all
	@bash tests/bench/run.sh

# Longer fault runs than make test affords: rrdcached down 60 s (kill -9, then SIGTERM),
# and the end-to-end pipeline with the production-like 60 s interval and kills.
fault: deps all
	DP_OUTAGE_S=60 DP_OUTAGE_SIG=KILL DP_IT_TIMEOUT=900 bash tests/integration/run.sh test_rrdwriter_outage
	DP_OUTAGE_S=60 DP_OUTAGE_SIG=TERM DP_IT_TIMEOUT=900 bash tests/integration/run.sh test_rrdwriter_outage
	DP_E2E_INTERVAL=60 DP_IT_TIMEOUT=900 bash tests/integration/run.sh test_pipeline

# The rrdwriter's spool across an upgrade and a downgrade: needs git history, builds the old
# rrdwriter (OLD_REV=rev, default: the last one writing SipHash frames) in a temporary folder.
.PHONY: upgrade-test
upgrade-test: deps all
	BUILD=$(BUILD) bash tests/integration/upgrade_rrdwriter.sh

run: deps all
	@bash tests/lib/stack.sh start

stop:
	@bash tests/lib/stack.sh stop

format:
	clang-format -i $(FMT_SRC)

format-check:
	@out=$$(clang-format --dry-run $(FMT_SRC) 2>&1); if [ -n "$$out" ]; then echo "$$out" | head -40; \
	  echo "format-check: files need clang-format (run: make format)"; exit 1; fi; echo "format-check: ok"

memcheck: $(UNIT_BIN)
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	  --suppressions=tests/valgrind.supp $(UNIT_BIN)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
