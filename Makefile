# keyrack developer tasks. CI runs `make test` (see .ci/run).
#
# PostgreSQL and Redis come from cmd/devservices: it uses DATABASE_URL and
# REDIS_URL when they answer, else starts throwaway servers for the duration
# of the command.

GO ?= go

# Binaries are built outside the repository, in Go's build cache directory.
GOCACHE_DIR := $(shell $(GO) env GOCACHE)
BIN_DIR ?= $(if $(filter /%,$(GOCACHE_DIR)),$(GOCACHE_DIR)/keyrack-bin,/tmp/keyrack-bin-$(shell id -u))
DEVSERVICES := $(BIN_DIR)/devservices
KEYRACK := $(BIN_DIR)/keyrack

.PHONY: all test run bench fmt vet devservices keyrack

all: test

# devservices is built and run as a binary rather than with `go run`, so that
# it receives signals itself and COMMAND's exit code reaches make unchanged.
devservices:
	$(GO) build -o $(DEVSERVICES) ./cmd/devservices

keyrack:
	$(GO) build -o $(KEYRACK) ./cmd/keyrack

test: vet devservices
	$(DEVSERVICES) -- $(GO) test -count=1 -timeout 30m ./...

# The demo's staff user: demo / keyrack-demo (admin), for the local demo only.
DEMO_PASSWORD ?= keyrack-demo

run: devservices keyrack
	$(DEVSERVICES) -- sh -c '$(KEYRACK) migrate && $(KEYRACK) seed demo && KEYRACK_PASSWORD=$(DEMO_PASSWORD) $(KEYRACK) user add demo --role admin && exec $(KEYRACK) serve'

bench: devservices
	$(DEVSERVICES) -- $(GO) test -run '^$$' -bench 'ApplyRevision|PgbenchBooking' -benchtime 20s -timeout 60m ./inventory/
	$(DEVSERVICES) -- $(GO) test -run '^$$' -bench 'SyncLag' -benchtime 3000x -timeout 30m ./sync/
	$(DEVSERVICES) -- $(GO) test -run '^$$' -bench 'GridPage' -benchtime 200x -timeout 30m ./web/

fmt:
	$(GO) fmt ./...

vet:
	$(GO) vet ./...
