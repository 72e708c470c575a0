package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// keyrack runs the command line with env as the whole environment and
// returns its exit status, stdout and stderr.
func keyrack(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	// Locked: run makes its logger slog's default, and a parallel test's
	// code logging through the default may write to it as this test reads.
	var stdout, stderr synctest.LockedBuffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// schemaURL is a database URL whose connections use an empty schema of the
// test's own: pgx passes unknown URL parameters on as run-time settings.
func schemaURL(t *testing.T) string {
	t.Helper()
	base := inventorytest.RequireDatabase(t)
	schema := inventorytest.Schema(t).ConnConfig.RuntimeParams["search_path"]
	require.NotEmpty(t, schema)
	if !strings.Contains(base, "://") {
		return base + " search_path=" + schema // key=value form
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func TestUnknownCommandPrintsUsageAndExits2(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := keyrack(t, nil, "frobnicate")
	require.Equal(t, 2, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, `unknown command "frobnicate"`)
	require.Contains(t, stderr, "Usage:")
}

func TestNoCommandPrintsUsageAndExits2(t *testing.T) {
	t.Parallel()
	code, _, stderr := keyrack(t, nil)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "Usage:")
}

func TestHelpListsCommandsAndEnvironment(t *testing.T) {
	t.Parallel()
	code, stdout, _ := keyrack(t, nil, "help")
	require.Equal(t, 0, code)
	for _, s := range []string{"serve", "migrate", "seed demo", "version", "DATABASE_URL", "REDIS_URL", "KEYRACK_ADDR", "KEYRACK_LOG_LEVEL", "KEYRACK_ROLES", "KEYRACK_SECRET", "KEYRACK_NEW_SECRET", "secret rotate", "KEYRACK_FEED_ACK_TIMEOUT", "KEYRACK_ICAL_STALE_AFTER", "KEYRACK_ICAL_EXPORT_STALE_AFTER", "KEYRACK_PULL_STALE_AFTER", "KEYRACK_TAKE_OVER_AFTER", "KEYRACK_MESSAGES_KEEP", "KEYRACK_TRUSTED_PROXIES", "KEYRACK_ICAL_ALLOW_PRIVATE", "KEYRACK_PULL_ALLOW_PRIVATE", "KEYRACK_WORKERS", "KEYRACK_BULK_WORKERS"} {
		require.Contains(t, stdout, s)
	}
	code, stdout, _ = keyrack(t, nil, "help", "serve")
	require.Equal(t, 0, code)
	require.Contains(t, stdout, "-migrate")
	require.Contains(t, stdout, "-database-url")
	require.Contains(t, stdout, "-roles")
}

func TestBadFlagExits2(t *testing.T) {
	t.Parallel()
	code, _, stderr := keyrack(t, nil, "migrate", "-no-such-flag")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "no-such-flag")
}

func TestVersionPrintsAVersion(t *testing.T) {
	t.Parallel()
	code, stdout, _ := keyrack(t, nil, "version")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(stdout, "keyrack "), stdout)
	// A command without flags has no "Flags:" heading over nothing.
	_, _, stderr := keyrack(t, nil, "version", "-h")
	require.Equal(t, "Usage: keyrack version\n", stderr)
	_, _, stderr = keyrack(t, nil, "migrate", "-h")
	require.Contains(t, stderr, "\nFlags:\n  -database-url")
}

func TestALogLevelKeyrackDoesNotKnowIsRefused(t *testing.T) {
	t.Parallel()
	code, _, stderr := keyrack(t, map[string]string{"KEYRACK_LOG_LEVEL": "chatty"}, "version")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "KEYRACK_LOG_LEVEL")
}

