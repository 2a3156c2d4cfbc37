# streamd - audio streaming daemon.
#
#   make            build ./streamd (objects under build/)
#   make run        build and run streamd in the foreground on 127.0.0.1:8082
#   make check      unit tests (CMocka) and integration tests (real binary)
#   make check SANITIZE=1   the same under AddressSanitizer + UBSan
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS each
#   make bench      benchmark against nginx (not part of check)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       install missing Debian packages (apt-get, as root)

VERSION    := 0.4.0
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR    ?=

SANITIZE   ?= 0
FUZZ_SECONDS ?= 30

CXX        ?= g++
PKGS       := libevent openssl sqlite3 libcjson zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SANITIZE),1)
BUILD      := build/asan
OPT        := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
LDOPT      := -fsanitize=address,undefined
BIN        := $(BUILD)/streamd
else
BUILD      := build
OPT        := -O2 -g
LDOPT      :=
BIN        := streamd
endif

CXXFLAGS_ALL := -std=c++17 -fno-exceptions -fno-rtti -Wall -Wextra -Werror \
                -Wshadow -Wno-missing-field-initializers -Wno-format-truncation -D_GNU_SOURCE \
                -DSTREAMD_VERSION='"$(VERSION)"' -Iinclude $(PKG_CFLAGS) \
                $(OPT) $(CXXFLAGS)
LIBS       := $(PKG_LIBS) -lm $(LDFLAGS)

SRCS       := $(wildcard src/*.cpp)
OBJS       := $(patsubst src/%.cpp,$(BUILD)/%.o,$(SRCS))
LIBOBJS    := $(filter-out $(BUILD)/main.o,$(OBJS))
UNIT_SRCS  := $(wildcard tests/test_*.cpp)
UNIT_BINS  := $(patsubst tests/%.cpp,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps run check unit integ fuzz fuzz-smoke bench install clean lint-man

all: $(BIN)

$(BUILD)/%.o: src/%.cpp $(wildcard include/*.h) | $(BUILD)
	$(CXX) $(CXXFLAGS_ALL) -c -o $@ $<

$(BUILD):
	@mkdir -p $(BUILD)/tests

$(BUILD)/libstreamd.a: $(LIBOBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/main.o $(BUILD)/libstreamd.a
	$(CXX) $(LDOPT) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/%.cpp $(BUILD)/libstreamd.a $(wildcard include/*.h) | $(BUILD)
	@mkdir -p $(BUILD)/tests
	$(CXX) $(CXXFLAGS_ALL) $(LDOPT) -Itests -o $@ $< $(BUILD)/libstreamd.a $(LIBS) -lcmocka

deps:
	@sh contrib/deps.sh

run: deps $(BIN)
	@sh contrib/run-dev.sh ./$(BIN)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integ: $(BIN)
	@STREAMD_BIN=$(abspath $(BIN)) SANITIZE=$(SANITIZE) sh tests/integ/run.sh

check: deps
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory integ
ifneq ($(SANITIZE),1)
	@$(MAKE) --no-print-directory fuzz-smoke
endif

fuzz:
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-smoke:
	@sh tests/fuzz/run.sh 3

bench: deps $(BIN)
	@sh bench/run.sh

install: $(BIN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(SYSCONFDIR)/streamd $(DESTDIR)$(SYSCONFDIR)/init.d \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(SYSCONFDIR)/nginx/sites-available \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 755 $(BIN) $(DESTDIR)$(SBINDIR)/streamd
	install -m 644 man/streamd.8 $(DESTDIR)$(MANDIR)/man8/streamd.8
	install -m 644 man/streamd.conf.5 $(DESTDIR)$(MANDIR)/man5/streamd.conf.5
	install -d $(DESTDIR)$(MANDIR)/man7
	install -m 644 man/streamd-analytics.7 $(DESTDIR)$(MANDIR)/man7/streamd-analytics.7
	test -e $(DESTDIR)$(SYSCONFDIR)/streamd/streamd.conf || \
	    sed -f contrib/install-paths.sed etc/streamd.conf > $(DESTDIR)$(SYSCONFDIR)/streamd/streamd.conf
	sed 's|@SBINDIR@|$(SBINDIR)|g' etc/systemd/streamd.service > \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/streamd.service
	install -m 644 etc/systemd/streamd.socket $(DESTDIR)$(PREFIX)/lib/systemd/system/streamd.socket
	sed 's|@SBINDIR@|$(SBINDIR)|g' etc/init.d/streamd > $(DESTDIR)$(SYSCONFDIR)/init.d/streamd
	chmod 755 $(DESTDIR)$(SYSCONFDIR)/init.d/streamd
	install -m 644 etc/logrotate.d/streamd $(DESTDIR)$(SYSCONFDIR)/logrotate.d/streamd
	install -m 644 etc/nginx/streamd.conf $(DESTDIR)$(SYSCONFDIR)/nginx/sites-available/streamd

clean:
	rm -rf build streamd
