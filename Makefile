# debflow: make build | test | demo | bench
GO      ?= go
BIN     := bin/debflow
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build test demo fleet-demo bench fuzz vet clean mirror-check install

# Static (CGO_ENABLED=0): CI runners and devices differ in glibc.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/debflow

# make install [PREFIX=/usr/local] [DESTDIR=...]: the binary, a man page per
# command (debflow man) and the bash, zsh and fish completions.
PREFIX  ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/debflow
	$(BIN) man --quiet --out $(DESTDIR)$(PREFIX)/share/man/man1
	$(BIN) completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/debflow
	$(BIN) completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_debflow
	$(BIN) completion fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/debflow.fish

# staticcheck is installed by .ci/run (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2).
STATICCHECK ?= $(shell command -v staticcheck || echo $$($(GO) env GOPATH)/bin/staticcheck)

test:
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./repo/... ./cmd/...

demo: build
	./scripts/demo.sh

# Three Debian 12 device roots configured by ansible-pull from a branch per
# stage (root, debootstrap, the machine's Debian mirror; see the README).
fleet-demo: build
	./scripts/fleet-demo.sh

bench: build
	./scripts/bench.sh

# A manual check against the real Debian archive (network, root, debootstrap):
# a filtered bookworm mirror with --with-deps, and debootstrap from it.
mirror-check: build
	./scripts/mirror-check.sh

# Run each fuzz target for a while (FUZZTIME=30s by default).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run XXX -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Refuses while the fleet demo has something mounted under demo/.
clean:
	@! grep -qs " $(CURDIR)/demo/" /proc/mounts || { echo "mounts under demo/ (grep $(CURDIR)/demo /proc/mounts): umount them first" >&2; exit 1; }
	rm -rf --one-file-system bin demo