func TestDurationsAndSwitchesThatDoNotParseAreRefused(t *testing.T) {
	t.Parallel()
	for env, bad := range map[string][]string{
		"KEYRACK_FEED_ACK_TIMEOUT":        {"soon", "-5m", "0s"},
		"KEYRACK_ICAL_STALE_AFTER":        {"later", "-1h"},
		"KEYRACK_ICAL_EXPORT_STALE_AFTER": {"a day", "0s"},
		"KEYRACK_PULL_STALE_AFTER":        {"soon", "-10m"},
		"KEYRACK_TAKE_OVER_AFTER":         {"later", "5s"},
		"KEYRACK_MESSAGES_KEEP":           {"30d", "0"},
		"KEYRACK_TRUSTED_PROXIES":         {"proxy.example", "10.0.0.1,10.0.0.300", "10.0.0.0/33"},
		"KEYRACK_ICAL_ALLOW_PRIVATE":      {"maybe"},
		"KEYRACK_PULL_ALLOW_PRIVATE":      {"sometimes"},
		"KEYRACK_WORKERS":                 {"many", "0"},
		"KEYRACK_BULK_WORKERS":            {"-1"},
	} {
		for _, v := range bad {
			code, _, stderr := keyrack(t, map[string]string{env: v}, "version")
			require.Equal(t, 2, code, "%s=%s", env, v)
			require.Contains(t, stderr, env)
		}
	}
	env := map[string]string{"KEYRACK_FEED_ACK_TIMEOUT": "45m", "KEYRACK_ICAL_STALE_AFTER": "6h", "KEYRACK_ICAL_EXPORT_STALE_AFTER": "36h", "KEYRACK_PULL_STALE_AFTER": "30m", "KEYRACK_TAKE_OVER_AFTER": "2m", "KEYRACK_ICAL_ALLOW_PRIVATE": "1",
		"KEYRACK_PULL_ALLOW_PRIVATE": "1", "KEYRACK_WORKERS": "8", "KEYRACK_BULK_WORKERS": "1", "KEYRACK_MESSAGES_KEEP": "2160h",
		"KEYRACK_TRUSTED_PROXIES": " 10.0.0.1, 192.168.0.0/16 ,::1"}
	cfg, err := configFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, 45*time.Minute, cfg.FeedAckTimeout)
	require.Equal(t, 6*time.Hour, cfg.ICalStaleAfter)
	require.Equal(t, 36*time.Hour, cfg.ICalExportStaleAfter)
	require.Equal(t, 30*time.Minute, cfg.PullStaleAfter)
	require.Equal(t, 2*time.Minute, cfg.TakeOverAfter)
	require.Equal(t, 90*24*time.Hour, cfg.MessagesKeep)
	require.Equal(t, []string{"10.0.0.1", "192.168.0.0/16", "::1"}, cfg.TrustedProxies)
	require.True(t, cfg.ICalAllowPrivate)
	require.True(t, cfg.PullAllowPrivate)
	require.Equal(t, 8, cfg.Workers)
	require.Equal(t, 1, cfg.BulkWorkers)
}

func TestMigrateWithoutDatabaseURLSaysWhatToSet(t *testing.T) {
	t.Parallel()
	code, _, stderr := keyrack(t, nil, "migrate")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "DATABASE_URL is not set")
}

func TestSeedDemoBeforeMigrateSaysToMigrate(t *testing.T) {
	t.Parallel()
	code, _, stderr := keyrack(t, map[string]string{"DATABASE_URL": schemaURL(t)}, "seed", "demo")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "keyrack migrate")
}

func TestSeedNeedsAKnownDataSet(t *testing.T) {
	t.Parallel()
	code, _, stderr := keyrack(t, nil, "seed")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "keyrack seed demo")
	code, _, stderr = keyrack(t, nil, "seed", "everything")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `unknown data set "everything"`)
}

func TestMigrateThenSeedDemoTwice(t *testing.T) {
	t.Parallel()
	url := schemaURL(t)

	code, stdout, stderr := keyrack(t, nil, "migrate", "-database-url", url)
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `^schema is at version [1-9][0-9]*\n$`, stdout)

	env := map[string]string{"DATABASE_URL": url}
	code, stdout, stderr = keyrack(t, env, "seed", "demo")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "loaded the demo hotel: property DEMO\n", stdout)

	code, stdout, stderr = keyrack(t, env, "seed", "demo")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "property DEMO is already there; left it as it is\n", stdout)

	// Migrating again is harmless.
	code, _, stderr = keyrack(t, env, "migrate")
	require.Equal(t, 0, code, stderr)
}

