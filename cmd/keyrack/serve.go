package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/ical"
	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/web"
)

// shutdownTimeout is how long requests in flight get to finish after a signal.
const shutdownTimeout = 10 * time.Second

// The roles serve can run.
const (
	roleWeb       = "web"       // the HTTP server
	roleWorker    = "worker"    // the outbox relay, the deliveries to channels and PMSs, the iCal imports
	roleScheduler = "scheduler" // periodic work (resyncs, pull-mode polls, alarms); one process leads
)

var allRoles = []string{roleWeb, roleWorker, roleScheduler}

// parseRoles reads a comma-separated list of roles.
func parseRoles(s string) ([]string, error) {
	var roles []string
	for r := range strings.SplitSeq(s, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !slices.Contains(allRoles, r) {
			return nil, fmt.Errorf("unknown role %q: the roles are %s", r, strings.Join(allRoles, ", "))
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("no role to run: give one or more of %s", strings.Join(allRoles, ", "))
	}
	return roles, nil
}

func serveFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Main) {
	m := NewMain()
	m.Config = cfg
	fs := newFlagSet("serve", "serve [flags]", w)
	fs.StringVar(&m.Config.Addr, "addr", cfg.Addr, "`address` to listen on (KEYRACK_ADDR)")
	fs.StringVar(&m.Config.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL `url` (DATABASE_URL)")
	fs.StringVar(&m.Config.RedisURL, "redis-url", cfg.RedisURL, "Redis `url` (REDIS_URL)")
	fs.StringVar(&m.Config.Roles, "roles", cfg.Roles, "`roles` to run, comma-separated: web, worker, scheduler (KEYRACK_ROLES)")
	fs.BoolVar(&m.Migrate, "migrate", false, "bring the schema up to date before serving, instead of refusing to start")
	return fs, m
}

func serveCommand(ctx context.Context, cfg Config, args []string, logger *slog.Logger, stdout, stderr io.Writer) error {
	fs, m := serveFlags(cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	if _, err := parseRoles(m.Config.Roles); err != nil {
		return usageError{"-roles (KEYRACK_ROLES): " + err.Error()}
	}
	m.Logger, m.Stdout = logger, stdout
	defer m.Close()
	if err := m.Run(ctx); err != nil {
		return err
	}
	return m.Close()
}

// Main is the keyrack server process. The binary and the end-to-end tests
// share it: set its fields, call Run, then Close.
type Main struct {
	Config Config
	// Migrate brings the schema up to date before serving; without it Run
	// refuses a database that has not been migrated.
	Migrate bool
	// Stdout gets the one line saying where keyrack serves.
	Stdout io.Writer
	Logger *slog.Logger

	// Store and Queue, when set before Run, are used instead of connecting
	// to Config.DatabaseURL and Config.RedisURL; they stay their owner's to
	// close. Tests give a Store on a schema of their own.
	Store *inventory.Store
	Queue *sync.Queue
	// Connectors are the fan-out's connectors, per channel kind: NewMain
	// gives OTA XML for ota_push, ota_pull and gds channels. PMS channels
	// are reached by webhook and feed, iCal channels poll our export.
	Connectors connectors.Registry
	// Listener, when set, is where Run serves instead of listening on
	// Config.Addr; Run closes it.
	Listener net.Listener
	// Sync is the base configuration of the fan-out (intervals, limits);
	// Run fills in its connections, connectors, secrets, logger and queue
	// prefix. Zero values take the fan-out's defaults.
	Sync sync.Config

	closeStore, closeQueue bool
	syncDB                 *pgxpool.Pool
	fanout                 *sync.Fanout
	listening, started     chan struct{}
	mu                     gosync.Mutex
	addr                   net.Addr
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	ota := &otaxml.Connector{Client: connectors.EndpointClient()}
	return &Main{
		Config: Config{Addr: defaultAddr, RedisURL: defaultRedisURL, Roles: defaultRoles},
		Connectors: connectors.Registry{
			inventory.ChannelOTAPush: ota,
			inventory.ChannelOTAPull: ota,
			inventory.ChannelGDS:     ota,
		},
	}
}

// Listening is closed once Run has bound its address (web role); Addr is
// valid then.
func (m *Main) Listening() <-chan struct{} { return m.chans(&m.listening) }

// Started is closed once Run has started every role.
func (m *Main) Started() <-chan struct{} { return m.chans(&m.started) }

func (m *Main) chans(c *chan struct{}) chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if *c == nil {
		*c = make(chan struct{})
	}
	return *c
}

// Addr is the address Run listens on, nil before it is bound or without
// the web role.
func (m *Main) Addr() net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addr
}

// Fanout is the fan-out Run prepared, nil before.
func (m *Main) Fanout() *sync.Fanout {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fanout
}

// Start runs m in the background until ctx ends and returns once every
// role has started, with the channel that gets Run's result; if Run
// returns before, its error. keyrack sim -serve and keyrack bench run
// keyrack in their own process with it.
func (m *Main) Start(ctx context.Context) (<-chan error, error) {
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Started():
		return done, nil
	case err := <-done:
		if err == nil {
			err = errors.New("keyrack stopped before it started")
		}
		return nil, err
	}
}

