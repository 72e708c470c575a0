package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	mrand "math/rand/v2"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/fixtures/sim"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
)

// keyrack bench: the reproducible throughput and sync-lag scenario. It
// makes a fresh database, N properties with C simulated OTA channels each
// (fixtures/sim on loopback), runs keyrack in this process (web, workers,
// scheduler), drives OTA XML bookings over HTTP from concurrent clients
// with a hot spot, and measures what the issue asks: bookings committed per
// second, inbound latency, sync lag, deliveries per booking, overbooking
// incidents, lost bookings and the final consistency of every channel with
// the pool — next to pgbench running one booking per transaction on the
// same server.

type benchOptions struct {
	properties, pools, channels, clients int
	rate                                 float64
	duration, warmup                     time.Duration
	nights, maxStay, units               int
	hotShare                             float64
	resync, pgbench, keep                bool
	settle                               time.Duration
	cpuProfile                           string
	seed                                 uint64
}

func benchFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Config, *benchOptions) {
	fs, c := databaseFlags("bench", "bench [flags]  (DATABASE_URL and REDIS_URL; a fresh database is made on that server and dropped after)", cfg, w)
	fs.StringVar(&c.RedisURL, "redis-url", cfg.RedisURL, "Redis `url` (REDIS_URL)")
	o := &benchOptions{}
	fs.IntVar(&o.properties, "properties", 20, "`number` of properties")
	fs.IntVar(&o.pools, "pools", 4, "pools (one room type each) per property")
	fs.IntVar(&o.channels, "channels", 4, "simulated OTA channels per property; each booking comes in on one of them and must reach the others")
	fs.IntVar(&o.clients, "clients", 32, "concurrent HTTP clients sending bookings")
	fs.Float64Var(&o.rate, "rate", 0, "bookings per `second` in all (0: as fast as the clients get answers)")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long bookings are sent and measured")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "how long bookings are sent first, at the same rate, without being measured (new connections, first plans); they count for consistency and lost bookings")
	fs.IntVar(&o.nights, "nights", 90, fmt.Sprintf("arrival window in nights from the day after tomorrow (at most %d, within the channels' horizon of %d nights; stays end in it)", benchHorizon-benchFirstArrival, benchHorizon))
	fs.IntVar(&o.maxStay, "max-stay", 3, "longest stay in nights (lengths are uniform from 1)")
	fs.IntVar(&o.units, "units", 100000, "rooms per pool (large, so no booking is ever short; with a small one pools fill, and the OTAs' bookings beyond them are taken as overbookings)")
	fs.Float64Var(&o.hotShare, "hot-share", 0.6, "`share` (0-1) of arrivals on the hottest fifth of the nights")
	fs.BoolVar(&o.resync, "resync", false, fmt.Sprintf("a full %d-night resync of every property to every channel starts a third into the measured load", benchHorizon))
	fs.BoolVar(&o.pgbench, "pgbench", true, "run the pgbench reference (one booking per transaction) first")
	fs.DurationVar(&o.settle, "settle", 2*time.Minute, "how long to wait after the load for every channel to hold the pool's values")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (keyrack and the load) during the load to `file`")
	fs.BoolVar(&o.keep, "keep", false, "keep the benchmark database instead of dropping it")
	fs.Uint64Var(&o.seed, "seed", 1, "`seed` of the bookings")
	return fs, c, o
}

const (
	// benchHorizon is how many nights from today the simulated channels are
	// kept in sync for (their horizon), told all of them by the first sync.
	benchHorizon = 365
	// benchFirstArrival is the first arrival, in days from today: the
	// arrival window ends benchFirstArrival + -nights days from today, and
	// stays are cut there.
	benchFirstArrival = 2
)

// benchResult is the last line of keyrack bench's output.
type benchResult struct {
	Properties        int     `json:"properties"`
	Channels          int     `json:"channels"`
	Clients           int     `json:"clients"`
	DurationS         float64 `json:"duration_s"`
	WarmupS           float64 `json:"warmup_s"`
	Bookings          int     `json:"bookings"`
	BookingsPerS      float64 `json:"bookings_per_s"`
	PgbenchTPS        float64 `json:"pgbench_tps"`
	Ratio             float64 `json:"ratio"`
	InboundP50Ms      float64 `json:"inbound_p50_ms"`
	InboundP99Ms      float64 `json:"inbound_p99_ms"`
	LagP50Ms          float64 `json:"lag_p50_ms"`
	LagP99Ms          float64 `json:"lag_p99_ms"`
	LagMaxMs          float64 `json:"lag_max_ms"`
	AnswerAfterP99Ms  float64 `json:"answer_after_commit_p99_ms"`
	DeliveriesPer     float64 `json:"deliveries_per_booking"`
	BookingsPerCommit float64 `json:"bookings_per_commit"`
	Overbookings      int     `json:"overbooking_incidents"`
	Refused           int     `json:"refused"`
	Failed            int     `json:"failed"`
	Lost              int     `json:"lost"`
	Consistent        bool    `json:"consistent"`
	Resync            bool    `json:"resync"`
	Autovacuum        bool    `json:"autovacuum"`
	ResyncS           float64 `json:"resync_s,omitempty"`
}

