package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
)

const (
	defaultAddr     = "127.0.0.1:8080"
	defaultRedisURL = "redis://127.0.0.1:6379/0"
	defaultRoles    = "web,worker,scheduler"
	// maxWorkers bounds KEYRACK_WORKERS and KEYRACK_BULK_WORKERS: each
	// worker may hold a PostgreSQL connection, and PostgreSQL serves 100 by
	// default.
	maxWorkers = 1000
)

// Config is keyrack's configuration: the environment, then a command's flags.
type Config struct {
	DatabaseURL string // PostgreSQL; every command but version and help needs it
	RedisURL    string // Redis, for serve
	Addr        string // where serve listens
	LogLevel    slog.Level
	// Roles are what serve runs: web, worker, scheduler (comma-separated).
	Roles string
	// Secret (KEYRACK_SECRET) seals the credentials keyrack presents to
	// channels; without it channels with sealed credentials get nothing.
	Secret string
	// NewSecret (KEYRACK_NEW_SECRET) is the secret `keyrack secret rotate`
	// moves the stored credentials to.
	NewSecret string
	// QueuePrefix goes before the fan-out's queue names, for deployments
	// sharing one Redis database.
	QueuePrefix string
	// ResyncAt is the property-local time of the nightly full resync
	// (HH:MM, or off); the fan-out's default when empty.
	ResyncAt string
	// FeedAckTimeout (KEYRACK_FEED_ACK_TIMEOUT, a Go duration such as 30m)
	// is how long a PMS may leave a revision unacknowledged before an
	// incident is raised; the fan-out's default (30 min) when zero.
	FeedAckTimeout time.Duration
	// ICalStaleAfter (KEYRACK_ICAL_STALE_AFTER, a Go duration) is how long
	// an iCal feed may go without a good fetch before it is flagged stale;
	// the fan-out's default (2 h) when zero.
	ICalStaleAfter time.Duration
	// PullStaleAfter (KEYRACK_PULL_STALE_AFTER, a Go duration) is how long
	// keyrack's polls of a pull-mode channel may get nothing from it before
	// an incident is raised; the fan-out's default (10 min) when zero.
	PullStaleAfter time.Duration
	// TakeOverAfter (KEYRACK_TAKE_OVER_AFTER, a Go duration of 30s or more)
	// is how long the leading scheduler may give no sign of life before a
	// scheduler that does not lead takes the lead from it; the fan-out's
	// default (3 min) when zero.
	TakeOverAfter time.Duration
	// ICalExportStaleAfter (KEYRACK_ICAL_EXPORT_STALE_AFTER, a Go duration)
	// is how long an iCal export calendar may go unfetched by any platform
	// before it is flagged stale; the fan-out's default (24 h) when zero.
	ICalExportStaleAfter time.Duration
	// MessagesKeep (KEYRACK_MESSAGES_KEEP, a Go duration such as 720h) is
	// how long the channels' inbound messages are kept; the fan-out's
	// default (30 days) when zero.
	MessagesKeep time.Duration
	// GuestDataKeep (KEYRACK_GUEST_DATA_KEEP: days such as 730d, a Go
	// duration of a day or more, or off) is how long guests' personal data
	// is kept once their stay ended or their booking was cancelled; 0 (off,
	// the default) keeps it.
	GuestDataKeep time.Duration
	// Workers (KEYRACK_WORKERS) and BulkWorkers (KEYRACK_BULK_WORKERS) are
	// how many deliveries a worker process runs at once for booking-driven
	// changes and for bulk work (resyncs, staff edits); the fan-out's
	// defaults (16, and a quarter of that) when zero.
	Workers, BulkWorkers int
	// ICalAllowPrivate (KEYRACK_ICAL_ALLOW_PRIVATE=1) lets iCal feeds live on
	// loopback, private and link-local addresses; refused by default, since
	// whoever sets a feed URL chooses where keyrack connects.
	ICalAllowPrivate bool
	// PullAllowPrivate (KEYRACK_PULL_ALLOW_PRIVATE=1) lets pull-mode
	// channels' pull URLs reach loopback, private and link-local addresses;
	// refused by default, since whoever sets a pull URL chooses where
	// keyrack connects, and reads the answer back as the channel's message.
	PullAllowPrivate bool
	// TrustedProxies (KEYRACK_TRUSTED_PROXIES, comma-separated addresses or
	// CIDR ranges) are the reverse proxies whose X-Forwarded-For names the
	// client; none by default.
	TrustedProxies []string
	// Password (KEYRACK_PASSWORD) is the password `keyrack user add` sets
	// when it is not given on standard input.
	Password string
	// APIKey (KEYRACK_API_KEY) is the key `keyrack sim` calls keyrack's API
	// with.
	APIKey string
}

