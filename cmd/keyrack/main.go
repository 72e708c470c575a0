// Command keyrack is the channel manager: one authoritative inventory pool
// per property, every sales channel kept in sync with it.
//
// Run `keyrack help` for its commands and configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

func main() {
	// The first signal starts a graceful shutdown; a second one ends the
	// process at once, as if keyrack did not handle signals.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, stop := shutdownContext(context.Background(), sigs, time.Now, func(sig os.Signal) {
		signal.Reset()
		if s, ok := sig.(syscall.Signal); ok {
			_ = syscall.Kill(os.Getpid(), s)
		}
		os.Exit(1)
	})
	defer stop()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// defaultGCPercent is the garbage collector's setting unless GOGC gives one.
// keyrack's heap is small (tens of MB) and mostly requests' garbage; at
// Go's default of 100 the collector took a tenth of the process's CPU under
// the benchmark's full load, and 400 gave 390 against 365–382 bookings/s
// (keyrack bench, two runs each).
const defaultGCPercent = 400

const usage = `keyrack is a channel manager for hotels: one inventory pool per property,
every sales channel kept in sync with it.

Usage:
  keyrack <command> [flags]

Commands:
  serve       run keyrack (HTTP, the fan-out to channels, the scheduler) until
              SIGINT or SIGTERM, then shut down gracefully
  migrate     bring the database schema up to date
  seed demo   load the demo hotel (property DEMO) unless it is already there
  apikey create [--property CODE] [--name NAME]
              make an API key (for one property, or all); prints it once
  apikey revoke ID|PREFIX
              revoke an API key; it stops working at once
  apikey list [--property CODE]
              list API keys (never the keys themselves)
  user add NAME --role admin|viewer [--property CODE]
              add a staff user of the admin UI, of one property or all (or
              reset one's role, property and password, and enable it if
              disabled); the password is read from standard input, or from
              KEYRACK_PASSWORD
  user disable NAME
              stop a staff user logging in; their sessions end at once
  user list   list staff users (role, last seen, disabled)
  secret rotate
              move the stored credentials from KEYRACK_SECRET to
              KEYRACK_NEW_SECRET, with every keyrack process stopped; the
              channels' inbound secrets are cleared, to be set again
  restored [-skip N]
              after restoring the database from a backup, with every keyrack
              process stopped: move ids past those issued since the backup
              and resync every channel; raises on every property an alert of
              the bookings that may be missing since the backup; prints what
              is left to do
  sim [-rate N] [-fail-share F]
              simulate the demo hotel's channels against a running keyrack
              (OTAs pushing and pulled, a calendar platform, a PMS) and
              book at a gentle rate; Ctrl-C stops and checks every channel
              believes the pool
  bench [-properties N] [-clients N] [-rate N] [-duration D] [-resync]
              the throughput and sync-lag benchmark: keyrack in-process on
              a fresh database beside DATABASE_URL's, simulated OTAs, the
              pgbench reference; the last line is JSON
  version     print the version
  help        print this help; "keyrack help <command>" lists a command's flags

Environment:
  DATABASE_URL       PostgreSQL URL, required: postgres://user:password@host:5432/db
  REDIS_URL          Redis URL for serve (default ` + defaultRedisURL + `)
  KEYRACK_ADDR       address serve listens on (default ` + defaultAddr + `)
  KEYRACK_LOG_LEVEL  debug, info, warn or error (default info); logs go to stderr
  KEYRACK_ROLES      what serve runs (default ` + defaultRoles + `): web (HTTP),
                     worker (the outbox relay, deliveries to channels, PMS
                     webhooks, fetches of iCal feeds), scheduler (one process
                     leads: the nightly resync, the polls of pull-mode OTAs —
                     without it their bookings do not reach keyrack —, the
                     alarms and clean-ups); several processes can share
                     PostgreSQL and Redis, each with its own roles
  KEYRACK_SECRET     seals and opens the credentials keyrack presents to channels;
                     the same in every process, and never changed in place:
                     serve refuses one that does not open the stored ones
                     (see "keyrack secret rotate")
  KEYRACK_NEW_SECRET the secret "keyrack secret rotate" moves to
  KEYRACK_QUEUE_PREFIX  prefix of the fan-out's queue names in Redis (default none)
  KEYRACK_RESYNC_AT  property-local time of each channel's nightly full resync,
                     HH:MM or off (default 03:00)
  KEYRACK_WORKERS    deliveries a worker runs at once for booking-driven changes
                     (default 16)
  KEYRACK_BULK_WORKERS  deliveries a worker runs at once for resyncs and staff
                     edits (default a quarter of KEYRACK_WORKERS); one at a
                     time while bookings' changes are being delivered
  KEYRACK_FEED_ACK_TIMEOUT  how long a PMS may leave a revision unacknowledged
                     before an incident is raised (default 30m)
  KEYRACK_ICAL_STALE_AFTER  how long an iCal feed may go without a good fetch
                     before it is flagged stale (default 2h)
  KEYRACK_ICAL_EXPORT_STALE_AFTER  how long an iCal export calendar may go
                     unfetched by the platform before it is flagged (default 24h)
  KEYRACK_PULL_STALE_AFTER  how long keyrack's polls of a pull-mode OTA may
                     get nothing before an incident is raised (default 10m)
  KEYRACK_TAKE_OVER_AFTER  how long the leading scheduler may give no sign of
                     life before another scheduler takes the lead from it
                     (default 3m, at least 30s)
  KEYRACK_MESSAGES_KEEP  how long the channels' inbound messages are kept
                     (default 720h, 30 days)
  KEYRACK_GUEST_DATA_KEEP  how long guests' personal data is kept after their
                     stay ended or their booking was cancelled, in days (730d)
                     or as a duration; then erased (default off: kept)
  KEYRACK_TRUSTED_PROXIES  reverse proxies (addresses or CIDR ranges, comma-
                     separated) whose X-Forwarded-For names the client; none
                     by default
  KEYRACK_ICAL_ALLOW_PRIVATE  1 lets iCal feed URLs reach loopback, private,
                     link-local and other non-public addresses (refused by
                     default)
  KEYRACK_PULL_ALLOW_PRIVATE  1 lets pull-mode OTAs' pull URLs reach loopback,
                     private, link-local and other non-public addresses
                     (refused by default)
  KEYRACK_PASSWORD   the password "keyrack user add" sets, instead of stdin
  KEYRACK_API_KEY    the API key "keyrack sim" uses (else it makes one from
                     DATABASE_URL for the run)
  GOGC               Go's garbage collector setting (default 400 here, not
                     Go's 100: keyrack's heap is small)

Flags override the environment. Prefer the environment for URLs with
passwords: command lines are visible to every user of the machine.
`