func benchCommand(ctx context.Context, cfg Config, args []string, logger *slog.Logger, stdout, stderr io.Writer) error {
	fs, c, o := benchFlags(cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("bench takes no arguments, got %q", fs.Args())}
	}
	switch {
	case o.properties < 1 || o.pools < 1 || o.channels < 2 || o.clients < 1:
		return usageError{"bench: -properties, -pools and -clients must be at least 1, -channels at least 2"}
	case o.rate < 0 || o.duration <= 0 || o.warmup < 0 || o.nights < 1 || o.maxStay < 1 || o.units < 1 || o.settle <= 0:
		return usageError{"bench: -rate and -warmup must be ≥ 0; -duration, -nights, -max-stay, -units and -settle positive"}
	case o.hotShare < 0 || o.hotShare > 1:
		return usageError{"bench: -hot-share must be between 0 and 1"}
	case benchFirstArrival+o.nights > benchHorizon:
		// The channels are told nothing beyond it: the run could never be
		// consistent.
		return usageError{fmt.Sprintf("bench: -nights %d reaches past the channels' horizon: arrivals start the day after tomorrow and the simulated channels are kept in sync for %d nights from today, so -nights is at most %d",
			o.nights, benchHorizon, benchHorizon-benchFirstArrival)}
	}
	if err := requireDatabaseURL(*c); err != nil {
		return err
	}
	// keyrack runs in this process: its request log would drown the
	// figures (and cost time); warnings and errors still show.
	if c.LogLevel < slog.LevelWarn {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	b := &bench{opt: *o, cfg: *c, log: logger, out: stdout}
	defer b.close()
	res, err := b.run(ctx)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(res)
	fmt.Fprintf(stdout, "%s\n", line)
	switch {
	case res.Lost > 0:
		return fmt.Errorf("bench: %d bookings lost (see above)", res.Lost)
	case !res.Consistent:
		return errors.New("bench: the channels did not all come to hold the pool's values and every booking's effect (see above)")
	}
	return nil
}

// bench is one run of keyrack bench.
type bench struct {
	opt benchOptions
	cfg Config
	log *slog.Logger
	out io.Writer

	adminURL, dbURL string       // the server's database, the fresh one
	listener        net.Listener // keyrack's, until it runs
	dbName          string
	st              *inventory.Store
	main            *Main
	cancelMain      context.CancelFunc
	mainDone        <-chan error
	props           []*benchProperty
	from            inventory.Date
	lag             *lagTracker
}

// benchProperty is one property with its simulated channels.
type benchProperty struct {
	code string
	otas []*sim.OTA
	mu   gosync.Mutex
	gen  *sim.Generator
}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(b.out, format, args...) }