// configFromEnv reads the configuration from the environment.
func configFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		DatabaseURL: getenv("DATABASE_URL"),
		RedisURL:    getenv("REDIS_URL"),
		Addr:        getenv("KEYRACK_ADDR"),
		Roles:       getenv("KEYRACK_ROLES"),
		Secret:      getenv("KEYRACK_SECRET"),
		NewSecret:   getenv("KEYRACK_NEW_SECRET"),
		QueuePrefix: getenv("KEYRACK_QUEUE_PREFIX"),
		ResyncAt:    getenv("KEYRACK_RESYNC_AT"),
		Password:    getenv("KEYRACK_PASSWORD"),
		APIKey:      getenv("KEYRACK_API_KEY"),
	}
	for _, d := range []struct {
		env string
		to  *time.Duration
	}{{"KEYRACK_FEED_ACK_TIMEOUT", &cfg.FeedAckTimeout}, {"KEYRACK_ICAL_STALE_AFTER", &cfg.ICalStaleAfter},
		{"KEYRACK_ICAL_EXPORT_STALE_AFTER", &cfg.ICalExportStaleAfter}, {"KEYRACK_PULL_STALE_AFTER", &cfg.PullStaleAfter},
		{"KEYRACK_MESSAGES_KEEP", &cfg.MessagesKeep}, {"KEYRACK_TAKE_OVER_AFTER", &cfg.TakeOverAfter}} {
		if v := strings.TrimSpace(getenv(d.env)); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil || dur <= 0 {
				return cfg, fmt.Errorf("%s=%q: use a positive duration such as 30m or 1h", d.env, v)
			}
			*d.to = dur
		}
	}
	// Shorter, a leader between two of its beats (every 5 s) could be taken
	// for stopped.
	if cfg.TakeOverAfter != 0 && cfg.TakeOverAfter < 30*time.Second {
		return cfg, fmt.Errorf("KEYRACK_TAKE_OVER_AFTER=%q: use a duration of 30s or more such as 3m", getenv("KEYRACK_TAKE_OVER_AFTER"))
	}
	if v := strings.TrimSpace(getenv("KEYRACK_GUEST_DATA_KEEP")); v != "" && !strings.EqualFold(v, "off") {
		keep, err := parseDays(v)
		if err != nil || keep < 24*time.Hour {
			return cfg, fmt.Errorf("KEYRACK_GUEST_DATA_KEEP=%q: use a number of days such as 730d, a duration of a day or more such as 17520h, or off", v)
		}
		cfg.GuestDataKeep = keep
	}
	for _, n := range []struct {
		env string
		to  *int
	}{{"KEYRACK_WORKERS", &cfg.Workers}, {"KEYRACK_BULK_WORKERS", &cfg.BulkWorkers}} {
		if v := strings.TrimSpace(getenv(n.env)); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil || i <= 0 || i > maxWorkers {
				return cfg, fmt.Errorf("%s=%q: use a number from 1 to %d", n.env, v, maxWorkers)
			}
			*n.to = i
		}
	}
	for _, b := range []struct {
		env string
		to  *bool
	}{{"KEYRACK_ICAL_ALLOW_PRIVATE", &cfg.ICalAllowPrivate}, {"KEYRACK_PULL_ALLOW_PRIVATE", &cfg.PullAllowPrivate}} {
		if v := strings.TrimSpace(getenv(b.env)); v != "" {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return cfg, fmt.Errorf("%s=%q: use 1 or 0", b.env, v)
			}
			*b.to = on
		}
	}
	for _, p := range strings.Split(getenv("KEYRACK_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return cfg, fmt.Errorf("KEYRACK_TRUSTED_PROXIES: %q is neither an IP address nor a CIDR range", p)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p)
	}
	// The value checked is the value serve runs with: an "off " that passed
	// here was refused by the fan-out only after keyrack had connected.
	if v := strings.TrimSpace(cfg.ResyncAt); strings.EqualFold(v, "off") {
		cfg.ResyncAt = "off"
	} else if v != "" {
		if _, err := time.Parse("15:04", v); err != nil {
			return cfg, fmt.Errorf("KEYRACK_RESYNC_AT=%q: use HH:MM (property-local time) or off", cfg.ResyncAt)
		}
		cfg.ResyncAt = v
	}
	// Go's runtime reads GOGC itself, and takes a value it cannot read for
	// its default of 100 without a word (keyrack's is 400, see main).
	if v := getenv("GOGC"); v != "" && v != "off" {
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			return cfg, fmt.Errorf("GOGC=%q: use a percentage such as 400, or off", v)
		}
	}
	if cfg.Secret != "" {
		if _, err := inventory.NewSecrets(cfg.Secret); err != nil {
			return cfg, err
		}
	}
	if cfg.Roles == "" {
		cfg.Roles = defaultRoles
	}
	if cfg.RedisURL == "" {
		cfg.RedisURL = defaultRedisURL
	}
	if cfg.Addr == "" {
		cfg.Addr = defaultAddr
	}
	if lvl := strings.TrimSpace(getenv("KEYRACK_LOG_LEVEL")); lvl != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return cfg, fmt.Errorf("KEYRACK_LOG_LEVEL=%q: use debug, info, warn or error", lvl)
		}
	}
	return cfg, nil
}

// parseDays reads a number of days ("730d") or a Go duration ("17520h").
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*366 {
			return 0, fmt.Errorf("%q is not a number of days", v)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// requireDatabaseURL is the error for a command run without a database.
func requireDatabaseURL(cfg Config) error {
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("DATABASE_URL is not set: export DATABASE_URL=postgres://user:password@host:5432/db, or pass -database-url")
	}
	return nil
}

// newLogger is keyrack's logger: text lines on w. It becomes slog's default
// too, for the packages that log through it.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	l := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(l)
	sync.LogRedisTo(l)
	return l
}
