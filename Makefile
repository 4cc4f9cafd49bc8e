# sdat — build, test and install. Dependencies come only through pkg-config.
# `make deps` installs the Debian packages (scripts/deps.sh); `make demo` and
# `make check` run it first so that they work on a fresh Debian 12 machine.

VERSION     := 0.1.0
BUILD       ?= build
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
SYSCONFDIR  ?= /etc
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DESTDIR     ?=

CC          ?= cc
PKG_CONFIG  ?= pkg-config
PKGS        := rdkafka jansson libconfig sqlite3 libcrypto libcurl libmicrohttpd gnutls
TEST_PKGS   := criterion

# Project flags stay apart from the user's CFLAGS/LDFLAGS, which come last.
WARN        := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wformat=2 -Wpointer-arith -Wvla -Wundef -Wold-style-definition
ifdef CI
WARN        += -Werror
endif
ifdef SANITIZE
SANFLAGS    := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ifdef FUZZ_INSTRUMENT
SANFLAGS    += -fsanitize=fuzzer-no-link
endif
CFLAGS      ?= -O2 -g
PROJ_CFLAGS := -std=c11 -D_GNU_SOURCE -DSDAT_VERSION='"$(VERSION)"' \
               -DSDAT_SYSCONFDIR='"$(SYSCONFDIR)"' -Idaemon -I$(BUILD)/gen \
               $(WARN) $(SANFLAGS) -MMD -MP
PKG_CFLAGS   = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS     = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread -lm
TEST_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS))
TEST_LIBS    = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS))

