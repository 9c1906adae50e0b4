# SPDX-License-Identifier: Apache-2.0
#
#   make            build/sowatch (BPF object, skeleton, user side)
#   make test       build everything, then run tests/run (unit tests, then end-to-end as root)
#   make unit       unit tests only (no root needed)
#   make fuzz       libFuzzer harnesses (clang)
#   make bench      as root: what sowatch costs workloads, against no sensor, auditd and
#                   bpftrace (bench/run.py; BENCH_ARGS=--quick for a two-minute smoke run)
#   make format     clang-format the C sources in place; `make format-check` only checks
#   make install    as root: the sensor, its configuration (never overwritten), the systemd
#                   unit, the man page and the bash completion (PREFIX=/usr/local, DESTDIR)
#   make uninstall  removes what `make install` installed, except the configuration and the
#                   store (/etc/sowatch, /var/lib/sowatch)
#   make deb        the Debian package, built by dpkg-buildpackage in a copy of the sources
#                   under build/deb/; the .deb lands in build/deb/
#
# Generated files live in build/ and are never committed.

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VERSION  := $(shell cat VERSION)

BUILD    := build
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
            -DSOWATCH_VERSION='"$(VERSION)"' -Iinclude -Isrc -I$(BUILD) -I$(BUILD)/proto