// Run connects to PostgreSQL and Redis and runs the configured roles until
// ctx is done, then stops them gracefully: it returns nil when every
// request in flight finished in time. Close releases the connections
// afterwards.
func (m *Main) Run(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	roles, err := parseRoles(m.Config.Roles)
	if err != nil {
		return err
	}
	has := func(r string) bool { return slices.Contains(roles, r) }
	var secrets *inventory.Secrets
	if m.Config.Secret != "" {
		if secrets, err = inventory.NewSecrets(m.Config.Secret); err != nil {
			return err
		}
	}
	if m.Store == nil {
		// Named by roles and process id: with several processes on one
		// host, a session that holds a channel's lock or the scheduler's
		// lead (the channel's status names it) tells which one it is.
		st, err := openStoreNamed(ctx, m.Config, sessionName(roles))
		if err != nil {
			return err
		}
		m.Store, m.closeStore = st, true
	}
	if m.Migrate {
		if err := m.Store.Migrate(ctx); err != nil {
			return err
		}
	}
	version, err := requireSchema(ctx, m.Store)
	if err != nil {
		return err
	}
	// Marks this process as running until it stops: `keyrack secret
	// rotate` is refused meanwhile (and this start while one runs).
	running, err := m.Store.HoldRunning(ctx)
	if err != nil {
		return err
	}
	defer running.Release()
	// Every role presents or checks the channels' credentials: a process
	// with another secret would dead-letter the channels it delivers to.
	unopened, err := m.Store.CheckSecret(ctx, secrets)
	if err != nil {
		return err
	}
	if len(unopened) > 0 {
		m.Logger.Error("KEYRACK_SECRET does not open the credentials of some channels: they were sealed by a keyrack process with another secret; deliveries to them fail until their credentials are entered again",
			"channels", strings.Join(unopened, ","))
	}

	if m.Queue == nil {
		q, err := sync.OpenQueue(m.Config.RedisURL)
		if err != nil {
			return fmt.Errorf("%w (check REDIS_URL)", err)
		}
		m.Queue, m.closeQueue = q, true
	}
	// Bookings are recorded in PostgreSQL with their outbox rows, so keyrack
	// serves while Redis is down: the fan-out catches up when it is back.
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := m.Queue.Ping(pingCtx); err != nil {
		m.Logger.Warn(redisDownNote(has), "err", err)
	}
	cancel()

	// Every role needs the fan-out: web reads the PMS feed and the failed
	// deliveries from it; it only runs work in the worker and scheduler roles.
	if err := m.openFanout(ctx, secrets); err != nil {
		return err
	}
	// A database restored from a backup is not run on as it is: `keyrack
	// restored` first (sync/progress.go).
	if err := m.fanout.CheckProgress(ctx); err != nil {
		return err
	}

	// Listen before anything else can go wrong quietly: a port in use is
	// reported here, not by a background goroutine.
	var srv *http.Server
	served := make(chan error, 1)
	if has(roleWeb) {
		ln := m.Listener
		if ln == nil {
			if ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
				return fmt.Errorf("listen on %s (set KEYRACK_ADDR or -addr): %w", m.Config.Addr, err)
			}
		}
		m.mu.Lock()
		m.addr = ln.Addr()
		m.mu.Unlock()
		srv = &http.Server{
			Handler: web.New(web.Config{Store: m.Store, Queue: m.Queue, Logger: m.Logger, Secrets: secrets, Fanout: m.fanout,
				TrustedProxies: m.Config.TrustedProxies}).Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second, // channels post large OTA XML batches
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
		}
		go func() { served <- srv.Serve(ln) }()
		m.Logger.Info("serving", "addr", ln.Addr().String(), "schema_version", version)
		fmt.Fprintf(m.Stdout, "keyrack is serving on %s\n", serverURL(ln.Addr()))
		close(m.chans(&m.listening))
	}

	// The fan-out's roles stop after the HTTP server: requests in flight
	// may still be writing changes for them.
	rolesCtx, stopRoles := context.WithCancel(context.WithoutCancel(ctx))
	var wg gosync.WaitGroup
	defer func() { stopRoles(); wg.Wait() }()
	failed := make(chan error, 3)
	for _, r := range []struct {
		name string
		run  func(context.Context) error
	}{{roleWorker, m.fanout.RunWorker}, {roleScheduler, m.fanout.RunScheduler}, {"", m.fanout.WatchProgress}} {
		if r.name != "" && !has(r.name) {
			continue
		}
		wg.Go(func() {
			if err := r.run(rolesCtx); err != nil {
				if r.name != "" {
					err = fmt.Errorf("%s: %w", r.name, err)
				}
				failed <- err
			}
		})
	}
	if !has(roleWeb) {
		m.Logger.Info("running", "roles", strings.Join(roles, ","), "schema_version", version)
		fmt.Fprintf(m.Stdout, "keyrack is running: %s\n", strings.Join(roles, ", "))
	}
	close(m.chans(&m.started))

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case err := <-failed:
		if srv != nil {
			_ = srv.Close()
		}
		return err
	case <-ctx.Done():
	}
	m.Logger.Info("shutting down", "timeout", shutdownTimeout)
	if srv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			_ = srv.Close()
			return fmt.Errorf("graceful shutdown: requests still running after %s were cut off: %w", shutdownTimeout, err)
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
	}
	stopRoles()
	wg.Wait()
	m.Logger.Info("stopped")
	return nil
}

