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
	gosync "sync"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/web"
)

// shutdownTimeout is how long requests in flight get to finish after a signal.
const shutdownTimeout = 10 * time.Second

func serveFlags(cfg Config, w io.Writer) (*flag.FlagSet, *Main) {
	m := NewMain()
	m.Config = cfg
	fs := newFlagSet("serve", "serve [flags]", w)
	fs.StringVar(&m.Config.Addr, "addr", cfg.Addr, "`address` to listen on (KEYRACK_ADDR)")
	fs.StringVar(&m.Config.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL `url` (DATABASE_URL)")
	fs.StringVar(&m.Config.RedisURL, "redis-url", cfg.RedisURL, "Redis `url` (REDIS_URL)")
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

	closeStore, closeQueue bool
	listening              chan struct{}
	mu                     gosync.Mutex
	addr                   net.Addr
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Config: Config{Addr: defaultAddr, RedisURL: defaultRedisURL}}
}

// Listening is closed once Run has bound its address; Addr is valid then.
func (m *Main) Listening() <-chan struct{} { return m.listeningCh() }

func (m *Main) listeningCh() chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listening == nil {
		m.listening = make(chan struct{})
	}
	return m.listening
}

// Addr is the address Run listens on, nil before it is bound.
func (m *Main) Addr() net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addr
}

// Run connects to PostgreSQL and Redis, serves HTTP until ctx is done, then
// shuts the server down gracefully: it returns nil when every request in
// flight finished in time. Close releases the connections afterwards.
func (m *Main) Run(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	if m.Store == nil {
		st, err := openStore(ctx, m.Config)
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
		m.Logger.Warn("Redis does not answer; serving anyway, channels are updated once it is back (see /readyz)", "err", err)
	}
	cancel()

	// Listen before anything else can go wrong quietly: a port in use is
	// reported here, not by a background goroutine.
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (set KEYRACK_ADDR or -addr): %w", m.Config.Addr, err)
	}
	m.mu.Lock()
	m.addr = ln.Addr()
	m.mu.Unlock()

	srv := &http.Server{
		Handler:           web.New(web.Config{Store: m.Store, Queue: m.Queue, Logger: m.Logger}).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second, // channels post large OTA XML batches
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	m.Logger.Info("serving", "addr", ln.Addr().String(), "schema_version", version)
	fmt.Fprintf(m.Stdout, "keyrack is serving on %s\n", serverURL(ln.Addr()))
	close(m.listeningCh())

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	m.Logger.Info("shutting down", "timeout", shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("graceful shutdown: requests still running after %s were cut off: %w", shutdownTimeout, err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	m.Logger.Info("stopped")
	return nil
}

// Close releases the connections Run opened. It can be called more than once.
func (m *Main) Close() error {
	var err error
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
