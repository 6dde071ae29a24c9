# agentjail — plain GNU make, non-recursive.
#
#   make            build everything into $(BUILD) (default: build/)
#   make check      build, then run the test suite (root tests need root)
#   make asan       ASan+UBSan build of the host-side programs in build-asan/,
#                   and the suite run against it
#   make check-vm   build, then only the VM tier (tests/vm/run.sh: a qemu VM
#                   with a pure cgroup v2; make check runs it too)
#   make lint       clang-format check, mandoc -Tlint, shellcheck
#   make bench      build, then measure (tests/bench/bench.sh, as root; not
#                   part of make check): one markdown table, see docs/benchmarks.md
#   make deps       apt-get install the Debian packages that are missing
#   make install    PREFIX=/usr/local DESTDIR=

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
SBINDIR  = $(PREFIX)/sbin
DATADIR  = $(PREFIX)/share/agentjail
LIBEXECDIR = $(PREFIX)/libexec/agentjail
MANDIR   = $(PREFIX)/share/man
SYSCONFDIR ?= /etc

CC      ?= cc
PKGS     = libseccomp libcap-ng libnl-3.0 libnl-route-3.0 jansson
DPKGS    = libmicrohttpd libcrypto gnutls
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
DPKG_LIBS  := $(shell pkg-config --libs $(DPKGS) 2>/dev/null)

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
       -Wno-unused-parameter \
       -Werror=shadow -Werror=strict-prototypes -Werror=missing-prototypes \
       -Werror=implicit-function-declaration -Werror=format=2 -Werror=int-conversion \
       -Werror=incompatible-pointer-types -Werror=switch-enum
HARDEN = -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE
ifeq ($(SAN),1)
HARDEN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -fPIE
SANLD  = -fsanitize=address,undefined
endif
OPT    ?= -O2 -g
CFLAGS_ALL = -std=gnu17 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -fvisibility=hidden \
	     -DAJ_DATADIR='"$(DATADIR)"' -DAJ_SYSCONFDIR='"$(SYSCONFDIR)"' \
	     -iquote jail $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = -pie -Wl,-z,relro,-z,now $(SANLD) $(LDFLAGS)