// openFanout prepares the fan-out with a connection pool of its own: a
// delivery holds a connection while it talks to a channel, and web
// requests must not wait behind slow channels.
func (m *Main) openFanout(ctx context.Context, secrets *inventory.Secrets) error {
	c := m.Sync
	if c.Concurrency <= 0 {
		c.Concurrency = m.Config.Workers
	}
	if c.BulkConcurrency <= 0 {
		c.BulkConcurrency = m.Config.BulkWorkers
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if c.BulkConcurrency <= 0 {
		c.BulkConcurrency = max(1, c.Concurrency/4)
	}
	pc := m.Store.DB().Config().Copy()
	pc.MaxConns = int32(c.Concurrency + c.BulkConcurrency + 4)
	pc.MinConns = 0
	db, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("connect the fan-out to PostgreSQL: %w", err)
	}
	m.syncDB = db
	c.DB, c.Queue, c.Connectors, c.Secrets, c.Logger = db, m.Queue, m.Connectors, secrets, m.Logger
	if c.Store == nil {
		c.Store = m.Store // ota_pull reservations are applied like pushed ones
	}
	if c.QueuePrefix == "" {
		c.QueuePrefix = m.Config.QueuePrefix
	}
	if c.ResyncAt == "" {
		c.ResyncAt = m.Config.ResyncAt
	}
	if c.FeedAckTimeout == 0 {
		c.FeedAckTimeout = m.Config.FeedAckTimeout
	}
	if c.ICalStaleAfter == 0 {
		c.ICalStaleAfter = m.Config.ICalStaleAfter
	}
	if c.ICalExportStaleAfter == 0 {
		c.ICalExportStaleAfter = m.Config.ICalExportStaleAfter
	}
	if c.PullStaleAfter == 0 {
		c.PullStaleAfter = m.Config.PullStaleAfter
	}
	if c.TakeOverAfter == 0 {
		c.TakeOverAfter = m.Config.TakeOverAfter
	}
	if c.MessagesKeep == 0 {
		c.MessagesKeep = m.Config.MessagesKeep
	}
	if c.GuestDataKeep == 0 {
		c.GuestDataKeep = m.Config.GuestDataKeep
	}
	if c.ICalFetcher == nil {
		c.ICalFetcher = &ical.Fetcher{AllowPrivate: m.Config.ICalAllowPrivate}
	}
	c.PullAllowPrivate = c.PullAllowPrivate || m.Config.PullAllowPrivate
	f, err := sync.New(c)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.fanout = f
	m.mu.Unlock()
	return nil
}

// Close releases the connections Run opened. It can be called more than once.
func (m *Main) Close() error {
	var err error
	if m.syncDB != nil {
		m.syncDB.Close()
		m.syncDB = nil
	}
	if m.closeQueue && m.Queue != nil {
		err = m.Queue.Close()
		m.Queue, m.closeQueue = nil, false
	}
	if m.closeStore && m.Store != nil {
		m.Store.Close()
		m.Store, m.closeStore = nil, false
	}
	return err
}

// serverURL is the URL people open for addr; a wildcard address is shown as
// localhost, where a browser on the same machine reaches it.
func serverURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// redisDownNote is what a process that starts while its Redis does not
// answer logs, by its roles. Only a web process has a /readyz, which checks
// its own connection; a worker that alone cannot reach Redis — a wrong
// REDIS_URL in its unit file — is named on the alerts page after 30 s
// (sync's redisreport.go).
func redisDownNote(has func(string) bool) string {
	if has(roleWeb) {
		return "Redis does not answer; serving anyway, channels are updated once it is back (see /readyz)"
	}
	var does []string
	if has(roleWorker) {
		does = append(does, "this process delivers nothing until it answers, and hands the changes it relays to the workers that reach Redis "+
			"(after 30s the alerts page names it)")
	}
	if has(roleScheduler) {
		does = append(does, "while this process leads the scheduling, pull-mode channels are not polled (it steps down after 30s "+
			"for a scheduler that reaches Redis)")
	}
	return "Redis does not answer; running anyway: " + strings.Join(does, "; ") +
		". If the other keyrack processes reach it, check this process's REDIS_URL: the web process's /readyz checks its own connection"
}

// sessionName names a serve process's PostgreSQL sessions: its roles and
// process id ("keyrack serve worker pid 4242"; PostgreSQL keeps 63 bytes).
func sessionName(roles []string) string {
	return fmt.Sprintf("keyrack serve %s pid %d", strings.Join(roles, ","), os.Getpid())
}
