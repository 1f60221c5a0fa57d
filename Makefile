# Every command a newcomer needs is a target here; the README names them.
GO ?= go
BIN := bin/sachet

.PHONY: all generate build run test test-short lint bench ci clean

all: build

generate: ## regenerate gen/ from openapi.yaml
	$(GO) generate ./gen/

build: ## build the sachet binary into bin/
	$(GO) build -o $(BIN) ./cmd/sachet

run: build ## serve on 127.0.0.1:5000 with the embedded SQLite default
	./$(BIN) serve

test: ## all tests, against SQLite and MariaDB (MySQL tests skip loudly if no server answers, except in CI)
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

bench: build ## benchmark suite of issue 4 (several minutes; SQLite, then MariaDB; installs nginx if absent); rewrites bench/README.md
	$(GO) run ./bench -bin $(BIN) -out bench/README.md

clean:
	rm -rf bin