// usageError is a mistake in the command line; keyrack exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// run is keyrack with its environment passed in, so tests can run it; it
// returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cfg, err := configFromEnv(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "keyrack: %v\n", err)
		return 2
	}
	logger := newLogger(stderr, cfg.LogLevel)

	name, args := args[0], args[1:]
	switch name {
	case "serve":
		err = serveCommand(ctx, cfg, args, logger, stdout, stderr)
	case "migrate":
		err = migrateCommand(ctx, cfg, args, logger, stdout, stderr)
	case "seed":
		err = seedCommand(ctx, cfg, args, logger, stdout, stderr)
	case "apikey":
		err = apikeyCommand(ctx, cfg, args, logger, stdout, stderr)
	case "user":
		err = userCommand(ctx, cfg, args, logger, stdout, stderr)
	case "secret":
		err = secretCommand(ctx, cfg, args, logger, stdout, stderr)
	case "restored":
		err = restoredCommand(ctx, cfg, args, logger, stdout, stderr)
	case "sim":
		err = simCommand(ctx, cfg, args, logger, stdout, stderr)
	case "bench":
		err = benchCommand(ctx, cfg, args, logger, stdout, stderr)
	case "version":
		err = versionCommand(args, stdout, stderr)
	case "help", "-h", "-help", "--help":
		err = helpCommand(cfg, args, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "keyrack: unknown command %q\n\n%s", name, usage)
		return 2
	}

	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0 // the flag package has printed the command's flags
	case errors.As(err, &ue):
		if ue.msg != "" {
			fmt.Fprintf(stderr, "keyrack: %v\n", err)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "keyrack: %v\n", err)
		return 1
	}
}

// parseFlags parses a command's flags, reporting a bad flag as a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{} // the flag package has said what is wrong
	}
	return nil
}

// newFlagSet is a command's flag set, printing its usage to w.
func newFlagSet(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: keyrack %s\n", synopsis)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			return
		}
		fmt.Fprint(w, "\nFlags:\n")
		// The defaults of the URL flags come from the environment and may
		// hold passwords; usage goes to stderr, often a service's log.
		fs.VisitAll(func(f *flag.Flag) {
			if strings.HasSuffix(f.Name, "-url") {
				f.DefValue = redactURL(f.DefValue)
			}
		})
		fs.PrintDefaults()
	}
	return fs
}

// dsnPassword is a password in PostgreSQL's key=value connection string form.
var dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// redactURL is a database or Redis URL with its password, if any, replaced.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			s = u.Redacted()
		}
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
			s = u.Redacted()
		}
		return s
	}
	return dsnPassword.ReplaceAllString(s, "${1}xxxxx")
}

func helpCommand(cfg Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args) > 1 {
		return usageError{"help takes at most one command"}
	}
	var fs *flag.FlagSet
	switch args[0] {
	case "serve":
		fs, _ = serveFlags(cfg, stdout)
	case "migrate":
		fs, _ = migrateFlags(cfg, stdout)
	case "seed":
		fs, _ = seedFlags(cfg, stdout)
	case "apikey":
		fs, _, _, _ = apikeyFlags(cfg, stdout)
	case "user":
		fs, _, _, _ = userFlags(cfg, stdout)
	case "secret":
		fs, _ = secretFlags(cfg, stdout)
	case "restored":
		fs, _, _ = restoredFlags(cfg, stdout)
	case "sim":
		fs, _, _ = simFlags(cfg, stdout)
	case "bench":
		fs, _, _ = benchFlags(cfg, stdout)
	case "version":
		fs = versionFlags(stdout)
	default:
		fmt.Fprintf(stderr, "keyrack: unknown command %q\n\n%s", args[0], usage)
		return usageError{}
	}
	fs.Usage()
	return nil
}
