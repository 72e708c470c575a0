package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	minPostgresMajor = 15
	dbName           = "keyrack"
	pgInstallHint    = "install the server with `apt-get install postgresql` (Debian/Ubuntu, as root), " +
		"or set DATABASE_URL to a reachable PostgreSQL 15+ server"
)

// ensurePostgres returns the DATABASE_URL for COMMAND: the caller's if it
// answers, else that of a throwaway server.
func (s *session) ensurePostgres(ctx context.Context) (string, error) {
	if u, err := s.fromEnv(ctx, "DATABASE_URL", "PostgreSQL", pingPostgres, describePostgresURL); u != "" || err != nil {
		return u, err
	}
	pg, err := findOrInstall(ctx, s, func() (pgInstall, error) { return findPostgres(postgresCandidates()) },
		errNoPostgres, "no PostgreSQL server binaries found", "postgresql", "PostgreSQL", pgInstallHint)
	if err != nil {
		return "", err
	}
	return s.startPostgres(ctx, pg)
}

// pingPostgres connects to the server at connURL and pings it.
func pingPostgres(ctx context.Context, connURL string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg, err := pgx.ParseConfig(connURL)
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = timeout
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// describePostgresURL names the server and database without the password.
func describePostgresURL(connURL string) string {
	cfg, err := pgx.ParseConfig(connURL)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%s/%s", hostPort(cfg.Host, cfg.Port), cfg.Database)
}

func hostPort(host string, port uint16) string {
	if strings.HasPrefix(host, "/") { // unix socket directory
		return fmt.Sprintf("%s/.s.PGSQL.%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// pgInstall is a set of PostgreSQL server binaries.
type pgInstall struct {
	binDir  string
	version string // "15.20"
	major   int
}

var errNoPostgres = errors.New("no PostgreSQL server binaries (initdb, postgres) found " +
	"in `pg_config --bindir`, /usr/lib/postgresql/*/bin or PATH")

// postgresCandidates lists directories that may hold the server binaries,
// best first: what pg_config says, Debian's versioned directories from the
// highest version down, and wherever postgres on PATH really lives.
func postgresCandidates() []string {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = append(dirs, sortVersionDirsDesc(debian)...)
	if p, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	return dirs
}

// sortVersionDirsDesc sorts paths like /usr/lib/postgresql/15/bin by their
// version component, highest first, comparing numerically (16 > 9.6).
func sortVersionDirsDesc(dirs []string) []string {
	out := append([]string(nil), dirs...)
	key := func(d string) []int {
		var v []int
		for _, f := range strings.Split(filepath.Base(filepath.Dir(d)), ".") {
			n, err := strconv.Atoi(f)
			if err != nil {
				return nil
			}
			v = append(v, n)
		}
		return v
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := key(out[i]), key(out[j])
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] > b[k]
			}
		}
		return len(a) > len(b)
	})
	return out
}

// findPostgres returns the first candidate directory holding initdb and
// postgres of version 15 or later.
func findPostgres(candidates []string) (pgInstall, error) {
	var tooOld []string
	seen := map[string]bool{}
	for _, dir := range candidates {
		if dir == "" || seen[dir] {
			continue
		}
		seen[dir] = true
		if !isExecutable(filepath.Join(dir, "initdb")) || !isExecutable(filepath.Join(dir, "postgres")) {
			continue
		}
		out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").Output()
		if err != nil {
			continue
		}
		version, major, err := parsePostgresVersion(string(out))
		if err != nil {
			continue
		}
		if major < minPostgresMajor {
			tooOld = append(tooOld, fmt.Sprintf("%s in %s", version, dir))
			continue
		}
		return pgInstall{binDir: dir, version: version, major: major}, nil
	}
	if len(tooOld) > 0 {
		return pgInstall{}, fmt.Errorf("found only PostgreSQL %s, keyrack needs %d or later",
			strings.Join(tooOld, ", "), minPostgresMajor)
	}
	return pgInstall{}, errNoPostgres
}

var pgVersionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(\.\d+)?`)

// parsePostgresVersion reads `postgres --version` output such as
// "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)".
func parsePostgresVersion(out string) (version string, major int, err error) {
	m := pgVersionRE.FindStringSubmatch(out)
	if m == nil {
		return "", 0, fmt.Errorf("unrecognised postgres --version output %q", strings.TrimSpace(out))
	}
	major, err = strconv.Atoi(m[1])
	return m[1] + m[2], major, err
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// startPostgres initialises a cluster in a fresh temporary directory, starts
// it on a free port of 127.0.0.1, creates the keyrack database and returns
// its URL. The cleanup stops the server and removes the directory.
func (s *session) startPostgres(ctx context.Context, pg pgInstall) (string, error) {
	// PostgreSQL refuses to run as root: then it runs as the postgres user.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		c, err := postgresUser(ctx, s)
		if err != nil {
			return "", err
		}
		cred = c
	}
	dir, err := s.tempDir(tempBase(cred != nil), "keyrack-pg-")
	if err != nil {
		return "", err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", err
		}
	}
	asUser := func(cmd *exec.Cmd) *exec.Cmd {
		cmd.Dir = dir // the postgres user may not be able to enter our working directory
		cmd.Env = postgresEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return cmd
	}

	data := filepath.Join(dir, "data")
	initLog := filepath.Join(dir, "initdb.log")
	f, err := os.Create(initLog)
	if err != nil {
		return "", err
	}
	// C.UTF-8 where the C library has it (Debian's does): lower() and ILIKE
	// then fold every script's letters (a guest search for "ΠΑΠΑΔΌΠΟΥΛΟΣ"
	// finds Παπαδόπουλος), as on a server set up with a UTF-8 locale;
	// plain C folds only ASCII. Sorting stays byte order either way.
	for _, locale := range []string{"C.UTF-8", "C"} {
		_ = os.RemoveAll(data)
		initdb := asUser(exec.CommandContext(ctx, filepath.Join(pg.binDir, "initdb"),
			"--pgdata", data, "--username", "postgres", "--auth", "trust",
			"--encoding", "UTF8", "--locale", locale, "--lc-collate", "C", "--no-sync"))
		initdb.Stdout, initdb.Stderr = f, f
		if err = initdb.Run(); err == nil || ctx.Err() != nil {
			break
		}
	}
	f.Close()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("initdb failed (%v)\n--- last lines of %s ---\n%s", err, initLog, tail(initLog, 20))
	}

	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		srv, err := startServer("PostgreSQL", asUser(exec.Command(filepath.Join(pg.binDir, "postgres"),
			"-D", data,
			"-c", "listen_addresses=127.0.0.1",
			"-c", "port="+strconv.Itoa(port),
			"-c", "unix_socket_directories="+dir,
			"-c", "max_connections=200",
		)), filepath.Join(dir, "postgres.log"))
		if err != nil {
			return "", err
		}
		// Fast shutdown, as `pg_ctl stop -m fast` does it; then immediate.
		stop := func() {
			srv.stop(stopStep{syscall.SIGINT, 30 * time.Second}, stopStep{syscall.SIGQUIT, 5 * time.Second})
		}
		admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		err = srv.waitReady(ctx, func(ctx context.Context) error { return pingPostgres(ctx, admin, 2*time.Second) })
		if err != nil {
			stop()
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if attempt < 3 && srv.addrInUse() {
				continue
			}
			return "", srv.startupError(err)
		}
		s.onCleanup(stop)

		if err := createDatabase(ctx, admin, dbName); err != nil {
			return "", err
		}
		s.log.Info(fmt.Sprintf("devservices: started throwaway PostgreSQL %s on 127.0.0.1:%d (data in %s)", pg.version, port, dir))
		return (&url.URL{
			Scheme:   "postgres",
			User:     url.User("postgres"),
			Host:     fmt.Sprintf("127.0.0.1:%d", port),
			Path:     "/" + dbName,
			RawQuery: "sslmode=disable",
		}).String(), nil
	}
}

func createDatabase(ctx context.Context, admin, name string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	return nil
}

// postgresEnv is the environment for initdb and postgres: ours without the
// libpq and PostgreSQL variables that could point them elsewhere.
func postgresEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// postgresUser returns the credentials of the postgres system user,
// creating the user if it does not exist.
func postgresUser(ctx context.Context, s *session) (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		args := []string{"--system", "--no-create-home", "--home-dir", "/var/lib/postgresql", "--shell", "/usr/sbin/nologin"}
		if _, gerr := user.LookupGroup("postgres"); gerr == nil {
			args = append(args, "--gid", "postgres")
		} else {
			args = append(args, "--user-group")
		}
		s.log.Info("devservices: running as root, creating system user postgres to run PostgreSQL")
		if out, err := exec.CommandContext(ctx, "useradd", append(args, "postgres")...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("PostgreSQL cannot run as root and creating the postgres user failed: %v: %s",
				err, strings.TrimSpace(string(out)))
		}
		u, err = user.Lookup("postgres")
	}
	if err != nil {
		return nil, fmt.Errorf("looking up the postgres user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}
