package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	minRedisMajor    = 7
	redisInstallHint = "install it with `apt-get install redis-server` (Debian/Ubuntu, as root), " +
		"or set REDIS_URL to a reachable Redis 7 server"
)

var errNoRedis = errors.New("no redis-server found on PATH")

// ensureRedis returns the REDIS_URL for COMMAND: the caller's if it answers,
// else that of a throwaway server.
func (s *session) ensureRedis(ctx context.Context) (string, error) {
	if u, err := s.fromEnv(ctx, "REDIS_URL", "Redis", pingRedis, describeRedisURL); u != "" || err != nil {
		return u, err
	}
	bin, err := findOrInstall(ctx, s, findRedis, errNoRedis, "no redis-server found", "redis-server", "Redis", redisInstallHint)
	if err != nil {
		return "", err
	}
	return s.startRedis(ctx, bin)
}

// pingRedis sends PING to the server at redisURL and expects PONG.
func pingRedis(ctx context.Context, redisURL string, timeout time.Duration) error {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	opt.DialTimeout = timeout
	opt.ReadTimeout = timeout
	opt.WriteTimeout = timeout
	opt.MaxRetries = -1
	opt.PoolSize = 1
	opt.DisableIdentity = true
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pong, err := c.Ping(ctx).Result()
	if err != nil {
		return err
	}
	if pong != "PONG" {
		return fmt.Errorf("PING answered %q", pong)
	}
	return nil
}

// describeRedisURL names the server and database without the password.
func describeRedisURL(redisURL string) string {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%s/%d", opt.Addr, opt.DB)
}

func findRedis() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"} {
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", errNoRedis
}

var redisVersionRE = regexp.MustCompile(`\bv=(\d+)\.(\d+)(\.\d+)?`)

// parseRedisVersion reads `redis-server --version` output such as
// "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 ...".
func parseRedisVersion(out string) (version string, major int, err error) {
	m := redisVersionRE.FindStringSubmatch(out)
	if m == nil {
		return "", 0, fmt.Errorf("unrecognised redis-server --version output %q", strings.TrimSpace(out))
	}
	major, err = strconv.Atoi(m[1])
	return m[1] + "." + m[2] + m[3], major, err
}

// startRedis starts a redis-server that keeps nothing on disk, on a free port
// of 127.0.0.1, and returns its URL. The cleanup stops it and removes its
// directory.
func (s *session) startRedis(ctx context.Context, bin string) (string, error) {
	version := "?"
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		if v, major, err := parseRedisVersion(string(out)); err == nil {
			version = v
			if major < minRedisMajor {
				s.log.Warn(fmt.Sprintf("devservices: %s is Redis %s; keyrack is built for Redis %d", bin, v, minRedisMajor))
			}
		}
	}
	dir, err := s.tempDir(tempBase(false), "keyrack-redis-")
	if err != nil {
		return "", err
	}

	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		cmd := exec.Command(bin,
			"--bind", "127.0.0.1",
			"--port", strconv.Itoa(port),
			"--save", "",
			"--appendonly", "no",
			"--daemonize", "no",
			"--dir", dir,
		)
		cmd.Dir = dir
		srv, err := startServer("Redis", cmd, filepath.Join(dir, "redis.log"))
		if err != nil {
			return "", err
		}
		stop := func() {
			srv.stop(stopStep{syscall.SIGTERM, 10 * time.Second})
		}
		redisURL := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		err = srv.waitReady(ctx, func(ctx context.Context) error { return pingRedis(ctx, redisURL, time.Second) })
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
		s.log.Info(fmt.Sprintf("devservices: started throwaway Redis %s on 127.0.0.1:%d (dir %s)", version, port, dir))
		return redisURL, nil
	}
}
