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
# grpcnotrace leaves out gRPC's request tracing (golang.org/x/net/trace and
# html/template), which nothing here turns on: the agent's binary shrinks
# from 21.5 to 17.5 MB and its idle RSS from 20.8 to 18.0 MiB. The shipped
# binaries (build, cross, installer/cmd/vcguard-package) are built with it.
BUILD_TAGS := grpcnotrace
# Package versions must be MAJOR.MINOR.PATCH[-PRERELEASE] and grow with each
# build; a release sets PKG_VERSION=1.2.0.
PKG_VERSION ?= 0.1.0-dev.$(shell git rev-list --count HEAD 2>/dev/null || echo 0)

.PHONY: build
build: ## Build the agent, the server and vcguardctl for this machine into bin/.
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(BUILD_TAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/ ./agent/cmd/vcguard-agent ./server/cmd/vcguard-server ./server/cmd/vcguardctl

.PHONY: run
run: build ## Start a server on embedded SQLite in $(RUN_DIR) plus a local agent enrolled to it; prints the dashboard, the first login and the exact `vcguard-agent status` command for that agent.
	./scripts/run-local.sh "$(RUN_DIR)"

# buf, staticcheck, protoc-gen-go and protoc-gen-go-grpc are pinned as tools
# in go.mod: `go tool NAME` builds the pinned version, nothing comes from PATH.
BUF := $(GO) tool buf

.PHONY: proto
proto: ## Regenerate the Go code of every .proto in proto/ (buf.gen.yaml) with the buf and generators pinned in go.mod.
	find proto -name '*.pb.go' -delete
	$(BUF) generate

# The baseline `buf breaking` compares against: the protos of the last release.
# There is no release tag yet, so it holds the contract as last recorded (after
# the gRPC AdminService was dropped, issue 13). Cut a release, then record its
# protos with `make proto-baseline BASELINE_REF=<tag>` (default HEAD) and
# commit the file.
BASELINE := proto/baseline.binpb
BASELINE_REF ?= HEAD

.PHONY: proto-baseline
proto-baseline: ## Record the protos at git BASELINE_REF (default HEAD; a release tag) as the baseline of buf breaking.
	$(BUF) build '.git#ref=$(BASELINE_REF)' -o $(BASELINE)

.PHONY: lint
lint: staticcheck ## staticcheck, buf lint, buf breaking against the last release's protos (proto/baseline.binpb).
	$(BUF) lint
	$(BUF) breaking --against $(BASELINE)

# staticcheck runs once per GOOS the code builds for, and the runs are merged
# (staticcheck -merge), so code used only in another OS's files is not
# reported as unused. Part of lint, and so of test. e2e/ runs on Linux only
# (real servers, PipeWire, Wine), so only the linux run checks it.
STATICCHECK_GOOS := linux darwin windows

.PHONY: staticcheck
staticcheck: ## staticcheck (pinned in go.mod) for linux, darwin and windows, merged.
	@sc="$$($(GO) tool -n staticcheck)"; tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	for os in $(STATICCHECK_GOOS); do \
	  echo "staticcheck GOOS=$$os"; \
	  pkgs="$$(GOOS=$$os $(GO) list ./...)"; \
	  if [ "$$os" != linux ]; then pkgs="$$(grep -v '/e2e$$' <<<"$$pkgs")"; fi; \
	  GOOS=$$os "$$sc" -f binary $$pkgs >"$$tmp/$$os.bin"; \
	done; \
	"$$sc" -merge "$$tmp"/*.bin

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
	  CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath -tags $(BUILD_TAGS) -o /dev/null ./agent/cmd/vcguard-agent ./server/cmd/vcguard-server ./server/cmd/vcguardctl; \
	done

.PHONY: test
test: fmtcheck vet lint checkgenerate cross ## Run every check and test (what CI runs), the Windows lane included.
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

.PHONY: catalog-check
catalog-check: ## Report meeting tools missing facts and facts checked more than 12 months ago (fetches nothing); ONLINE=1 also requests every source and reports redirects and failures.
	$(GO) run ./policies/cmd/catalog-check -catalog policies/catalog $(if $(ONLINE),-online)

.PHONY: bench-agent
bench-agent: build ## Measure the real agent idle with 500 processes and a background load of 100 exec/s for 60 s (RSS, CPU, achieved exec/s); PROCS=, EXECS_PER_SEC= (0: no load), EXEC_PROGRAM= (true or exit0) and SECONDS_MEASURED= override.
	GO=$(GO) scripts/bench-agent.sh

.PHONY: bench
bench: ## Run the Go benchmarks of the agent's hot paths (scan vs. floor, outbox, detection latency and the whole agent's exec -> finding, idle and under 1,000 exec/s: load=0, load=1000).
	$(GO) test -run '^$$' -bench . -benchtime 200x ./agent/procwatch/ ./agent/outbox/ ./agent/

.PHONY: clean
clean:
	rm -rf $(BIN) dist