# The house (docs/DESIGN.md "The parts"): one folder and one static library
# per part of daemon/. LAYER_P lists the parts P may use directly; what they
# may use, P may use too. make check-layers checks every #include and every
# symbol a library needs against this table, and a part is compiled with
# "poison" headers (#error) for every library it may not use, so that
# #include <sqlite3.h> outside store/ fails to compile.
PARTS        := util config decide store engine kafka outbox http
LAYER_util   :=
LAYER_config := util
LAYER_decide := config
LAYER_store  := decide
LAYER_engine := store
LAYER_kafka  := engine
LAYER_outbox := engine connectors
LAYER_http   := engine
LAYER_main   := kafka outbox http
LAYER_ctl    := kafka outbox
# The connectors see only the connector contract (outbox/connector.h) and util.
LAYER_connectors := util
# The libraries a part may use (beyond libc, jansson and libcrypto, which
# every part may); nothing is inherited from the parts below.
USES_config  := libconfig
USES_store   := sqlite3
USES_kafka   := rdkafka
USES_http    := microhttpd gnutls
USES_main    := rdkafka
USES_ctl     := rdkafka curl
USES_connectors := rdkafka curl
# Each restricted library's headers, poisoned where it is not used.
HEADERS_libconfig  := libconfig.h
HEADERS_sqlite3    := sqlite3.h
HEADERS_rdkafka    := librdkafka/rdkafka.h librdkafka/rdkafka_mock.h
HEADERS_curl       := curl/curl.h
HEADERS_microhttpd := microhttpd.h
HEADERS_gnutls     := gnutls/gnutls.h gnutls/x509.h
RESTRICTED   := libconfig sqlite3 rdkafka curl microhttpd gnutls
ALL_PARTS    := $(PARTS) main ctl connectors
# Link order: a library before the ones it uses.
LINK_PARTS   := http outbox connectors kafka engine store decide config util
PART_LIB     = $(BUILD)/lib/libsdat-$(1).a
PART_SRC     = $(wildcard daemon/$(1)/*.c)
CONN_SRC     := $(wildcard connectors/*/*.c)
SCHEMAS     := $(sort $(wildcard schemas/*.json))
DATA_FILES  := config/nicknames.txt
GEN_OBJ     := $(BUILD)/obj/gen/embedded.o $(BUILD)/obj/gen/embedded_data.o
CONN_LIB    := $(call PART_LIB,connectors)
# Everything but the two programs' own code, for tests, benchmarks and tools.
LIBS_ALL    := $(foreach p,$(LINK_PARTS),$(call PART_LIB,$(p)))
SDATD_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(call PART_SRC,main))
CTL_OBJ     := $(patsubst %.c,$(BUILD)/obj/%.o,$(call PART_SRC,ctl))
# sdatctl links what it uses: not the HTTP server.
CTL_LIBS    := $(foreach p,$(filter-out http,$(LINK_PARTS)),$(call PART_LIB,$(p)))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRC  := $(wildcard tests/helpers/*.c)
HELPER_BIN  := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/%)
# Fuzz targets: parse + validate per schema, and configuration loading. Built
# for libFuzzer by `make fuzz` (clang), and with a plain replay driver for
# `make check`, which runs the seeds and the malformed corpus through them.
FUZZ_SCHEMAS := police.da-incident health.attendance council.child council.cpis-flag \
                sdat.notification sdat.cpis-response sdat.audit-record
FUZZ_TARGETS := $(FUZZ_SCHEMAS:%=event-%) config
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz-%)
REPLAY_BIN   := $(FUZZ_TARGETS:%=$(BUILD)/tests/replay-%)
FUZZ_TIME    ?= 60
BENCH_SRC    := $(wildcard bench/bench_*.c)
BENCH_BIN    := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
# Manual pages: man/ holds the sources, $(BUILD)/man/ the finished pages:
# the hand-written ones copied, and sdatd.conf(5) made by tools/gen-conf-man
# from man/sdatd.conf.5.in and the configuration table, so that it cannot
# drift from what `sdatd -t` accepts.
MAN_PAGES    := $(patsubst man/%,$(BUILD)/man/%,$(wildcard man/*.[1578])) \
                $(BUILD)/man/sdatd.conf.5

# A quiet build: one short line per file; make V=1 prints the commands.
ifeq ($(V),1)
Q           :=
say          = @true
else
Q           := @
say          = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: all deps check check-rules check-unit check-seeds check-integration check-asan check-layers \
        check-layers-selftest \
        demo demo-stop bench bench-match soak fuzz fuzz-build man mutate mutate-short \
        install uninstall format clean

all: $(BUILD)/sdatd $(BUILD)/sdatctl man

# Rebuild everything when the flags change (e.g. SANITIZE on or off).
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(PROJ_CFLAGS) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
	  echo '$(CC) $(PROJ_CFLAGS) $(CFLAGS) $(LDFLAGS)' >$@
FORCE:

# The poison headers: for part P, every restricted library's headers that
# P may not use, each an #error naming the rule.
$(BUILD)/poison/.stamp: Makefile
	@rm -rf $(BUILD)/poison
	$(Q)$(foreach p,$(ALL_PARTS),$(foreach l,$(filter-out $(USES_$(p)),$(RESTRICTED)),\
	  $(foreach h,$(HEADERS_$(l)),mkdir -p $(dir $(BUILD)/poison/$(p)/$(h)) && \
	  printf '#error "<$(h)> ($(l)) may not be used in the $(p) part: see LAYER_ and USES_ in the Makefile"\n' \
	    >$(BUILD)/poison/$(p)/$(h) &&))) true
	@touch $@

$(BUILD)/gen/embedded.c: $(SCHEMAS) scripts/embed-files.sh
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)sh scripts/embed-files.sh $@ schemas $(SCHEMAS)

$(BUILD)/gen/embedded_data.c: $(DATA_FILES) scripts/embed-files.sh
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)sh scripts/embed-files.sh $@ data $(DATA_FILES)

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/.flags $(BUILD)/poison/.stamp
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) -I$(BUILD)/poison/decide $(PROJ_CFLAGS) $(CFLAGS) -c -o $@ $<

# A part's objects: its poison headers first, so that they hide the real ones.
$(BUILD)/obj/daemon/%.o: daemon/%.c $(BUILD)/.flags $(BUILD)/poison/.stamp
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) -I$(BUILD)/poison/$(firstword $(subst /, ,$*)) $(PROJ_CFLAGS) $(PKG_CFLAGS) \
	  $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/connectors/%.o: connectors/%.c $(BUILD)/.flags $(BUILD)/poison/.stamp
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) -I$(BUILD)/poison/connectors $(PROJ_CFLAGS) -Iconnectors $(PKG_CFLAGS) \
	  $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(PROJ_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

define part_lib
$(call PART_LIB,$(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(call PART_SRC,$(1))) $(if $(filter decide,$(1)),$(GEN_OBJ))
	@mkdir -p $$(@D)
	$$(call say,AR,$$@)
	$(Q)rm -f $$@ && $(AR) rcs $$@ $$^
endef
$(foreach p,$(PARTS),$(eval $(call part_lib,$(p))))

$(CONN_LIB): $(patsubst %.c,$(BUILD)/obj/%.o,$(CONN_SRC))
	@mkdir -p $(@D)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/sdatd: $(SDATD_OBJ) $(LIBS_ALL)
	$(call say,LD,$@)
	$(Q)$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/sdatctl: $(CTL_OBJ) $(CTL_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# make check-layers: every part's #include lines and the symbols its
# library needs, against LAYER_ and USES_ (tools/check-layers.py names
# FILE:LINE of a breach).
LAYER_ARGS   = $(foreach p,$(ALL_PARTS),--layer '$(p)=$(strip $(LAYER_$(p)))' \
                 --uses '$(p)=$(strip $(USES_$(p)))') \
               $(foreach l,$(RESTRICTED),--headers '$(l)=$(strip $(HEADERS_$(l)))')
check-layers:
	@python3 tools/check-layers.py --build $(BUILD) --no-symbols $(LAYER_ARGS)
	@$(MAKE) -s --no-print-directory $(LIBS_ALL) $(SDATD_OBJ) $(CTL_OBJ)
	@python3 tools/check-layers.py --build $(BUILD) $(LAYER_ARGS)

# That check-layers has teeth: breaches planted in copies of the tree fail it.
check-layers-selftest:
	@sh tests/layers/selftest.sh

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBS_ALL) $(BUILD)/.flags
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(PROJ_CFLAGS) $(PKG_CFLAGS) $(TEST_CFLAGS) $(CFLAGS) -Itests/unit -o $@ $< \
	  $(LIBS_ALL) $(SANFLAGS) $(LDFLAGS) $(TEST_LIBS) $(PKG_LIBS)

$(BUILD)/tests/%: tests/helpers/%.c $(LIBS_ALL) $(BUILD)/.flags
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(PROJ_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -o $@ $< \
	  $(LIBS_ALL) $(SANFLAGS) $(LDFLAGS) $(PKG_LIBS)

# One rule per kind of fuzz binary; the schema is fixed at build time.
$(BUILD)/fuzz/fuzz-event-%: tests/fuzz/fuzz_event.c $(LIBS_ALL) $(BUILD)/.flags
	@mkdir -p $(@D) $(BUILD)/dep
	$(call say,CC,$@)
	$(Q)$(CC) $(PROJ_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -DSDAT_FUZZ_SCHEMA='"$*/1"' -MF $(BUILD)/dep/$(@F).d -o $@ $< \
	  $(LIBS_ALL) $(SANFLAGS) -fsanitize=fuzzer $(LDFLAGS) $(PKG_LIBS)

$(BUILD)/fuzz/fuzz-config: tests/fuzz/fuzz_config.c $(LIBS_ALL) $(BUILD)/.flags
	@mkdir -p $(@D) $(BUILD)/dep
	$(call say,CC,$@)
	$(Q)$(CC) $(PROJ_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MF $(BUILD)/dep/$(@F).d -o $@ $< \
	  $(LIBS_ALL) $(SANFLAGS) -fsanitize=fuzzer $(LDFLAGS) $(PKG_LIBS)

# (-MF: the default dependency file name drops everything after the last
# dot of the output, and these names have dots.)
$(BUILD)/tests/replay-event-%: tests/fuzz/fuzz_event.c $(BUILD)/obj/tests/fuzz/replay.o \
                               $(LIBS_ALL) $(BUILD)/.flags
	@mkdir -p $(@D) $(BUILD)/dep
	$(call say,CC,$@)
	$(Q)$(CC) $(PROJ_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -DSDAT_FUZZ_SCHEMA='"$*/1"' -MF $(BUILD)/dep/$(@F).d -o $@ \
	  $< $(BUILD)/obj/tests/fuzz/replay.o $(LIBS_ALL) $(SANFLAGS) $(LDFLAGS) $(PKG_LIBS)

$(BUILD)/tests/replay-config: tests/fuzz/fuzz_config.c $(BUILD)/obj/tests/fuzz/replay.o \
                              $(LIBS_ALL) $(BUILD)/.flags
	@mkdir -p $(@D) $(BUILD)/dep
	$(call say,CC,$@)
	$(Q)$(CC) $(PROJ_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MF $(BUILD)/dep/$(@F).d -o $@ $< \
	  $(BUILD)/obj/tests/fuzz/replay.o $(LIBS_ALL) $(SANFLAGS) $(LDFLAGS) $(PKG_LIBS)

$(BUILD)/bench/%: bench/%.c $(LIBS_ALL) $(BUILD)/.flags
	@mkdir -p $(@D) $(BUILD)/dep
	$(call say,CC,$@)
	$(Q)$(CC) $(PROJ_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MF $(BUILD)/dep/$(@F).d -o $@ $< $(LIBS_ALL) \
	  $(SANFLAGS) $(LDFLAGS) $(PKG_LIBS)

$(BUILD)/tools/%: tools/%.c $(LIBS_ALL) $(BUILD)/.flags
	@mkdir -p $(@D) $(BUILD)/dep
	$(call say,CC,$@)
	$(Q)$(CC) $(PROJ_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MF $(BUILD)/dep/$(@F).d -o $@ $< \
	  $(LIBS_ALL) $(SANFLAGS) $(LDFLAGS) $(PKG_LIBS)

man: $(MAN_PAGES)

$(BUILD)/man/sdatd.conf.5: man/sdatd.conf.5.in $(BUILD)/tools/gen-conf-man
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)$(BUILD)/tools/gen-conf-man man/sdatd.conf.5.in >$@.tmp && mv $@.tmp $@

$(BUILD)/man/%: man/%
	@mkdir -p $(@D)
	$(Q)cp $< $@

deps:
	@sh scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory check-layers check-layers-selftest check-rules check-unit check-integration

check-unit: all $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)
	@$(MAKE) --no-print-directory check-seeds

check-seeds: $(REPLAY_BIN)
	@sh tests/fuzz/replay-seeds.sh $(BUILD)/tests

# The Prometheus alert rules shipped in config/ (promtool: Debian's prometheus).
check-rules:
	@sh tests/prometheus/check-rules.sh

check-integration: all $(HELPER_BIN)
	@SDAT_BUILD=$(BUILD) sh tests/run-integration.sh

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=address,undefined check-unit check-integration

# Mutation testing (issue 26): the curated mutants of tests/mutants/mutants.txt,
# one at a time in a scratch copy of the tree (build/mutate/tree, with its
# own build/; the working tree is never written), each against the unit
# tests mapped to it and then, for those the unit tests let through, the
# mapped integration scripts (scripts/mutate.py). It prints KILLED or
# SURVIVED per mutant and the score, and fails on a survivor without a
# reason or a broken entry. make mutate-short (or MUTANTS=short): the ten
# marked short, unit tests only, for CI after make check. MUTANTS=ID,ID:
# only those.
mutate:
	@python3 scripts/mutate.py $(if $(filter short,$(MUTANTS)),--short,--integration \
	  $(if $(MUTANTS),--only $(MUTANTS)))

mutate-short:
	@python3 scripts/mutate.py --short

# KEEP=1: the daemon keeps running afterwards for the console (docs/CONSOLE.md);
# make demo-stop stops it.
demo: deps
	@$(MAKE) --no-print-directory all
	@SDAT_BUILD=$(BUILD) SDAT_DEMO_KEEP=$(KEEP) sh scripts/demo.sh

demo-stop:
	@sh scripts/demo.sh stop

# libFuzzer needs clang; everything is rebuilt in build/fuzz with coverage
# instrumentation, AddressSanitizer and UndefinedBehaviorSanitizer.
fuzz:
	@sh scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang SANITIZE=address,undefined \
	  FUZZ_INSTRUMENT=1 fuzz-build
	@FUZZ_TIME=$(FUZZ_TIME) sh tests/fuzz/run.sh build/fuzz $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BIN)

# Benchmarks print figures and ratios against a reference measured in the
# same run (quality.md); nothing asserts a time. bench/all.sh runs them all
# (P1–P7, validation and matching quality), prints a summary against the
# targets and records the run in docs/PERFORMANCE.md; the register they
# share is imported once into $(BUILD)/bench-cache (bench/lib.sh).
bench:
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@SDAT_BUILD=$(BUILD) sh bench/all.sh

# Matching quality and latency on the labelled synthetic set (bench/synth).
bench-match: deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench/bench_match
	@SDAT_BUILD=$(BUILD) sh bench/match.sh

# R1 under stress (quality.md): SOAK_KILLS kill -9 of sdatd at random
# moments while incidents flow (make check runs the same test with 3), and
# R2 with the broker down for the full 30 s.
SOAK_KILLS  ?= 24
soak: deps
	@$(MAKE) --no-print-directory all
	@SDAT_BUILD=$(BUILD) SDAT_KILLS=$(SOAK_KILLS) SDAT_DOWN_SECONDS=30 sh tests/run-soak.sh

# make install: the programs, schemas, nickname list, Prometheus alert rules
# ($(DATADIR)/sdat/sdat.rules.yml: data another program reads, like the
# schemas; not under doc/, which minimal systems drop), example configuration,
# man pages (the finished ones, $(MAN_PAGES); else whichever man/*.[1578]
# exist), the unit and its sysusers.d and
# tmpfiles.d files, filled with the directories given here. It never runs
# systemctl, systemd-sysusers or systemd-tmpfiles (the unit's comment says
# what to run). `uninstall` removes what it wrote and the directories it made
# that are left empty: sdat's own always, the general ones (bin, man1, ...)
# only under a DESTDIR.
INSTALL_MAN  = $(or $(MAN_PAGES),$(sort $(wildcard man/*.1 man/*.5 man/*.7 man/*.8)))
INSTALL_SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
                -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g'
INSTALL_DIRS = $(SBINDIR) $(BINDIR) $(DATADIR)/sdat/schemas $(SYSCONFDIR)/sdat/keys $(UNITDIR) \
               $(SYSUSERSDIR) $(TMPFILESDIR) \
               $(sort $(foreach m,$(INSTALL_MAN),$(MANDIR)/man$(subst .,,$(suffix $(m)))))

install: all
	install -d $(addprefix $(DESTDIR),$(filter-out $(SYSCONFDIR)/%,$(INSTALL_DIRS)))
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/sdat $(DESTDIR)$(SYSCONFDIR)/sdat/keys
	install -m 0755 $(BUILD)/sdatd $(DESTDIR)$(SBINDIR)/sdatd
	install -m 0755 $(BUILD)/sdatctl $(DESTDIR)$(BINDIR)/sdatctl
	install -m 0644 $(SCHEMAS) $(DESTDIR)$(DATADIR)/sdat/schemas/
	install -m 0644 config/nicknames.txt $(DESTDIR)$(DATADIR)/sdat/nicknames.txt
	install -m 0644 config/sdat.rules.yml $(DESTDIR)$(DATADIR)/sdat/sdat.rules.yml
	install -m 0644 config/sdatd.conf.example $(DESTDIR)$(SYSCONFDIR)/sdat/sdatd.conf.example
	$(foreach m,$(INSTALL_MAN),install -m 0644 $(m) \
	  $(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)) &&) true
	$(INSTALL_SUBST) systemd/sdatd.service.in >$(DESTDIR)$(UNITDIR)/sdatd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sdatd.service
	install -m 0644 systemd/sdat.sysusers $(DESTDIR)$(SYSUSERSDIR)/sdat.conf
	$(INSTALL_SUBST) systemd/sdat.tmpfiles.in >$(DESTDIR)$(TMPFILESDIR)/sdat.conf
	chmod 0644 $(DESTDIR)$(TMPFILESDIR)/sdat.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sdatd $(DESTDIR)$(BINDIR)/sdatctl \
	  $(addprefix $(DESTDIR)$(DATADIR)/sdat/schemas/,$(notdir $(SCHEMAS))) \
	  $(DESTDIR)$(DATADIR)/sdat/nicknames.txt $(DESTDIR)$(DATADIR)/sdat/sdat.rules.yml \
	  $(DESTDIR)$(SYSCONFDIR)/sdat/sdatd.conf.example \
	  $(foreach m,$(INSTALL_MAN),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
	  $(DESTDIR)$(UNITDIR)/sdatd.service $(DESTDIR)$(SYSUSERSDIR)/sdat.conf \
	  $(DESTDIR)$(TMPFILESDIR)/sdat.conf
	rmdir $(DESTDIR)$(DATADIR)/sdat/schemas $(DESTDIR)$(DATADIR)/sdat \
	  $(DESTDIR)$(SYSCONFDIR)/sdat/keys $(DESTDIR)$(SYSCONFDIR)/sdat 2>/dev/null || true
	@if [ -n "$(DESTDIR)" ]; then \
	  for d in $(addprefix $(DESTDIR),$(INSTALL_DIRS)); do \
	    while [ "$$d" != "$(DESTDIR)" ] && [ "$${d#$(DESTDIR)}" != "$$d" ] && \
	          { [ ! -d "$$d" ] || rmdir "$$d" 2>/dev/null; }; do d=$${d%/*}; done; \
	  done; \
	fi

format:
	clang-format -i $$(find daemon connectors tests bench tools -name '*.[ch]' 2>/dev/null)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(BUILD)/tests $(BUILD)/dep -name '*.d' 2>/dev/null)
