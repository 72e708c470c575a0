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

.PHONY: all test run bench bench-go fmt vet devservices keyrack

all: test

# devservices is built and run as a binary rather than with `go run`, so that
# it receives signals itself and COMMAND's exit code reaches make unchanged.
devservices:
	$(GO) build -o $(DEVSERVICES) ./cmd/devservices

keyrack:
	$(GO) build -o $(KEYRACK) ./cmd/keyrack

# The tests run under Go's race detector when cgo has a C compiler (CI
# installs gcc); without one they run without it, and say so. RACE= turns it off.
RACE ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)

test: vet devservices
	@[ -n "$(RACE)" ] || echo "make test: running without the race detector (it needs cgo and a C compiler: gcc)"
	$(DEVSERVICES) -- $(GO) test $(RACE) -count=1 -timeout 30m ./...

# The demo's staff user: demo / keyrack-demo (admin), and the secret that seals
# the simulated channels' credentials (KEYRACK_SECRET wins when set), for the
# local demo only.
DEMO_PASSWORD ?= keyrack-demo
DEMO_SECRET ?= keyrack-demo-secret-for-local-runs-only
# The live demo's traffic: bookings per second of each simulated OTA, the
# share of keyrack's requests the simulated channels fail on purpose, and how
# many of its requests each serves a second before answering 429 (0: no limit).
DEMO_RATE ?= 0.2
DEMO_FAIL_SHARE ?= 0.05
DEMO_LIMIT ?= 0

# keyrack serves the demo hotel with the channel simulator beside it, in one
# process: Ctrl-C stops both, and if keyrack stops so does the simulator.
# Warnings only (KEYRACK_LOG_LEVEL wins when set), so the simulator's traffic
# printed every 10 s is not lost among a log line per request.
run: devservices keyrack
	$(DEVSERVICES) -- sh -c '$(KEYRACK) migrate && $(KEYRACK) seed demo && KEYRACK_PASSWORD=$(DEMO_PASSWORD) $(KEYRACK) user add demo --role admin && \
		KEYRACK_SECRET="$${KEYRACK_SECRET:-$(DEMO_SECRET)}" KEYRACK_LOG_LEVEL="$${KEYRACK_LOG_LEVEL:-warn}" \
		exec $(KEYRACK) sim -serve -rate $(DEMO_RATE) -fail-share $(DEMO_FAIL_SHARE) -limit $(DEMO_LIMIT) -check-timeout 0'

# keyrack bench: bookings over HTTP from concurrent clients into simulated
# properties, sync lag, consistency, and the pgbench reference (README,
# "Performance"). Flags in BENCH_FLAGS, e.g. make bench BENCH_FLAGS='-properties 100 -resync'.
BENCH_FLAGS ?=

bench: devservices keyrack
	$(DEVSERVICES) -- $(KEYRACK) bench $(BENCH_FLAGS)

# The Go benchmarks of the pool, the fan-out and the admin grid page.
bench-go: devservices
	$(DEVSERVICES) -- $(GO) test -run '^$$' -bench 'ApplyRevision|PgbenchBooking' -benchtime 20s -timeout 60m ./inventory/
	$(DEVSERVICES) -- $(GO) test -run '^$$' -bench 'SyncLag' -benchtime 3000x -timeout 30m ./sync/
	$(DEVSERVICES) -- $(GO) test -run '^$$' -bench 'GridPage' -benchtime 200x -timeout 30m ./web/
	$(GO) test -run '^$$' -bench 'ParseReservation' -benchmem ./connectors/otaxml/

fmt:
	$(GO) fmt ./...

vet:
	$(GO) vet ./...