func (b *bench) run(ctx context.Context) (benchResult, error) {
	o := b.opt
	res := benchResult{Properties: o.properties, Channels: o.channels, Clients: o.clients, Resync: o.resync}
	rate := "as fast as answered"
	if o.rate > 0 {
		rate = fmt.Sprintf("%g bookings/s", o.rate)
	}
	b.printf("keyrack bench: %d properties × %d simulated OTA channels, %d pools each; %d clients, %s, for %s; stays of 1–%d nights over %d nights, %.0f%% of arrivals on a fifth of them\n",
		o.properties, o.channels, o.pools, o.clients, rate, o.duration, o.maxStay, o.nights, 100*o.hotShare)
	b.printf("machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())

	start := time.Now()
	if err := b.freshDatabase(ctx); err != nil {
		return res, err
	}
	secret := b.cfg.Secret
	if secret == "" {
		secret = randomHex(16)
	}
	secrets, err := inventory.NewSecrets(secret)
	if err != nil {
		return res, err
	}
	if b.st, err = inventory.Open(ctx, b.dbURL); err != nil {
		return res, err
	}
	if err := b.st.Migrate(ctx); err != nil {
		return res, err
	}
	// Whether PostgreSQL keeps the tables' statistics itself matters to the
	// figures (README "Configuration").
	var version string
	if err := b.st.DB().QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('autovacuum')::bool`).Scan(&version, &res.Autovacuum); err != nil {
		return res, err
	}
	if res.Autovacuum {
		b.printf("PostgreSQL %s, autovacuum on\n", version)
	} else {
		b.printf("PostgreSQL %s, autovacuum off: keyrack's scheduler analyzes and vacuums its tables itself\n", version)
	}
	// keyrack's address is needed before it runs: the simulated channels
	// post to it. Bound now, so none of their servers can take the port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	b.listener = ln
	addr := ln.Addr().String()
	// Many clients to one server: keep their connections.
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, o.clients*2)
	}
	b.from = inventory.Today(time.UTC).AddDays(benchFirstArrival)
	b.lag = newLagTracker(o.units, o.channels)
	b.st.OnCommit(b.lag.committed)
	if err := b.setup(ctx, secrets, "http://"+addr); err != nil {
		return res, err
	}
	b.printf("setup: %d properties, %d channels, %d nights each, in %s\n", o.properties, o.properties*o.channels, benchHorizon, time.Since(start).Round(time.Millisecond))

	if o.pgbench {
		tps, err := b.pgbenchReference(ctx)
		if err != nil {
			return res, err
		}
		res.PgbenchTPS = tps
		b.printf("pgbench reference: %.0f bookings/s (%d clients, one booking per transaction, prepared statements, %s)\n", tps, o.clients, min(o.duration, 30*time.Second))
	}

	if err := b.startKeyrack(ctx, secret); err != nil {
		return res, err
	}
	// Every channel is told every night first, as after a go-live.
	t0 := time.Now()
	for _, p := range b.props {
		if err := b.main.Fanout().Resync(ctx, p.code, ""); err != nil {
			return res, err
		}
	}
	if diffs, err := b.waitConsistent(ctx, time.Now().Add(2*time.Minute)); err != nil || len(diffs) > 0 {
		if err == nil {
			err = fmt.Errorf("%d channel-nights still differ from the pool after 2 minutes, e.g. %s", len(diffs), diffs[0])
		}
		return res, fmt.Errorf("bench: the initial sync: %w", err)
	}
	b.printf("initial sync of every channel: %s\n", time.Since(t0).Round(time.Millisecond))

	// The load: a warm-up, then what is measured.
	var applied0 int
	var groups0, revs0 int64
	var resyncDone <-chan time.Duration
	if o.resync {
		resyncDone = b.resyncLater(ctx, o.warmup+o.duration/3)
	}
	stopProfile, err := startProfile(o.cpuProfile)
	if err != nil {
		return res, err
	}
	ld := b.load(ctx, func() {
		applied0 = b.applied()
		groups0, revs0 = b.st.GroupStats()
	})
	stopProfile()
	res.DurationS, res.WarmupS = ld.elapsed.Seconds(), o.warmup.Seconds()
	res.Bookings, res.Refused, res.Failed = ld.accepted, ld.refused, ld.failed
	res.BookingsPerS = float64(ld.accepted) / ld.elapsed.Seconds()
	res.InboundP50Ms, res.InboundP99Ms = ms(sim.Percentile(ld.latencies, 0.50)), ms(sim.Percentile(ld.latencies, 0.99))
	b.printf("load: %s after a warm-up of %s (%d bookings, not measured), %d bookings sent, %d accepted, %d refused, %d unanswered: %.0f bookings/s\n",
		ld.elapsed.Round(time.Millisecond), o.warmup, ld.warm, ld.sent, ld.accepted, ld.refused, ld.failed, res.BookingsPerS)
	b.printf("inbound latency (request to OTA_HotelResNotifRS): p50 %.1f ms, p99 %.1f ms\n", res.InboundP50Ms, res.InboundP99Ms)
	if groups, revs := b.st.GroupStats(); groups > groups0 {
		res.BookingsPerCommit = float64(revs-revs0) / float64(groups-groups0)
		b.printf("group commit: %.1f bookings per transaction\n", res.BookingsPerCommit)
	}

	// Every channel must come to hold the pool's values.
	t1 := time.Now()
	diffs, err := b.waitConsistent(ctx, time.Now().Add(o.settle))
	if err != nil {
		return res, err
	}
	res.Consistent = len(diffs) == 0
	if res.Consistent {
		b.printf("consistency: every channel holds the pool's value on every night, %s after the load stopped\n", time.Since(t1).Round(time.Millisecond))
	} else {
		b.printf("consistency: NOT reached within %s: %d channel-nights differ, e.g. %s\n", o.settle, len(diffs), diffs[0])
	}
	if resyncDone != nil {
		select {
		case d := <-resyncDone:
			res.ResyncS = d.Seconds()
			b.printf("bulk resync: every property to every channel over %d nights, done %.1f s after it started\n", benchHorizon, res.ResyncS)
		case <-time.After(time.Minute):
			b.printf("bulk resync: not finished a minute after the load\n")
		}
	}

	lags, unreached, slowest := b.lag.lags()
	res.LagP50Ms, res.LagP99Ms = ms(sim.Percentile(lags, 0.50)), ms(sim.Percentile(lags, 0.99))
	if slowest != nil {
		res.LagMaxMs = ms(slowest.lag())
	}
	b.printf("sync lag (the booking's commit → the last other channel holding its effect): p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d bookings",
		res.LagP50Ms, res.LagP99Ms, res.LagMaxMs, len(lags))
	if unreached > 0 {
		b.printf("; %d bookings never reached every other channel", unreached)
		res.Consistent = false
	}
	b.printf("\n")
	delays := b.lag.delays()
	res.AnswerAfterP99Ms = ms(sim.Percentile(delays, 0.99))
	b.printf("the answer came after the commit: p50 %.1f ms, p99 %.1f ms\n", ms(sim.Percentile(delays, 0.50)), res.AnswerAfterP99Ms)
	if slowest != nil {
		b.printf("slowest booking: %s from %s, %d night(s) from %s, committed at %s; the last other channel to hold it was %s, %.0f ms later\n",
			slowest.property, benchChannel(slowest.origin), slowest.nights, slowest.arrival, slowest.committed.UTC().Format("15:04:05.000"),
			benchChannel(slowest.lastChannel), ms(slowest.lag()))
	}
	if ld.accepted > 0 {
		res.DeliveriesPer = float64(b.applied()-applied0) / float64(ld.accepted)
	}
	b.printf("deliveries: %.2f ARI messages per booking (to %d other channels)\n", res.DeliveriesPer, o.channels-1)

	if res.Overbookings, err = b.overbookings(ctx); err != nil {
		return res, err
	}
	if res.Lost, err = b.lost(ctx, ld.ids); err != nil {
		return res, err
	}
	b.printf("overbooking incidents: %d; lost bookings (answered Success, not in the pool): %d\n", res.Overbookings, res.Lost)
	if res.PgbenchTPS > 0 {
		res.Ratio = res.BookingsPerS / res.PgbenchTPS
		b.printf("ratio to pgbench: %.2f× (target ≥ 4×)\n", res.Ratio)
	}
	return res, nil
}

// freshDatabase creates an empty database on DATABASE_URL's server.
func (b *bench) freshDatabase(ctx context.Context) error {
	u, err := url.Parse(b.cfg.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("bench needs DATABASE_URL as a postgres:// URL to make a database beside it")
	}
	b.adminURL = u.String()
	b.dbName = fmt.Sprintf("keyrack_bench_%d_%s", time.Now().Unix(), randomHex(3))
	conn, err := adminConnect(ctx, b.adminURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL does not answer (check DATABASE_URL): %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{b.dbName}.Sanitize()); err != nil {
		return fmt.Errorf("bench: create a database: %w", err)
	}
	u.Path = "/" + b.dbName
	// The fresh database has keyrack's tables in public; a search_path
	// given for DATABASE_URL's database is not for it, and a database named
	// among the parameters would be taken instead of the path.
	q := u.Query()
	q.Del("search_path")
	q.Del("dbname")
	q.Del("database")
	u.RawQuery = q.Encode()
	b.dbURL = u.String()
	return nil
}

// adminConnect opens one connection to url, which may carry the pool's
// parameters (pool_max_conns…) that keyrack's own pool takes.
func adminConnect(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg.ConnConfig)
}

// libpqURL is b.dbURL for libpq (pgbench): without the parameters pgx or
// its pool takes for itself, which libpq refuses, and with the server's
// run-time settings pgx sends (any parameter it does not know) given as
// libpq's options (-c name=value). Credentials and the other connection
// parameters both know pass as they are.
func (b *bench) libpqURL() string {
	u, _ := url.Parse(b.dbURL)
	q := u.Query()
	var settings []string
	for k, vs := range q {
		switch {
		case pgxOnly(k):
			q.Del(k)
		case !libpqKeywords[k]:
			q.Del(k)
			for _, v := range vs {
				settings = append(settings, "-c "+optionEscaper.Replace(k+"="+v))
			}
		}
	}
	if len(settings) > 0 {
		slices.Sort(settings)
		q.Set("options", strings.TrimSpace(q.Get("options")+" "+strings.Join(settings, " ")))
	}
	// libpq decodes %XX only: a space encoded as + would stay a +.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String()
}

// pgxOnly reports whether a connection URL parameter is one pgx or pgxpool
// takes for itself (their ParseConfig) and libpq does not know.
func pgxOnly(k string) bool {
	switch k {
	case "statement_cache_capacity", "description_cache_capacity", "default_query_exec_mode", "krbspn", "servicefile":
		return true
	}
	return strings.HasPrefix(k, "pool_")
}

// libpqKeywords are the connection parameters pgx takes that libpq knows
// too (pgconn.ParseConfig; dbname, and database, are dropped by
// freshDatabase), and the run-time settings libpq has a keyword for.
var libpqKeywords = map[string]bool{
	"host": true, "port": true, "user": true, "password": true, "passfile": true, "connect_timeout": true,
	"sslmode": true, "ssl": true, "sslkey": true, "sslcert": true, "sslcertmode": true, "sslrootcert": true,
	"sslnegotiation": true, "sslpassword": true, "sslsni": true, "krbsrvname": true, "target_session_attrs": true,
	"service": true, "min_protocol_version": true, "max_protocol_version": true, "channel_binding": true,
	"require_auth": true, "application_name": true, "client_encoding": true, "options": true, "replication": true,
}

// optionEscaper escapes a word of libpq's options: spaces separate them.
var optionEscaper = strings.NewReplacer(`\`, `\\`, " ", `\ `)

// close stops keyrack and the channels and drops the database.
func (b *bench) close() {
	if b.listener != nil {
		b.listener.Close()
	}
	if b.cancelMain != nil {
		b.cancelMain()
		<-b.mainDone
		b.main.Close()
	}
	for _, p := range b.props {
		for _, o := range p.otas {
			o.Close()
		}
	}
	if b.st != nil {
		b.st.Close()
	}
	if b.dbName == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b.main != nil {
		// The run's queues go too: Redis may be shared, and asynqmon lists every queue.
		if q, err := sync.OpenQueue(b.main.Config.RedisURL); err == nil {
			if err := q.RemoveQueues(ctx, b.queuePrefix()); err != nil {
				b.log.Warn("could not remove the benchmark's queues from Redis", "prefix", b.queuePrefix(), "err", err)
			}
			q.Close()
		}
	}
	if b.opt.keep {
		b.printf("the benchmark database is kept: %s\n", b.dbURL)
		return
	}
	if conn, err := adminConnect(ctx, b.adminURL); err == nil {
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{b.dbName}.Sanitize()+" WITH (FORCE)"); err != nil {
			b.log.Warn("could not drop the benchmark database", "database", b.dbName, "err", err)
		}
	}
}

// queuePrefix is the run's own prefix of the fan-out's queue names.
func (b *bench) queuePrefix() string { return b.dbName + "-" }

var benchActor = inventory.Actor{Kind: "cli", Name: "keyrack bench"}

func (b *bench) roomCode(pool int) string { return fmt.Sprint("R", pool) }

// setup creates the properties, their pools, room types, rate plan,
// channels (pointed at simulated OTAs), mappings and credentials, and the
// nights of the next year.
func (b *bench) setup(ctx context.Context, secrets *inventory.Secrets, keyrack string) error {
	o := b.opt
	b.props = make([]*benchProperty, o.properties)
	var products []sim.Product
	for pl := range o.pools {
		products = append(products, sim.Product{Room: b.roomCode(pl), Rate: "BAR"})
	}
	work := make(chan int)
	errs := make(chan error, o.properties)
	var wg gosync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				errs <- b.setupProperty(ctx, secrets, keyrack, i, products)
			}
		})
	}
	for i := range o.properties {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	// Every night a booking can touch exists, as in a hotel selling for a
	// while, and the planner knows the tables' sizes.
	if _, err := b.st.DB().Exec(ctx, `INSERT INTO nights (property_id, pool_id, night, units, overbooking_factor)
		SELECT property_id, id, d, units, overbooking_factor FROM pools, generate_series(($1::date - 2)::timestamp, ($1::date + 366)::timestamp, interval '1 day') d
		ON CONFLICT DO NOTHING`, b.from); err != nil {
		return err
	}
	_, err := b.st.DB().Exec(ctx, `ANALYZE`)
	return err
}

func (b *bench) setupProperty(ctx context.Context, secrets *inventory.Secrets, keyrack string, i int, products []sim.Product) error {
	o := b.opt
	p := &benchProperty{code: fmt.Sprintf("B%04d", i)}
	b.props[i] = p
	st := b.st
	if _, err := st.CreateProperty(ctx, inventory.Property{Code: p.code, Name: "Bench hotel " + p.code, TimeZone: "UTC", Currency: "EUR"}, benchActor); err != nil {
		return err
	}
	for pl := range o.pools {
		code := b.roomCode(pl)
		if _, err := st.CreatePool(ctx, p.code, inventory.Pool{Code: code, Name: "Pool " + code, Units: o.units, OverbookingFactor: inventory.FactorOne}, benchActor); err != nil {
			return err
		}
		if _, err := st.CreateRoomType(ctx, p.code, inventory.RoomType{Code: code, Name: "Room " + code, Pool: code}, benchActor); err != nil {
			return err
		}
		if _, err := st.CreateRatePlan(ctx, p.code, inventory.RatePlan{Code: "BAR-" + code, Name: "Best available", RoomType: code}, benchActor); err != nil {
			return err
		}
	}
	for c := range o.channels {
		code := benchChannel(c)
		user, pass := fmt.Sprintf("%s-%s", p.code, code), randomHex(12)
		ota, err := sim.NewOTA(sim.OTAConfig{Code: code, HotelCode: fmt.Sprintf("%s-%d", p.code, c+1), Keyrack: keyrack, Username: user, Password: pass})
		if err != nil {
			return err
		}
		p.otas = append(p.otas, ota)
		idx := c
		ota.Channel().OnApply(func(room string, night inventory.Date, value int, at time.Time) {
			b.lag.applied(lagKey{p.code, room, night}, idx, value, at)
		})
		if _, err := st.CreateChannel(ctx, p.code, inventory.Channel{Code: code, Name: "Simulated OTA " + code, Kind: inventory.ChannelOTAPush,
			Enabled: true, HotelCode: ota.Reservation(sim.Booking{}).HotelCode, Endpoint: ota.URL(), HorizonDays: benchHorizon}, benchActor); err != nil {
			return err
		}
		if err := st.SetChannelCredentials(ctx, secrets, p.code, code, inventory.Credentials{InboundUser: user, InboundSecret: pass, OutboundUser: user, OutboundSecret: pass}, benchActor); err != nil {
			return err
		}
		for pl := range o.pools {
			room := b.roomCode(pl)
			if err := st.SetMapping(ctx, p.code, code, inventory.Mapping{ChannelRoom: room, RoomType: room}, benchActor); err != nil {
				return err
			}
		}
	}
	var err error
	p.gen, err = sim.NewGenerator(sim.Load{Products: products, From: b.from, Nights: b.opt.nights, MaxStay: o.maxStay,
		HotNights: 0.2, HotShare: o.hotShare, Seed: o.seed*1_000_003 + uint64(i), IDPrefix: "bench-"})
	return err
}

// pgbenchReference runs pgbench's one-booking-per-transaction script on a
// property of its own in the same database, before keyrack starts.
func (b *bench) pgbenchReference(ctx context.Context) (float64, error) {
	o := b.opt
	db := b.st.DB()
	pools := o.properties * o.pools
	days := o.nights
	var p inventory.Pgbench
	err := db.QueryRow(ctx, `
		WITH prop AS (
			INSERT INTO properties (code, name, time_zone, currency) VALUES ('PGBENCH', 'pgbench reference', 'UTC', 'EUR') RETURNING id
		), ch AS (
			INSERT INTO channels (property_id, code, name, kind, enabled) SELECT id, 'C0', 'pgbench', 'ota_push', true FROM prop RETURNING id
		)
		SELECT (SELECT id FROM prop), (SELECT id FROM ch)`).Scan(&p.Property, &p.Channel)
	if err != nil {
		return 0, fmt.Errorf("bench: pgbench property: %w", err)
	}
	if err := db.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO pools (property_id, code, name, units) SELECT $1, 'P' || g, 'Pool ' || g, $3
			FROM generate_series(0, $2 - 1) g RETURNING id
		) SELECT min(id) FROM ins`, p.Property, pools, o.units).Scan(&p.FirstPool); err != nil {
		return 0, err
	}
	if _, err := db.Exec(ctx, `INSERT INTO nights (property_id, pool_id, night, units, overbooking_factor)
		SELECT property_id, id, d, units, overbooking_factor FROM pools, generate_series($2::date::timestamp, ($2::date + $3::int + 3)::timestamp, interval '1 day') d
		WHERE property_id = $1`, p.Property, b.from, days); err != nil {
		return 0, err
	}
	if _, err := db.Exec(ctx, `ANALYZE`); err != nil {
		return 0, err
	}
	p.ConnString, p.Clients, p.Jobs = b.libpqURL(), o.clients, runtime.GOMAXPROCS(0)
	p.Duration, p.Pools, p.Days, p.Start = min(o.duration, 30*time.Second), pools, days, b.from
	tps, _, err := p.Run(ctx)
	if errors.Is(err, inventory.ErrNoPgbench) {
		return 0, fmt.Errorf("bench: %w; -pgbench=false runs without the reference", err)
	}
	if err != nil {
		return 0, err
	}
	// Its outbox rows are nobody's to relay: no channel sells its pools.
	_, err = db.Exec(ctx, `UPDATE outbox SET done_at = now() WHERE property_id = $1 AND done_at IS NULL`, p.Property)
	return tps, err
}

