# debflow: make build | test | demo | bench
GO      ?= go
BIN     := bin/debflow
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build test demo bench fuzz vet clean mirror-check

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/debflow

test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

demo: build
	./scripts/demo.sh

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

clean:
	rm -rf bin demo
