# govrrp — see README.md. `sudo make demo` and `sudo make test` work on a fresh Debian machine.
GO        ?= go
BIN       := bin/govrrp
PKGS      := ./...
STATICCHECK_VERSION := v0.8.2
FUZZTIME  ?= 20s
# TEST_FUZZTIME: how much `make test` fuzzes each target. A count, not a duration: go1.26's fuzz coordinator
# can fail a duration-bounded run with "context deadline exceeded" and no crasher when -fuzztime expires
# (go.dev/issue/75804, fixed in go1.27); an execution count has no deadline to race.
TEST_FUZZTIME ?= 20000x
# Debian packages the root tests need: real peers and wire tools.
APT_PKGS  := keepalived iproute2 tcpdump nftables iputils-ping procps apache2 curl dbus systemd frr snmpd snmp snmptrapd

export GOFLAGS := -mod=mod -buildvcs=false

.PHONY: all build test test-unit deps lint fuzz bench soak demo clean keywords

all: build

build:
	@mkdir -p bin
	$(GO) build -o $(BIN) ./cmd/govrrp
	$(GO) build -o bin/govrrp-demo ./cmd/govrrp-demo

# deps installs the Debian packages the integration tests run against, only when missing.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to install:$$missing" >&2; exit 1; fi; \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# keepalived's package starts a service on install; the tests run their own copies in namespaces.
	@-systemctl stop keepalived >/dev/null 2>&1 || true

# test runs everything: unit tests, then the root integration tests (namespaces, real keepalived).
# The loop-owning packages run again under the race detector.
RACE_PKGS := ./internal/daemon/ ./internal/track/ ./internal/notify/ ./internal/fsm/ ./internal/control/ ./internal/snmp/ ./internal/dbusapi/ ./internal/bfd/

# internal/interop (the longest package by far, mostly waiting on protocol timers) is named first so it
# takes one of the two slots at once; the other packages run one after another in the second slot
# (go test schedules packages in command-line order and tests each once).
test: deps build
	GOVRRP_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 12m -p 2 ./internal/interop/ $(PKGS)
	$(GO) test -count=1 -race -timeout 4m $(RACE_PKGS)
	@# A brief pass of every fuzzer (make fuzz runs them for minutes); the seed corpora already ran above.
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

test-unit:
	$(GO) test -count=1 -short $(PKGS)

lint:
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

# fuzz runs every fuzz target for FUZZTIME each (go test -fuzz takes one target at a time).
# A package whose tests do not build fails the target: its fuzzers are not skipped silently.
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		list=$$($(GO) test -list '^Fuzz' $$pkg) || { echo "make fuzz: cannot list the fuzz targets of $$pkg" >&2; exit 1; }; \
		for t in $$(echo "$$list" | grep '^Fuzz' || true); do \
			echo "== $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

# bench (issue 11, root): the go micro-benchmarks, then ONE side-by-side run of keepalived 2.2.7 and
# govrrp: failover rows (graceful stop, preemption, link death at v2 1 s, v3 50 ms, v3 10 ms; client-seen
# outage of a 2 ms ping) and scale rows (BENCH_SCALE VRRPv3 instances at 10 ms on one link: CPU, RSS,
# settle, spurious takeovers idle and with 8 busy loops) over BENCH_ROUNDS rounds. Table and PNG chart
# in BENCH_OUT (bench.txt, bench.png). BENCH_QUICK=1: 1 round, v3 rows only, 10 s windows, no micro-benchmarks.
BENCH_ROUNDS ?= 3
BENCH_SCALE  ?= 255
BENCH_WINDOW ?= 60s
BENCH_OUT    ?= $(CURDIR)/bin/bench
BENCH_QUICK  ?=
bench: deps build
	$(if $(BENCH_QUICK),,$(GO) test -run='^$$' -bench=. -benchmem ./pkg/... ./internal/fsm/ ./internal/daemon/ ./internal/transport/ ./internal/vip/ ./internal/track/ ./internal/bfd/)
	GOVRRP_BIN=$${GOVRRP_BIN:-$(CURDIR)/$(BIN)} BENCH_QUICK=$(BENCH_QUICK) BENCH_ROUNDS=$(if $(BENCH_QUICK),1,$(BENCH_ROUNDS)) \
		BENCH_SCALE=$(BENCH_SCALE) BENCH_WINDOW=$(if $(BENCH_QUICK),10s,$(BENCH_WINDOW)) BENCH_OUT=$(BENCH_OUT) \
		$(GO) test -count=1 -timeout 3h -run='^$$' -bench='^BenchmarkSideBySide$$' -benchtime=1x ./internal/interop/