// startKeyrack runs keyrack (every role) in this process on addr.
func (b *bench) startKeyrack(ctx context.Context, secret string) error {
	m := NewMain()
	m.Config = b.cfg
	m.Config.DatabaseURL, m.Config.Roles = b.dbURL, defaultRoles
	m.Listener, b.listener = b.listener, nil
	m.Config.Secret, m.Config.ResyncAt = secret, "off"
	m.Config.QueuePrefix = b.queuePrefix()
	if m.Config.RedisURL == "" {
		m.Config.RedisURL = defaultRedisURL
	}
	m.Store, m.Logger = b.st, b.log
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done, err := m.Start(rctx)
	if err != nil {
		cancel()
		m.Close()
		return fmt.Errorf("bench: keyrack did not start: %w", err)
	}
	b.main, b.cancelMain, b.mainDone = m, cancel, done
	return nil
}

// waitConsistent checks every property until every channel believes the
// pool on the load's nights, or deadline; it returns the differences left.
func (b *bench) waitConsistent(ctx context.Context, deadline time.Time) ([]string, error) {
	key, err := b.apiKey(ctx)
	if err != nil {
		return nil, err
	}
	base := "http://" + b.main.Addr().String()
	to := b.from.AddDays(b.opt.nights) // no stay goes past the arrival window (sim.Load)
	pending := slices.Clone(b.props)
	var diffs []string
	for {
		var left []*benchProperty
		diffs = diffs[:0]
		for _, p := range pending {
			t := sim.Target{Keyrack: base, APIKey: key, Property: p.code}
			s := sim.New()
			for _, o := range p.otas {
				s.Add(o)
			}
			d, err := t.Check(ctx, s, b.from, to)
			if err != nil {
				return nil, err
			}
			if len(d) > 0 {
				left = append(left, p)
				for _, x := range d {
					diffs = append(diffs, p.code+" "+x)
				}
			}
		}
		pending = left
		if len(pending) == 0 || time.Now().After(deadline) {
			return diffs, nil
		}
		select {
		case <-ctx.Done():
			return diffs, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (b *bench) apiKey(ctx context.Context) (string, error) {
	_, secret, err := b.st.CreateAPIKey(ctx, "", "keyrack bench", benchActor)
	return secret, err
}

// applied counts the ARI messages every channel took.
func (b *bench) applied() int {
	n := 0
	for _, p := range b.props {
		for _, o := range p.otas {
			n += o.Channel().Stats().Applied
		}
	}
	return n
}

// resyncLater starts a full resync of every property to every channel
// after delay and reports how long it took until no forced night was left.
func (b *bench) resyncLater(ctx context.Context, delay time.Duration) <-chan time.Duration {
	done := make(chan time.Duration, 1)
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		start := time.Now()
		b.printf("bulk resync: starting (%d properties × %d channels × %d nights)\n", len(b.props), b.opt.channels, benchHorizon)
		for _, p := range b.props {
			if err := b.main.Fanout().Resync(ctx, p.code, ""); err != nil {
				b.log.Error("bulk resync", "property", p.code, "err", err)
				return
			}
		}
		for ctx.Err() == nil {
			var left int
			if err := b.st.DB().QueryRow(ctx, `SELECT count(*) FROM sync_dirty WHERE force <> '{}'`).Scan(&left); err == nil && left == 0 {
				done <- time.Since(start)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return done
}

// loadResult is what the clients saw.
type loadResult struct {
	elapsed                         time.Duration // measured, after the warm-up
	warm                            int           // bookings sent during the warm-up
	sent, accepted, refused, failed int           // measured
	latencies                       []time.Duration
	ids                             map[string][]string // property → accepted reservation ids, warm-up's too
}

// load runs the clients for the warm-up and then the duration; measured
// runs when the warm-up ends. Only bookings sent after the warm-up are
// measured.
func (b *bench) load(ctx context.Context, measured func()) loadResult {
	o := b.opt
	ctx, cancel := context.WithTimeout(ctx, o.warmup+o.duration)
	defer cancel()
	var mu gosync.Mutex
	res := loadResult{ids: map[string][]string{}}
	var seq atomic.Int64
	var wg gosync.WaitGroup
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	warmedUp := make(chan struct{})
	time.AfterFunc(o.warmup, func() {
		measured()
		close(warmedUp)
	})
	for cl := range o.clients {
		rng := mrand.New(mrand.NewPCG(o.seed, uint64(cl)))
		wg.Go(func() {
			for ctx.Err() == nil {
				n := seq.Add(1)
				if o.rate > 0 {
					at := start.Add(time.Duration(float64(n-1) / o.rate * float64(time.Second)))
					if d := time.Until(at); d > 0 {
						select {
						case <-ctx.Done():
							return
						case <-time.After(d):
						}
					}
				}
				p := b.props[rng.IntN(len(b.props))]
				p.mu.Lock()
				bk := p.gen.Next()
				p.mu.Unlock()
				origin := rng.IntN(len(p.otas))
				measure := !time.Now().Before(measureFrom)
				// A booking under way is finished, not abandoned, when the
				// load stops: its answer decides whether it counts.
				sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				bk.Made = time.Now() // when the OTA sold it, for the lag tracker
				outcome, latency := p.otas[origin].Book(sctx, bk)
				answered := time.Now()
				scancel()
				if outcome.OK() {
					b.lag.booked(p, origin, bk, answered, measure)
				}
				mu.Lock()
				if outcome.OK() {
					res.ids[p.code] = append(res.ids[p.code], bk.ID)
				}
				if !measure {
					res.warm++
					mu.Unlock()
					continue
				}
				res.sent++
				switch {
				case outcome.OK():
					res.accepted++
				case outcome == sim.Failed:
					res.failed++
				default:
					res.refused++
				}
				if outcome != sim.Failed {
					res.latencies = append(res.latencies, latency)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	<-warmedUp
	res.elapsed = time.Since(measureFrom)
	return res
}

// overbookings counts the overbooking incidents raised.
func (b *bench) overbookings(ctx context.Context) (int, error) {
	var n int
	err := b.st.DB().QueryRow(ctx, `SELECT count(*) FROM incidents WHERE kind = 'overbooking'`).Scan(&n)
	return n, err
}

// lost counts bookings answered Success that the pool does not hold: no
// confirmed reservation, or nights not counted as sold.
func (b *bench) lost(ctx context.Context, ids map[string][]string) (int, error) {
	lost := 0
	for prop, list := range ids {
		var found int
		if err := b.st.DB().QueryRow(ctx, `SELECT count(DISTINCT r.external_id) FROM reservations r JOIN properties p ON p.id = r.property_id
			WHERE p.code = $1 AND r.status = 'confirmed' AND r.external_id = ANY($2)`, prop, list).Scan(&found); err != nil {
			return 0, err
		}
		lost += len(list) - found
	}
	// And the nights: what the pool sold is what the bookings hold, night
	// for night (the pgbench reference's property aside).
	var short int
	if err := b.st.DB().QueryRow(ctx, `
		WITH props AS (
			SELECT id FROM properties WHERE code <> 'PGBENCH'
		), held AS (
			SELECT r.property_id, (h->>'pool_id')::bigint AS pool_id, (h->>'night')::date AS night, sum((h->>'units')::int) AS units
			FROM reservations r CROSS JOIN LATERAL jsonb_array_elements(r.held) h
			WHERE r.status = 'confirmed' AND r.property_id IN (SELECT id FROM props) GROUP BY 1, 2, 3
		), sold AS (
			SELECT property_id, pool_id, night, sold + oversold AS units FROM nights
			WHERE sold + oversold > 0 AND property_id IN (SELECT id FROM props)
		)
		SELECT count(*) FROM held h FULL JOIN sold s USING (property_id, pool_id, night)
		WHERE h.units IS DISTINCT FROM s.units`).Scan(&short); err != nil {
		return 0, err
	}
	if short > 0 {
		b.printf("pool check: %d nights whose sold count differs from the reservations holding them\n", short)
		lost += short
	}
	return lost, nil
}

// lagTracker measures sync lag. Bookings only take rooms (no modification
// or cancellation), so the value keyrack pushes to a channel for a night
// only goes down: once it is units − k, the bookings committed first on the
// night, k rooms of them, have reached the channel. A booking's lag is from
// its commit until every other channel holds, on each of its nights, at
// most units minus the rooms of the bookings committed there until it,
// itself included.
//
// keyrack reports each commit (inventory.Store.OnCommit) with the booking's
// stay, before the booking is answered: the tracker counts the booking on
// its nights and starts waiting for the other channels there, in the order
// the commits come, however the answers come back after — and a delivery
// that lands before the answer ends the wait when it lands. A booking whose
// commit was not seen is counted when it is answered, as committed then.
//
// With a small -units the pools fill and the OTAs' bookings beyond them are
// taken as overbookings: from then on every channel is offered 0, and a
// channel that believes 0 — told 0, or told less than it sold since, as the
// simulated OTA counts (sim.OTA.Believed) — holds every booking of the
// night. (Below a full night a channel's own sales do not count: what it
// believes through them is not another channel's booking reaching it.)
type lagTracker struct {
	units, channels int
	origins         map[string]int // channel code → index
	mu              gosync.Mutex
	count           map[lagKey]int
	belief          map[chanKey]*lagBelief
	wait            map[chanKey][]*lagWaiter
	all             []*lagBooking
	// pending holds each booking seen committed until its answer comes;
	// answerDelays how long after the commit each measured booking's answer
	// came.
	pending      map[commitKey]*lagBooking
	answerDelays []time.Duration
}

// lagKey is a pool-night of a property; the bench's room codes are its
// pools' codes, on every channel.
type lagKey struct {
	property string
	room     string
	night    inventory.Date
}

type chanKey struct {
	lagKey
	channel int
}

// commitKey names a booking as keyrack reports its commit.
type commitKey struct{ property, channel, id string }

// benchChannel is the code of a property's simulated channel c.
func benchChannel(c int) string { return fmt.Sprint("ota", c+1) }

// lagBelief is what a channel was told of a night and what it sold since.
type lagBelief struct {
	told   int
	toldAt time.Time
	sold   []lagSale
}

type lagSale struct {
	at    time.Time
	units int
}

// zero reports whether the channel believes it has nothing left to sell.
func (b *lagBelief) zero() bool {
	v := b.told
	for _, s := range b.sold {
		v -= s.units
	}
	return v <= 0
}

type lagBooking struct {
	measured  bool      // sent after the warm-up
	committed time.Time // when keyrack committed it: its lag starts there
	left      int       // (night, channel) pairs not reached yet
	last      time.Time // when the last one was reached
	// What the slowest booking's line says.
	property            string
	origin, lastChannel int
	arrival             inventory.Date
	nights              int
}

type lagWaiter struct {
	want    int
	b       *lagBooking
	channel int
}

// newLagTracker measures the lag of bookings on pools of units rooms, over
// properties of channels channels each.
func newLagTracker(units, channels int) *lagTracker {
	t := &lagTracker{units: units, channels: channels, origins: map[string]int{}, count: map[lagKey]int{}, belief: map[chanKey]*lagBelief{},
		wait: map[chanKey][]*lagWaiter{}, pending: map[commitKey]*lagBooking{}}
	for c := range channels {
		t.origins[benchChannel(c)] = c
	}
	return t
}

// committed starts measuring the bookings keyrack committed at at
// (inventory.Store.OnCommit): a booking's lag is measured from there, as the
// issue defines it, not from its answer, which comes after.
func (t *lagTracker) committed(revs []inventory.Revision, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range revs {
		k := commitKey{r.Property, r.Channel, r.ExternalID}
		origin, ok := t.origins[r.Channel]
		if r.Kind != inventory.New || !ok || t.pending[k] != nil {
			continue
		}
		t.pending[k] = t.register(r.Property, origin, r.Stays, at)
	}
}

// register counts a booking of property sold by channel origin and
// committed at at on the nights of stays, and has it wait for every other
// channel to hold, on each of them, the rooms left after it.
func (t *lagTracker) register(property string, origin int, stays []inventory.RoomStay, at time.Time) *lagBooking {
	lb := &lagBooking{committed: at, property: property, origin: origin}
	t.all = append(t.all, lb)
	for _, s := range stays {
		nights := inventory.Nights(s.Arrival, s.Departure)
		if lb.nights == 0 {
			lb.arrival = s.Arrival
		}
		lb.nights += len(nights)
		for _, n := range nights {
			k := lagKey{property, s.RoomType, n}
			t.count[k] += max(1, s.Rooms)
			want := max(0, t.units-t.count[k])
			for c := range t.channels {
				if c == origin {
					continue
				}
				lb.left++
				ck := chanKey{k, c}
				if holds(t.belief[ck], want) {
					t.reach(lb, c, at)
					continue
				}
				t.wait[ck] = append(t.wait[ck], &lagWaiter{want: want, b: lb, channel: c})
			}
		}
	}
	return lb
}

func (t *lagTracker) reach(b *lagBooking, channel int, at time.Time) {
	b.left--
	if at.After(b.last) {
		b.last, b.lastChannel = at, channel
	}
}

// holds reports whether the channel's belief b (nil: never told) holds
// the bookings that leave want on the night.
func holds(b *lagBelief, want int) bool {
	return b != nil && (b.told <= want || want == 0 && b.zero())
}

// settle marks reached, at at, the bookings waiting for ck that its belief
// now holds.
func (t *lagTracker) settle(ck chanKey, at time.Time) {
	b := t.belief[ck]
	ws := t.wait[ck][:0]
	for _, w := range t.wait[ck] {
		if holds(b, w.want) {
			t.reach(w.b, w.channel, at)
		} else {
			ws = append(ws, w)
		}
	}
	t.wait[ck] = ws
}

// delays returns how long after the commit each measured booking's answer
// came.
func (t *lagTracker) delays() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.answerDelays)
}

// booked records that channel origin of p sold bk (at bk.Made) and had it
// answered Success at answered; its lag counts unless it belongs to the
// warm-up. A booking whose commit was not seen is measured from answered.
func (t *lagTracker) booked(p *benchProperty, origin int, bk sim.Booking, answered time.Time, measured bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := commitKey{p.code, benchChannel(origin), bk.ID}
	lb := t.pending[k]
	if lb != nil {
		delete(t.pending, k)
		if measured {
			t.answerDelays = append(t.answerDelays, answered.Sub(lb.committed))
		}
	} else {
		lb = t.register(p.code, origin, []inventory.RoomStay{{RoomType: bk.Product.Room, Arrival: bk.Arrival, Departure: bk.Departure, Rooms: bk.Units}}, answered)
	}
	lb.measured = measured
	// What the origin believes through its own sale, for a full night.
	for _, n := range inventory.Nights(bk.Arrival, bk.Departure) {
		ck := chanKey{lagKey{p.code, bk.Product.Room, n}, origin}
		if b := t.belief[ck]; b != nil && bk.Made.After(b.toldAt) {
			b.sold = append(b.sold, lagSale{bk.Made, max(1, bk.Units)})
			t.settle(ck, bk.Made)
		}
	}
}

// applied records that channel was told value for k at at.
func (t *lagTracker) applied(k lagKey, channel, value int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ck := chanKey{k, channel}
	b := t.belief[ck]
	if b == nil {
		b = &lagBelief{}
		t.belief[ck] = b
	}
	b.told, b.toldAt = value, at
	// Sales made before it are in what it was told (the OTA counts so).
	sold := b.sold[:0]
	for _, s := range b.sold {
		if s.at.After(at) {
			sold = append(sold, s)
		}
	}
	b.sold = sold
	t.settle(ck, at)
}

// lags returns the lag of every measured booking that reached every other
// channel, how many bookings did not, and the slowest (nil if none).
func (t *lagTracker) lags() ([]time.Duration, int, *lagBooking) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []time.Duration
	var slowest *lagBooking
	unreached := 0
	for _, b := range t.all {
		if b.left > 0 {
			unreached++
			continue
		}
		if b.measured {
			out = append(out, b.lag())
			if slowest == nil || b.lag() > slowest.lag() {
				slowest = b
			}
		}
	}
	return out, unreached, slowest
}

func (b *lagBooking) lag() time.Duration { return max(0, b.last.Sub(b.committed)) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startProfile starts a CPU profile to path ("" for none) and returns what
// stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
