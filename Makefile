# govrrp — see README.md. `sudo make demo` and `sudo make test` work on a fresh Debian machine.
GO        ?= go
BIN       := bin/govrrp
PKGS      := ./...
STATICCHECK_VERSION := v0.8.2
FUZZTIME  ?= 20s
# Debian packages the root tests need: real peers and wire tools.
APT_PKGS  := keepalived iproute2 tcpdump nftables iputils-ping procps apache2 curl dbus systemd

export GOFLAGS := -mod=mod -buildvcs=false

.PHONY: all build test test-unit deps lint fuzz bench demo clean keywords

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
RACE_PKGS := ./internal/daemon/ ./internal/track/ ./internal/notify/ ./internal/fsm/ ./internal/control/

test: deps build
	GOVRRP_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 12m -p 2 $(PKGS)
	$(GO) test -count=1 -race -timeout 4m $(RACE_PKGS)

test-unit:
	$(GO) test -count=1 -short $(PKGS)

lint:
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

# fuzz runs every fuzz target for FUZZTIME each (go test -fuzz takes one target at a time).
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

# bench: the Go micro-benchmarks, then keepalived and govrrp handing over side by
# side in one run (root: network namespaces).
bench: deps build
	$(GO) test -run='^$$' -bench=. -benchmem ./pkg/... ./internal/fsm/ ./internal/daemon/ ./internal/transport/ ./internal/vip/ ./internal/track/
	GOVRRP_BIN=$(CURDIR)/$(BIN) $(GO) test -run='^$$' -bench=Handover -benchtime=5x ./internal/interop/

demo: deps build
	./bin/govrrp-demo -bin $(CURDIR)/$(BIN)

keywords:
	$(GO) run ./cmd/kaconf-keywords -readme README.md

clean:
	rm -rf bin