LIB_SRCS  := $(wildcard jail/*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/jail/builtin.o
CLI_SRCS  := $(filter-out jail/cli/main.c,$(wildcard jail/cli/*.c))
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
AJD_SRCS  := $(wildcard supervisor/*.c)
AJD_OBJS  := $(AJD_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
PROFILES  := $(wildcard profiles/*.json)
MANPAGES  := $(wildcard man/*.[1-8])

# The probe runs inside jails: static, never sanitized, always in build/.
PROBE     := build/ajprobe
# So does the session worker, a jail's PID 1 (supervisor/worker/).
WORKER      := build/agentjail-worker
WORKER_SRCS := $(wildcard supervisor/worker/*.c)

all: $(BUILD)/agentjail $(BUILD)/agentjaild $(PROBE) $(WORKER) $(UNIT_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/jail/builtin.o: jail/builtin.S $(PROFILES)
	@mkdir -p $(@D)
	$(CC) -c $< -o $@

$(BUILD)/libagentjail.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/libajcli.a: $(CLI_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/agentjail: $(BUILD)/jail/cli/main.o $(BUILD)/libajcli.a $(BUILD)/libagentjail.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@

$(BUILD)/supervisor/%.o: supervisor/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -iquote supervisor -DAJ_LIBEXECDIR='"$(LIBEXECDIR)"' -MMD -MP -c $< -o $@

$(BUILD)/agentjaild: $(AJD_OBJS) $(BUILD)/libagentjail.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $^ $(PKG_LIBS) $(DPKG_LIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c tests/harness/tap.h $(BUILD)/libajcli.a $(BUILD)/libagentjail.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -iquote tests/harness -iquote jail/cli $(LDFLAGS_ALL) $< $(BUILD)/libajcli.a \
		$(BUILD)/libagentjail.a $(PKG_LIBS) -o $@

# The daemon's configuration is tested on its own, with supervisor/config.c
# compiled in, so that its test does not wait for the rest of the daemon.
$(BUILD)/tests/test_daemon_config: tests/unit/test_daemon_config.c supervisor/config.c \
		supervisor/config.h tests/harness/tap.h $(BUILD)/libagentjail.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -iquote tests/harness -iquote supervisor $(LDFLAGS_ALL) $< \
		supervisor/config.c $(BUILD)/libagentjail.a $(PKG_LIBS) -o $@

# The AgentCube layer's parsers: its test includes supervisor/compat.c.
$(BUILD)/tests/test_compat: supervisor/compat.c supervisor/compat.h supervisor/proto.h
# Likewise the reverse proxy's framing.
$(BUILD)/tests/test_proxy: supervisor/proxy.c supervisor/proxy.h

# Likewise the token verifier, with libcrypto.
$(BUILD)/tests/test_jwt: tests/unit/test_jwt.c supervisor/jwt.c supervisor/jwt.h \
		tests/harness/tap.h $(BUILD)/libagentjail.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -iquote tests/harness -iquote supervisor $(LDFLAGS_ALL) $< \
		supervisor/jwt.c $(BUILD)/libagentjail.a $(PKG_LIBS) $(DPKG_LIBS) -o $@

build/ajprobe: tests/probe/probe.c
	@mkdir -p $(@D)
	$(CC) -std=gnu17 -O2 -Wall -Wextra -static $< -o $@ -lpthread

build/agentjail-worker: $(WORKER_SRCS) supervisor/worker/worker.h supervisor/proto.h
	@mkdir -p $(@D)
	$(CC) -std=gnu17 -D_GNU_SOURCE -O2 -g $(WARN) -D_FORTIFY_SOURCE=3 -fstack-protector-strong \
		-static $(WORKER_SRCS) -o $@

# The benchmark client: plain -O2, libc only, never sanitized, always in build/.
build/ajbench: tests/bench/ajbench.c
	@mkdir -p $(@D)
	$(CC) -std=gnu17 -D_GNU_SOURCE -O2 -g $(WARN) -D_FORTIFY_SOURCE=3 -fstack-protector-strong \
		-pthread $< -o $@

check: all
	AJ_BUILD=$(BUILD) tests/run.sh

bench: $(BUILD)/agentjail $(BUILD)/agentjaild $(WORKER) build/ajbench
	AJ_BUILD=$(BUILD) tests/bench/bench.sh

check-vm: all
	AJ_BUILD=$(BUILD) tests/vm/run.sh

asan:
	$(MAKE) BUILD=build-asan SAN=1 build-asan/agentjail build-asan/agentjaild \
		$(patsubst $(BUILD)/%,build-asan/%,$(UNIT_BINS))
	$(MAKE) build/ajprobe build/agentjail-worker
	AJ_BUILD=build-asan AJ_ASAN=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run.sh

C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
SH_FILES = $(shell git ls-files '*.sh' .ci/run tests/run.sh tests/vm/run.sh tests/vm/init 2>/dev/null | sort -u)
lint:
	clang-format --dry-run -Werror $(C_FILES)
	mandoc -Tlint -Wwarning $(MANPAGES)
	shellcheck -x $(SH_FILES)

format:
	clang-format -i $(C_FILES)

# Debian packages: to build, to test, to lint.
DEB_BUILD = gcc make pkg-config libc6-dev libseccomp-dev libcap-ng-dev libnl-3-dev \
	    libnl-route-3-dev libjansson-dev libmicrohttpd-dev \
	    libssl-dev libgnutls28-dev
DEB_TEST  = python3 procps curl openssl
DEB_LINT  = clang-format mandoc shellcheck
DEB_VM    = qemu-system-x86 busybox-static
DEB_BENCH = bubblewrap
# apt-get install of the packages in $(1) that are missing.
define apt_install
	missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y --no-install-recommends $$missing || \
		{ apt-get update && apt-get install -y --no-install-recommends $$missing; }; \
	fi
endef

deps:
	@$(call apt_install,$(DEB_BUILD) $(DEB_TEST) $(DEB_LINT))
	@# Without qemu the VM tier skips, visibly; that must not stop the build.
	@$(call apt_install,$(DEB_VM)) || echo "qemu or busybox-static could not be installed: the VM tier will be skipped"
	@# Without bubblewrap make bench skips its comparison with bwrap, visibly.
	@$(call apt_install,$(DEB_BENCH)) || echo "bubblewrap could not be installed: make bench will skip bwrap"
	@echo "dependencies: done"

install: $(BUILD)/agentjail $(BUILD)/agentjaild $(WORKER)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(DATADIR)/profiles $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/agentjail $(DESTDIR)$(BINDIR)/agentjail
	install -m 0755 $(BUILD)/agentjaild $(DESTDIR)$(SBINDIR)/agentjaild
	install -m 0755 $(WORKER) $(DESTDIR)$(LIBEXECDIR)/agentjail-worker
	install -m 0644 $(PROFILES) $(DESTDIR)$(DATADIR)/profiles/
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(wildcard man/*.8) $(DESTDIR)$(MANDIR)/man8/
	@# The example agent runtime, where examples/agent/agent.json mounts it from.
	install -d $(DESTDIR)$(DATADIR)/examples/agent
	install -m 0644 examples/agent/agent.py examples/agent/agent.json \
		$(DESTDIR)$(DATADIR)/examples/agent/

clean:
	rm -rf build build-asan

.PHONY: all check check-vm asan lint format deps install clean bench
.DELETE_ON_ERROR:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
