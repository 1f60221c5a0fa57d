# Every command a newcomer needs is a target here; the README names them.
GO ?= go
BIN := bin/sachet
# npm packages come from the lockfiles (npm ci), reinstalled when one changes.
NPM_CI := npm ci --no-audit --no-fund --loglevel=error
TS := clients/typescript
BROWSER := tests/browser
OASDIFF := github.com/oasdiff/oasdiff@v1.37.0
# staticcheck, pinned: v0.8.x is the line that supports Go 1.26.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Black-box tests that never touch the content store (sign-in, tokens, users'
# settings, the envelope and the contract, header limits), and the TestS3 suites
# (their own versitygw, run by the first pass): not rerun with content on S3.
S3_SKIP := ^(TestS3|TestAuth|TestAPIKey|TestSessions|TestToken|TestOnlyCompactJWS|TestThrottle|TestSettings|TestWhoami|TestEnvelope|TestSecureHeaders|TestServedContract|TestReservedNames|TestStrict|TestLimitSlowloris|TestLimitHeaderSize|TestBoundedHostileHeadersRSS|TestLoadLoginFlood|TestServeRaisesFileLimit)

.PHONY: all generate build run test test-deps test-fuzz bench bench-conns bench-peers bench-million clean test-clients lint lint-spec

all: build

generate: $(TS)/node_modules/.package-lock.json ## regenerate gen/ and the TypeScript client's src/schema.ts from openapi.yaml
	$(GO) generate ./gen/
	cd $(TS) && npm run --silent generate

build: ## build the sachet binary into bin/
	$(GO) build -o $(BIN) ./cmd/sachet

run: build ## serve on 127.0.0.1:5000 with the embedded SQLite default
	./$(BIN) serve

test: test-deps ## all tests, against SQLite and MariaDB; first installs/starts what they need (scripts/test-deps)
	$(GO) vet ./...
	$(MAKE) --no-print-directory lint
	SACHET_TEST_REQUIRE_SERVICES=1 $(GO) test -race -count=1 -timeout=40m ./...
	@# The whole black-box suite again (crash tests included), with content on S3: a
	@# versitygw on loopback, started by the harness (skipped loudly outside CI when it
	@# is not installed). S3_SKIP: what never touches the content store, and the
	@# TestS3 suites, which bring their own versitygw and ran above.
	SACHET_TEST_REQUIRE_SERVICES=1 SACHET_TEST_STORAGE=s3 $(GO) test -race -count=1 -timeout=20m -skip '$(S3_SKIP)' ./tests/
	$(MAKE) --no-print-directory test-fuzz
	$(MAKE) --no-print-directory test-clients

lint: ## staticcheck (pinned) over every package, tests included
	$(GO) run $(STATICCHECK) ./...

test-deps: ## install or start what the tests need (chromium, MariaDB, versitygw); as root or with sudo, else it says the command
	scripts/test-deps

# Each target runs a fixed number of executions beyond its seed corpus
# (about ten seconds' worth here), not a duration: with -fuzztime=10s the
# fuzz coordinator races its own deadline against a worker that is slow
# to answer on a loaded machine and fails with "context deadline
# exceeded" having found nothing (go.dev/issue/75804). FUZZTIME=30s (or
# any -fuzztime value) overrides every target's budget.
FUZZTIME ?=
test-fuzz: ## run each fuzz target briefly (a fixed number of executions; FUZZTIME overrides) beyond its seed corpus
	$(GO) test -run='^$$' -fuzz='^FuzzChunkForm$$' -fuzztime=$(or $(FUZZTIME),60x) ./tests/
	$(GO) test -run='^$$' -fuzz='^FuzzRange$$' -fuzztime=$(or $(FUZZTIME),10000x) ./tests/
	$(GO) test -run='^$$' -fuzz='^FuzzWriteChunk$$' -fuzztime=$(or $(FUZZTIME),50000x) ./storage/
	$(GO) test -run='^$$' -fuzz='^FuzzReader$$' -fuzztime=$(or $(FUZZTIME),300000x) ./api/mpguard/

bench: build ## benchmark suite of issues 4, 11 and 13 (several minutes; SQLite, then MariaDB, then S3 on versitygw; installs nginx if absent); rewrites bench/README.md
	$(GO) run ./bench -bin $(BIN) -out bench/README.md

bench-conns: build ## issue 14 item 3: 1 000, 5 000 and 10 000 slow downloads (64 KiB/s of a 64 MiB share): server RSS per connection, metadata p99 meanwhile, downloads cut (SQLite, then MariaDB; ~15 min)
	$(GO) run ./bench -bin $(BIN) -conns 1000,5000,10000

bench-peers: build ## issue 14's peers side by side: installs tusd and filebrowser (pinned) into bin/peers, then drives each next to sachet; writes bench/PEERS.md
	scripts/install-peers || echo "bench-peers: a peer did not install; the table says which"
	$(GO) run ./bench -bin $(BIN) -scenarios= -peers -out bench/PEERS.md

bench-million: build ## issue 14 item 2: seed 10^6 shares and 10^4 users (bulk SQL), measure metadata, list, users and create through HTTP against 10^4 shares, on SQLite then MariaDB (about 15 minutes); prints the table
	$(GO) run ./bench -bin $(BIN) -scenarios million -runs 3 -nginx off

test-clients: build lint-spec $(TS)/node_modules/.package-lock.json $(BROWSER)/node_modules/.package-lock.json ## the TS client (tsc --strict, node test), the browser test (Chromium), the spec lint
	cd $(TS) && SACHET_BIN=$(CURDIR)/$(BIN) npm test
	cd $(BROWSER) && SACHET_BIN=$(CURDIR)/$(BIN) npm test

lint-spec: $(TS)/node_modules/.package-lock.json ## lint openapi.yaml (.redocly.yaml), then check it for breaking changes against the last release (api/releases/, oasdiff)
	cd $(TS) && npm run --silent lint:spec
	@base=$$(ls api/releases/v*.yaml | sort -V | tail -n1); \
	echo "oasdiff: openapi.yaml against $$base"; \
	$(GO) run $(OASDIFF) breaking --fail-on ERR --color never "$$base" openapi.yaml

%/node_modules/.package-lock.json: %/package-lock.json
	cd $* && $(NPM_CI)

clean:
	rm -rf bin