LDLIBS   := -lbpf -lelf -lz -lcrypto -lyaml -ljansson -lsqlite3 -lprotobuf-c -lsystemd -ldl
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# protoc-c's C for our copy of gVisor's schema (proto/gvisor/), part of the core sources.
PROTOS    := $(wildcard proto/gvisor/*.proto)
PROTO_C   := $(PROTOS:proto/%.proto=$(BUILD)/proto/%.pb-c.c)
PROTO_H   := $(PROTO_C:.c=.h)
CORE_SRCS := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o) $(PROTO_C:.c=.o)
CORE_SRCS += $(PROTO_C)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:%.c=$(BUILD)/%)

.PHONY: all test unit fuzz bench format format-check clean install uninstall deb
all: $(BUILD)/sowatch

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	@echo "  BTF     $@"
	@$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/sowatch.bpf.o: bpf/sowatch.bpf.c $(wildcard bpf/*.h) include/sowatch_events.h $(BUILD)/vmlinux.h
	@echo "  BPF     $@"
	@$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude -I$(BUILD) -c $< -o $@

$(BUILD)/sowatch.skel.h: $(BUILD)/sowatch.bpf.o
	@echo "  GEN     $@"
	@$(BPFTOOL) gen skeleton $< name sowatch_bpf > $@.tmp && mv $@.tmp $@

# Generated in one step per .proto; kept (make would delete them as intermediate files).
.SECONDARY: $(PROTO_C) $(PROTO_H)
$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto $(PROTOS)
	@mkdir -p $(@D)
	@echo "  PROTOC  $<"
	@protoc-c --proto_path=proto --c_out=$(BUILD)/proto $<

$(BUILD)/proto/%.pb-c.o: $(BUILD)/proto/%.pb-c.c $(PROTO_H)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/src/%.o: src/%.c $(BUILD)/sowatch.skel.h $(PROTO_H) $(wildcard src/*.h src/*/*.h include/*.h)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/sowatch: $(BUILD)/src/main.o $(CORE_OBJS)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# The same sensor with AddressSanitizer and UBSan: the end-to-end tests run against both.
$(BUILD)/sowatch-asan: src/main.c $(CORE_SRCS) $(BUILD)/sowatch.skel.h $(wildcard src/*.h src/*/*.h include/*.h)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(SAN) src/main.c $(CORE_SRCS) $(LDLIBS) -o $@

# Unit tests are built with ASan/UBSan from the sources, not the release objects.
$(BUILD)/tests/unit/%: tests/unit/%.c $(CORE_SRCS) $(BUILD)/sowatch.skel.h
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) $(SAN) $< $(CORE_SRCS) $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(CORE_SRCS) $(BUILD)/sowatch.skel.h
	@mkdir -p $(@D)
	$(CLANG) $(filter-out -Werror,$(CFLAGS)) -O1 -fsanitize=fuzzer,address,undefined $< $(CORE_SRCS) $(LDLIBS) -o $@

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t >/dev/null 2>&1 && echo "PASS $$t" || { echo "FAIL $$t"; $$t; exit 1; }; done
fuzz: $(FUZZ_BINS)

test: all $(UNIT_BINS) $(BUILD)/sowatch-asan
	tests/run

# Not part of `make test`: about ten minutes, as root. Installs what it needs first (from a
# fresh clone: the build's packages, auditd, bpftrace, gnuplot), then builds and runs.
# Figures in build/bench.json, the plot in docs/bench.png (see bench/README.md).
PYTHON     ?= /usr/bin/python3
BENCH_ARGS ?=
$(BUILD)/bench/workload: bench/workload.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) -O2 -Wall -Wextra -Werror $< -ldl -o $@

$(BUILD)/bench/module.so: tests/fixtures/module.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) -shared -fPIC $< -o $@

bench:
	scripts/install-deps.sh --bench
	$(MAKE) all $(BUILD)/bench/workload $(BUILD)/bench/module.so
	$(PYTHON) bench/run.py $(BENCH_ARGS)

format:
	clang-format -i $(wildcard bpf/*.[ch] include/*.h src/*.[ch] src/*/*.[ch] tests/*/*.c)
format-check:
	clang-format --dry-run --Werror $(wildcard bpf/*.[ch] include/*.h src/*.[ch] src/*/*.[ch] tests/*/*.c)

# Installation. Set on the command line (PREFIX=/usr for a package); an environment variable
# does not move them. UNITDIR is /lib/systemd/system, where Debian 12's packages keep units,
# for PREFIX=/usr, and /etc/systemd/system, the administrator's, otherwise: a local install
# never writes over (or, at uninstall, removes) the package's unit. The unit's ExecStart is
# rewritten to $(SBINDIR)/sowatch.
PREFIX      = /usr/local
SBINDIR     = $(PREFIX)/sbin
SYSCONFDIR  = /etc
MANDIR      = $(PREFIX)/share/man
UNITDIR     = $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,/etc/systemd/system)
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
DESTDIR     =
INSTALL     = install
CONF        = $(DESTDIR)$(SYSCONFDIR)/sowatch/sowatch.yaml
INSTALLED   = $(DESTDIR)$(SBINDIR)/sowatch $(DESTDIR)$(UNITDIR)/sowatch.service \
              $(DESTDIR)$(MANDIR)/man8/sowatch.8 $(DESTDIR)$(BASHCOMPDIR)/sowatch

# The configuration is mode 0600. It holds no secret itself (only paths to the files that do),
# but its mute and allow rules tell which loads go unreported, and only root reads it: the
# sensor runs as root, and `sowatch findings` needs root for the store it names anyway. An
# existing configuration is kept as it is; this version's example goes beside it, as
# sowatch.yaml.example, to compare.
install: all deploy/systemd/sowatch.service docs/sowatch.8 deploy/bash-completion/sowatch
	$(INSTALL) -D -m 0755 $(BUILD)/sowatch $(DESTDIR)$(SBINDIR)/sowatch
	$(INSTALL) -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed 's|/usr/sbin/sowatch\b|$(SBINDIR)/sowatch|g' deploy/systemd/sowatch.service \
		> $(DESTDIR)$(UNITDIR)/sowatch.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/sowatch.service.tmp
	mv $(DESTDIR)$(UNITDIR)/sowatch.service.tmp $(DESTDIR)$(UNITDIR)/sowatch.service
	$(INSTALL) -D -m 0644 docs/sowatch.8 $(DESTDIR)$(MANDIR)/man8/sowatch.8
	$(INSTALL) -D -m 0644 deploy/bash-completion/sowatch $(DESTDIR)$(BASHCOMPDIR)/sowatch
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/sowatch
	@if [ -e $(CONF) ]; then \
		echo "$(INSTALL) -m 0600 sowatch.example.yaml $(CONF).example"; \
		$(INSTALL) -m 0600 sowatch.example.yaml $(CONF).example && \
		echo "install: kept $(CONF) as it is; the example is beside it: $(CONF).example"; \
	else \
		echo "$(INSTALL) -m 0600 sowatch.example.yaml $(CONF)"; \
		$(INSTALL) -m 0600 sowatch.example.yaml $(CONF); \
	fi

uninstall:
	rm -f $(INSTALLED) $(CONF).example
	@echo "uninstall: kept the configuration ($(DESTDIR)$(SYSCONFDIR)/sowatch) and the store" \
	      "($(DESTDIR)/var/lib/sowatch); remove them yourself if you want them gone"

# The package is built from a copy of the sources (without build/ and .git) in
# build/deb/sowatch-VERSION/, so that dpkg-buildpackage's clean and build touch nothing else;
# it writes the .deb, .buildinfo and .changes beside that copy. Make's own job server and flags
# are not passed down: debhelper runs its own make, with DEB_JOBS jobs.
DEB_DIR  := $(BUILD)/deb
DEB_JOBS ?= $(shell nproc)
deb:
	@v="$$(dpkg-parsechangelog -S Version)"; if [ "$$v" != "$(VERSION)" ]; then \
		echo "deb: debian/changelog says $$v, VERSION says $(VERSION): add a changelog entry" \
		     "(dch -v $(VERSION))" >&2; exit 1; fi
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/sowatch-$(VERSION)
	tar -c --exclude=./$(BUILD) --exclude=./.git --exclude=__pycache__ -f - . \
		| tar -x -C $(DEB_DIR)/sowatch-$(VERSION) -f -
	cd $(DEB_DIR)/sowatch-$(VERSION) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		DEB_BUILD_OPTIONS="parallel=$(DEB_JOBS) $(DEB_BUILD_OPTIONS)" \
		dpkg-buildpackage -b -us -uc
	@echo "deb: $$(ls $(DEB_DIR)/sowatch_$(VERSION)_*.deb)"

clean:
	rm -rf $(BUILD)