// Every setting is checked before keyrack connects anywhere, and a bad one is
// a usage error naming its variable: a resync time that is no time of day, a
// secret too short to seal with, a number of workers no connection pool can
// hold (99999999999 started, and then SIGTERM never stopped the process:
// asynq's shutdown counts its workers down one by one).
func TestSettingsServeCannotUseAreRefusedAtStartNamingThem(t *testing.T) {
	t.Parallel()
	for env, bad := range map[string][]string{
		"KEYRACK_RESYNC_AT":    {"25:00", "3am"},
		"KEYRACK_SECRET":       {"too short"},
		"KEYRACK_WORKERS":      {"99999999999"},
		"KEYRACK_BULK_WORKERS": {"99999999999"},
		// Go's runtime takes a GOGC it cannot read for its default of 100,
		// without a word, in place of keyrack's 400.
		"GOGC": {"400%", "four hundred", " 400"},
	} {
		for _, v := range bad {
			code, _, stderr := keyrack(t, map[string]string{env: v}, "serve")
			require.Equal(t, 2, code, "%s=%s: %s", env, v, stderr)
			require.Contains(t, stderr, env, "%s=%s", env, v)
		}
	}
	for _, v := range []string{"off", "200", "-1"} {
		code, _, stderr := keyrack(t, map[string]string{"GOGC": v}, "version")
		require.Equal(t, 0, code, "GOGC=%s: %s", v, stderr)
	}
}

// A mistyped flag in a deployment's command line prints the command's flags
// to stderr, which goes to the service's log: the defaults shown must not
// carry the passwords in DATABASE_URL and REDIS_URL (the help itself says
// to keep such URLs in the environment so that no one else sees them).
func TestABadFlagDoesNotPrintThePasswordsOfTheURLs(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DATABASE_URL": "postgres://keyrack:db-password-42@db.internal:5432/keyrack",
		"REDIS_URL":    "redis://:redis-password-42@redis.internal:6379/0",
	}
	for _, args := range [][]string{{"serve", "-rols", "web"}, {"migrate", "-no-such-flag"}, {"bench", "-x"}, {"help", "serve"}} {
		code, stdout, stderr := keyrack(t, env, args...)
		require.NotEqual(t, 1, code, "%v", args)
		for _, secret := range []string{"db-password-42", "redis-password-42"} {
			require.NotContains(t, stdout+stderr, secret, "keyrack %v printed a password", args)
		}
	}
}

// keyrack help said the scheduler role ran the nightly resync and the worker
// the relay and the deliveries, and no more: an operator splitting keyrack
// into processes by it, and running no scheduler with KEYRACK_RESYNC_AT=off,
// had no polls of pull-mode OTAs — their bookings never reached keyrack —
// and no iCal import without a worker. The help says what each role runs,
// as the README's "Roles" does.
func TestHelpSaysWhatEachRoleRuns(t *testing.T) {
	t.Parallel()
	code, stdout, _ := keyrack(t, nil, "help")
	require.Equal(t, 0, code)
	roles := stdout[strings.Index(stdout, "KEYRACK_ROLES"):]
	roles = roles[:strings.Index(roles, "KEYRACK_SECRET")]
	roles = strings.Join(strings.Fields(roles), " ")
	for _, s := range []string{"PMS webhooks", "iCal feeds", "polls of pull-mode OTAs", "nightly resync", "one process leads"} {
		require.Contains(t, roles, s)
	}
}

// KEYRACK_GUEST_DATA_KEEP takes days (730d) or a Go duration of a day or
// more; off or unset keeps guest data (0); anything else stops keyrack
// naming the variable.
func TestGuestDataKeepIsReadAsDaysOrADuration(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]time.Duration{"": 0, "off": 0, "OFF": 0, "730d": 730 * 24 * time.Hour, " 30d ": 30 * 24 * time.Hour, "48h": 48 * time.Hour} {
		cfg, err := configFromEnv(func(k string) string {
			if k == "KEYRACK_GUEST_DATA_KEEP" {
				return v
			}
			return ""
		})
		require.NoError(t, err, v)
		require.Equal(t, want, cfg.GuestDataKeep, v)
	}
	for _, v := range []string{"two years", "12h", "0d", "-3d", "1.5d", "730"} {
		_, err := configFromEnv(func(k string) string {
			if k == "KEYRACK_GUEST_DATA_KEEP" {
				return v
			}
			return ""
		})
		require.ErrorContains(t, err, "KEYRACK_GUEST_DATA_KEEP", v)
	}
}
