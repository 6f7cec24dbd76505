# glusterd-ng — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO            ?= go
BIN           := $(CURDIR)/bin
CACHE_DIR     ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/glusterd-ng
CONSUL_VERSION := $(shell grep -oE 'github.com/hashicorp/consul v[0-9.]+' tools/consul/go.mod | cut -d' ' -f2)
CONSUL_CACHED := $(CACHE_DIR)/consul-$(CONSUL_VERSION)/consul
BUF_VERSION   := $(shell grep -oE 'github.com/bufbuild/buf v[0-9.]+' tools/buf/go.mod | cut -d' ' -f2)
BUF_CACHED    := $(CACHE_DIR)/buf-$(BUF_VERSION)/buf
STATE         ?= $(CURDIR)/.run
NODES         ?= 1
TESTFLAGS     ?= -race -count=1 -timeout 20m
COMMANDS      := ./services/store/cmd/stored ./services/peer/cmd/peerd ./services/servicemgr/cmd/servicemgrd \
                 ./services/portmap/cmd/portmapd ./services/orchestrator/cmd/orchestratord \
                 ./gateway/cmd/gatewayd ./deploy/devcluster $(wildcard ./cli/gdctl)

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: consul ## build every command into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(COMMANDS)

.PHONY: consul
consul: $(BIN)/consul ## build the pinned Consul server once into the user cache and link bin/consul

$(BIN)/consul: $(CONSUL_CACHED)
	@mkdir -p $(BIN)
	ln -sf $(CONSUL_CACHED) $(BIN)/consul

$(CONSUL_CACHED): | tools/consul/go.mod tools/consul/go.sum
	@echo ">> building Consul $(CONSUL_VERSION) (MPL-2.0) into $(CACHE_DIR); a cold build takes about 9 minutes"
	@mkdir -p $(dir $@)
	cd tools/consul && GOWORK=off $(GO) build -trimpath -o $@.tmp github.com/hashicorp/consul
	mv $@.tmp $@

$(BUF_CACHED): | tools/buf/go.mod tools/buf/go.sum
	@mkdir -p $(dir $@)
	cd tools/buf && GOWORK=off $(GO) build -o $@.tmp github.com/bufbuild/buf/cmd/buf
	mv $@.tmp $@

.PHONY: generate
generate: $(BUF_CACHED) ## regenerate gRPC, grpc-gateway and OpenAPI code from proto/
	find proto -name '*.pb.go' -o -name '*.pb.gw.go' | xargs -r rm -f
	rm -f gateway/openapi/*.swagger.json
	$(BUF_CACHED) generate

.PHONY: verify
verify: generate ## gofmt, go vet, generated code up to date, import boundaries
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>&1); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./... ./e2e/...
	@git add -N proto gateway/openapi >/dev/null 2>&1 || true
	@if ! git diff --exit-code --stat -- proto gateway/openapi; then echo "generated code is stale: run make generate and commit"; exit 1; fi
	./tools/check-imports.sh

# What the tests need from Debian: stock GlusterFS 10 (bricks, FUSE client,
# libgfapi headers) and a C toolchain for the gfapi check.
DEB_PACKAGES := glusterfs-server glusterfs-client libglusterfs-dev pkg-config gcc psmisc

.PHONY: deps
deps: ## install the Debian packages the tests need (as root, when missing)
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "missing packages: $$missing (run make deps as root)"; exit 1; fi; \
		echo ">> installing $$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		: "the package may start a system glusterd; the tests run their own GlusterFS processes"; \
		pkill -x glusterd 2>/dev/null || true; \
	fi
	@if pgrep -x glusterd >/dev/null; then echo "warning: a glusterd is running; it holds port 24007, which the end-to-end tests need on 127.1.1.x (stop it first)"; fi

.PHONY: test
test: deps consul ## unit and integration tests (real Consul, real GlusterFS bricks and FUSE mounts)
	$(GO) test $(TESTFLAGS) ./... ./e2e/...

.PHONY: bench
bench: deps build ## benchmarks beside stock glusterd; results written to docs/benchmarks.md
	$(GO) run ./tools/bench -bin $(BIN) -out docs/benchmarks.md

.PHONY: run
run: build ## a single-node cluster on a local Consul agent (NODES=3 for three storage nodes); Ctrl-C stops it
	$(BIN)/devcluster -bin $(BIN) -state $(STATE) -nodes $(NODES)

.PHONY: clean
clean: ## remove bin/ (the Consul build stays cached)
	rm -rf $(BIN)