# soak: the chaos soak of issue 9 (root: namespaces, real keepalived). Three trios (keepalived x3,
# govrrp x3, govrrp+govrrp+keepalived) replay one seeded fault schedule of SOAK_DURATION each; the
# table goes to SOAK_OUT (default bin/soak-report.txt), logs and timelines to bin/soak-logs/<trio>/.
# GOVRRP_SOAK_ENFORCE=1 fails on a FAIL target line. A 10-minute run: make soak SOAK_DURATION=10m.
SOAK_DURATION ?= 60s
SOAK_SEED     ?= 1
SOAK_TIMEOUT  ?= 3h
soak: deps build
	GOVRRP_SOAK=1 SOAK_DURATION=$(SOAK_DURATION) SOAK_SEED=$(SOAK_SEED) GOVRRP_BIN=$${GOVRRP_BIN:-$(CURDIR)/$(BIN)} \
		$(GO) test -count=1 -v -timeout $(SOAK_TIMEOUT) -run '^TestSoak$$' ./internal/interop/

demo: deps build
	./bin/govrrp-demo -bin $(CURDIR)/$(BIN)

keywords:
	$(GO) run ./cmd/kaconf-keywords -readme README.md

clean:
	rm -rf bin

# packaging
# `make deb`: bin/govrrp_VERSION_ARCH.deb with nfpm (run through the module proxy, not in go.mod), the binary
# built with -X main.version, section-8 man pages and completions generated from the cobra tree by a
# -tags gendocs build of cmd/govrrp (cmd/govrrp/gendocs.go). `make man` / `make completions`: bin/pkg/man,
# bin/pkg/completions. `sudo make deb-test`: installs the .deb on THIS machine (Debian's keepalived installed
# beside it), checks it, purges it; not part of `make test`. `sudo make deb-test SWAP_KEEPALIVED=1` also removes
# and reinstalls Debian's keepalived around the .deb (the alternative's trigger): never beside `make test`.
NFPM_VERSION := v2.45.2
PKG_DIR      := bin/pkg
# VERSION: git describe of a vX.Y.Z tag (v1.2.3-4-gabcdef -> 1.2.3+4.gabcdef), else 0.0.0+gitDATE.SHA.
VERSION ?= $(shell d=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) && echo "$$d" | sed -e 's/^v//' -e 's/-\([0-9][0-9]*\)-g\([0-9a-f][0-9a-f]*\)$$/+\1.g\2/' || git log -1 --date=format:%Y%m%d --format='0.0.0+git%cd.%h' 2>/dev/null || echo 0.0.0)
VERSION := $(VERSION)
# Man page dates from the last commit, so the pages (and their gzip) are reproducible.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
SOURCE_DATE_EPOCH := $(SOURCE_DATE_EPOCH)
DEB_ARCH     := $(shell $(GO) env GOARCH)

.PHONY: deb man completions deb-test pkg-gendocs

pkg-gendocs:
	@mkdir -p $(PKG_DIR)
	$(GO) build -tags gendocs -o $(PKG_DIR)/govrrp-gendocs ./cmd/govrrp

man: pkg-gendocs
	rm -rf $(PKG_DIR)/man
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(PKG_DIR)/govrrp-gendocs -version $(VERSION) -man $(PKG_DIR)/man

completions: pkg-gendocs
	rm -rf $(PKG_DIR)/completions
	$(PKG_DIR)/govrrp-gendocs -completions $(PKG_DIR)/completions

deb: man completions
	$(GO) build -trimpath -ldflags '-X main.version=$(VERSION)' -o $(PKG_DIR)/govrrp ./cmd/govrrp
	rm -f bin/govrrp_*.deb
	VERSION='$(VERSION)' DEB_ARCH='$(DEB_ARCH)' SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION) \
		pkg --packager deb --config packaging/nfpm.yaml --target bin/

deb-test: deb
	GOVRRP_DEB_TEST=1 GOVRRP_DEB_TEST_KEEPALIVED='$(SWAP_KEEPALIVED)' \
	GOVRRP_DEB="$$(ls $(CURDIR)/bin/govrrp_*.deb)" GOVRRP_DEB_VERSION='$(VERSION)' \
		$(GO) test -count=1 -v -timeout 10m -run 'Deb' ./packaging/
