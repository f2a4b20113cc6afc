SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
MAKEFLAGS += --no-print-directory

GO ?= go
BIN := bin
RUN_DIR ?= ./vcguard-data
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Package versions must be MAJOR.MINOR.PATCH[-PRERELEASE] and grow with each
# build; a release sets PKG_VERSION=1.2.0.
PKG_VERSION ?= 0.1.0-dev.$(shell git rev-list --count HEAD 2>/dev/null || echo 0)

.PHONY: build
build: ## Build the agent, the server and vcguardctl for this machine into bin/.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./agent/cmd/vcguard-agent ./server/cmd/vcguard-server ./server/cmd/vcguardctl

.PHONY: run
run: build ## Start a server on embedded SQLite in $(RUN_DIR) plus a local agent enrolled to it.
	./scripts/run-local.sh "$(RUN_DIR)"

.PHONY: proto
proto: ## Regenerate the Go code of proto/ with the generator versions pinned in go.mod.
	protoc -I proto \
	  --plugin=protoc-gen-go="$$($(GO) tool -n protoc-gen-go)" \
	  --plugin=protoc-gen-go-grpc="$$($(GO) tool -n protoc-gen-go-grpc)" \
	  --go_out=proto --go_opt=paths=source_relative \
	  --go-grpc_out=proto --go-grpc_opt=paths=source_relative \
	  proto/vcguard/v1/*.proto

.PHONY: checkgenerate
checkgenerate: proto ## Fail when the committed generated code is stale.
	@if [ -n "$$(git status --porcelain -- proto)" ]; then \
	  echo "generated code in proto/ is stale: run 'make proto' and commit the result"; \
	  git --no-pager diff --stat -- proto; git status --porcelain -- proto; exit 1; fi

.PHONY: fmtcheck
fmtcheck:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet:
	$(GO) vet ./...
	$(GO) vet -tags wine ./e2e/
	GOOS=windows $(GO) vet $$($(GO) list ./... | grep -v -e /e2e$$ -e /pwtest$$)

.PHONY: cross
cross: ## Cross-compile every binary for every platform with CGO_ENABLED=0.
	@for p in $(PLATFORMS); do \
	  echo "cross $$p"; \
	  CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath -o /dev/null ./agent/cmd/vcguard-agent ./server/cmd/vcguard-server ./server/cmd/vcguardctl; \
	done

.PHONY: test
test: fmtcheck vet checkgenerate cross ## Run every check and test (what CI runs), the Windows lane included.
	$(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) test-windows
	$(MAKE) packages

.PHONY: packages
packages: ## Build every installer (deb, rpm, msi, pkg, mobileconfig) and SHA256SUMS into dist/; PKG_VERSION= sets the version.
	$(GO) run ./installer/cmd/vcguard-package --version $(PKG_VERSION) --out dist
	cd dist && sha256sum --check --quiet SHA256SUMS

.PHONY: test-windows
test-windows: ## Run every package's tests for windows/amd64 under Wine, and the Windows agent end to end against the Linux server.
	GO=$(GO) scripts/test-windows.sh

.PHONY: bench-agent
bench-agent: build ## Measure the real agent idle with 500 processes for 60 s (RSS, CPU); PROCS= and SECONDS_MEASURED= override.
	scripts/bench-agent.sh

.PHONY: bench
bench: ## Run the Go benchmarks of the agent's hot paths (scan vs. floor, outbox, detection latency).
	$(GO) test -run '^$$' -bench . -benchtime 200x ./agent/procwatch/ ./agent/outbox/

.PHONY: clean
clean:
	rm -rf $(BIN) dist
