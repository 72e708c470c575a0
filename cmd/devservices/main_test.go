package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestSortVersionDirsDesc(t *testing.T) {
	in := []string{
		"/usr/lib/postgresql/9.6/bin",
		"/usr/lib/postgresql/15/bin",
		"/usr/lib/postgresql/16/bin",
		"/usr/lib/postgresql/weird/bin",
		"/usr/lib/postgresql/13/bin",
	}
	want := []string{
		"/usr/lib/postgresql/16/bin",
		"/usr/lib/postgresql/15/bin",
		"/usr/lib/postgresql/13/bin",
		"/usr/lib/postgresql/9.6/bin",
		"/usr/lib/postgresql/weird/bin",
	}
	if got := sortVersionDirsDesc(in); !reflect.DeepEqual(got, want) {
		t.Errorf("sortVersionDirsDesc = %q, want %q", got, want)
	}
}

func TestParsePostgresVersion(t *testing.T) {
	for _, tc := range []struct {
		out     string
		version string
		major   int
	}{
		{"postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n", "15.20", 15},
		{"postgres (PostgreSQL) 16.4\n", "16.4", 16},
		{"postgres (PostgreSQL) 17beta1\n", "17", 17},
		{"postgres (PostgreSQL) 9.6.24\n", "9.6", 9},
	} {
		v, m, err := parsePostgresVersion(tc.out)
		if err != nil || v != tc.version || m != tc.major {
			t.Errorf("parsePostgresVersion(%q) = %q, %d, %v; want %q, %d", tc.out, v, m, err, tc.version, tc.major)
		}
	}
	if _, _, err := parsePostgresVersion("bash: postgres: command not found"); err == nil {
		t.Error("parsePostgresVersion accepted garbage")
	}
}

func TestParseRedisVersion(t *testing.T) {
	v, m, err := parseRedisVersion("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c971a948f0\n")
	if err != nil || v != "7.0.15" || m != 7 {
		t.Errorf("parseRedisVersion = %q, %d, %v", v, m, err)
	}
	if _, _, err := parseRedisVersion("Valkey"); err == nil {
		t.Error("parseRedisVersion accepted garbage")
	}
}

// fakePostgres makes a directory with an initdb and a postgres that prints
// the given version.
func fakePostgres(t *testing.T, version string, withInitdb bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bin")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho 'postgres (PostgreSQL) " + version + "'\n"
	if err := os.WriteFile(filepath.Join(dir, "postgres"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if withInitdb {
		if err := os.WriteFile(filepath.Join(dir, "initdb"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindPostgres(t *testing.T) {
	old := fakePostgres(t, "13.16", true)
	noInitdb := fakePostgres(t, "17.2", false)
	good := fakePostgres(t, "16.4", true)
	other := fakePostgres(t, "15.8", true)

	pg, err := findPostgres([]string{"", "/nonexistent", old, noInitdb, good, other})
	if err != nil {
		t.Fatal(err)
	}
	if pg.binDir != good || pg.major != 16 || pg.version != "16.4" {
		t.Errorf("findPostgres = %+v, want 16.4 in %s", pg, good)
	}

	_, err = findPostgres([]string{old})
	if err == nil || !strings.Contains(err.Error(), "13.16") || !strings.Contains(err.Error(), "15 or later") {
		t.Errorf("only an old server: err = %v", err)
	}

	_, err = findPostgres([]string{noInitdb, "/nonexistent"})
	if !errors.Is(err, errNoPostgres) {
		t.Errorf("no server: err = %v, want errNoPostgres", err)
	}
}

func TestFreePort(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 {
		t.Fatalf("freePort = %d", port)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d from freePort is not free: %v", port, err)
	}
	l.Close()
}

func TestSetEnv(t *testing.T) {
	env := []string{"A=1", "DATABASE_URL=old", "DATABASE_URLX=keep", "B=2", "DATABASE_URL=older"}
	got := setEnv(env, "DATABASE_URL", "new")
	want := []string{"A=1", "DATABASE_URLX=keep", "B=2", "DATABASE_URL=new"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("setEnv = %q, want %q", got, want)
	}
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 143},
	} {
		err := exec.Command("sh", "-c", tc.script).Run()
		if got := exitStatus(err); got != tc.want {
			t.Errorf("exitStatus(sh -c %q) = %d, want %d (err %v)", tc.script, got, tc.want, err)
		}
	}
}

func TestTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte("1\n2\n3\n4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tail(p, 2); got != "3\n4" {
		t.Errorf("tail = %q", got)
	}
	if got := tail(p, 10); got != "1\n2\n3\n4" {
		t.Errorf("tail = %q", got)
	}
}

func TestWorldTraversable(t *testing.T) {
	if !worldTraversable("/") {
		t.Error("/ is not traversable?")
	}
	dir := t.TempDir()
	private := filepath.Join(dir, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	if worldTraversable(filepath.Join(private)) {
		t.Errorf("%s (0700) reported traversable", private)
	}
}

func TestDescribeURLsHidePasswords(t *testing.T) {
	if got := describePostgresURL("postgres://u:secret@db.example:6543/app?sslmode=disable"); got != "db.example:6543/app" {
		t.Errorf("describePostgresURL = %q", got)
	}
	if got := describeRedisURL("redis://:secret@cache.example:6380/2"); got != "cache.example:6380/2" {
		t.Errorf("describeRedisURL = %q", got)
	}
}

// TestThrowawayServers starts, uses and stops real throwaway servers, as
// `make test` does in CI. It is skipped where the server binaries are
// missing (devservices itself installs them when it can).
func TestThrowawayServers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers")
	}
	pg, err := findPostgres(postgresCandidates())
	if err != nil {
		t.Skip(err)
	}
	redisBin, err := findRedis()
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &session{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	defer s.cleanup()

	dbURL, err := s.startPostgres(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	redisURL, err := s.startRedis(ctx, redisBin)
	if err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	var db, fsync string
	err = conn.QueryRow(ctx, "SELECT current_database(), current_setting('fsync')").Scan(&db, &fsync)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if db != "keyrack" || fsync != "on" {
		t.Errorf("database %q with fsync %q, want keyrack with fsync on", db, fsync)
	}
	if err := pingRedis(ctx, redisURL, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	pgCfg, _ := pgx.ParseConfig(dbURL)
	s.cleanup()

	for _, addr := range []string{
		net.JoinHostPort(pgCfg.Host, strconv.Itoa(int(pgCfg.Port))),
		strings.TrimSuffix(strings.TrimPrefix(redisURL, "redis://"), "/0"),
	} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after cleanup", addr)
		}
	}
	for _, d := range s.dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s not removed by cleanup (%v)", d, err)
		}
	}
	if len(s.dirs) != 2 {
		t.Errorf("session made directories %q, want one for each server", s.dirs)
	}
}
