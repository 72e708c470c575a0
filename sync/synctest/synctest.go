// Package synctest gives tests the real Redis that the fan-out runs on.
//
// The server comes from TEST_REDIS_URL, else REDIS_URL (`make test` sets
// it, starting a throwaway server when none is reachable). Without one the
// test fails when CI is set and is skipped otherwise.
//
// Tests share that server, so each one keeps to queues of its own
// (QueuePrefix) and never flushes a database. A test that needs to stop and
// start Redis starts a private server (StartRedis).
package synctest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync"
	"github.com/redis/go-redis/v9"
)

// RedisURL returns the Redis URL tests use, failing the test in CI and
// skipping it elsewhere when there is none.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	if os.Getenv("CI") != "" {
		tb.Fatal("this test needs Redis: set TEST_REDIS_URL or REDIS_URL (make test does)")
	}
	tb.Skip("no Redis: set TEST_REDIS_URL or REDIS_URL, or run make test")
	return ""
}

// QueuePrefix returns a prefix for the fan-out's queue names
// (sync.Config.QueuePrefix) that is tb's own, and removes those queues'
// keys from the Redis at redisURL when tb ends — only those: the server is
// shared.
func QueuePrefix(tb testing.TB, redisURL string) string {
	tb.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	prefix := "t" + hex.EncodeToString(b[:]) + "-"
	tb.Cleanup(func() {
		q, err := sync.OpenQueue(redisURL)
		if err != nil {
			tb.Logf("remove test queues: %v", err)
			return
		}
		defer q.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.RemoveQueues(ctx, prefix); err != nil {
			tb.Logf("remove test queues: %v", err) // e.g. the private server is already gone
		}
	})
	return prefix
}

// RedisKeysHolding lists the keys of the Redis at redisURL whose value
// (a string, or any member or field of a hash, list, set or sorted set)
// holds text: a guest's name that must not be left in the queues. It
// reads the whole database, which tests share, and changes nothing.
func RedisKeysHolding(tb testing.TB, redisURL, text string) []string {
	tb.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	var out []string
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		var values []string
		switch c.Type(ctx, key).Val() {
		case "string":
			values = []string{c.Get(ctx, key).Val()}
		case "hash":
			for f, v := range c.HGetAll(ctx, key).Val() {
				values = append(values, f, v)
			}
		case "list":
			values = c.LRange(ctx, key, 0, -1).Val()
		case "set":
			values = c.SMembers(ctx, key).Val()
		case "zset":
			values = c.ZRange(ctx, key, 0, -1).Val()
		}
		for _, v := range values {
			if bytes.Contains([]byte(v), []byte(text)) {
				out = append(out, key)
				break
			}
		}
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("read Redis: %v", err)
	}
	return out
}

// RedisServer is a private redis-server a test can stop and start.
type RedisServer struct {
	URL string
	// Addr is the server's host:port.
	Addr string
	tb   testing.TB
	bin  string
	dir  string
	port int
	o    RedisOptions
	// sentinel: the server runs as a Redis Sentinel from this
	// configuration file's path.
	sentinel string
	cmd      *exec.Cmd
}

// RedisOptions are what StartRedisWith starts a private server with.
type RedisOptions struct {
	// Password is what the server asks of its clients (requirepass) and,
	// as a replica, gives its master (masterauth). URL carries it.
	Password string
	// ReplicaOf makes the server a replica of that one.
	ReplicaOf *RedisServer
}

// StartRedis starts a redis-server of tb's own on a free port of 127.0.0.1,
// keeping nothing on disk; it is stopped when tb ends. It fails the test in
// CI and skips it elsewhere when redis-server is not installed.
func StartRedis(tb testing.TB) *RedisServer {
	tb.Helper()
	return StartRedisWith(tb, RedisOptions{})
}

// StartRedisWith is StartRedis with a password, or as a replica.
func StartRedisWith(tb testing.TB, o RedisOptions) *RedisServer {
	tb.Helper()
	s := newRedisServer(tb)
	s.o = o
	if o.Password != "" {
		s.URL = fmt.Sprintf("redis://:%s@%s/0", url.PathEscape(o.Password), s.Addr)
	}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// StartSentinel starts a Redis Sentinel of tb's own monitoring master
// under name, with a quorum of one and a master taken for down after half
// a second, so that a test sees a failover within seconds. URL names the
// sentinel itself; it is stopped when tb ends.
func StartSentinel(tb testing.TB, name string, master *RedisServer) *RedisServer {
	tb.Helper()
	s := newRedisServer(tb)
	s.sentinel = filepath.Join(s.dir, "sentinel.conf")
	conf := fmt.Sprintf("bind 127.0.0.1\nport %d\ndir %s\nlogfile %s\n"+
		"sentinel monitor %s 127.0.0.1 %d 1\n"+
		"sentinel down-after-milliseconds %[4]s 500\n"+
		"sentinel failover-timeout %[4]s 5000\n",
		s.port, s.dir, filepath.Join(s.dir, "redis.log"), name, master.port)
	if master.o.Password != "" {
		conf += fmt.Sprintf("sentinel auth-pass %s %s\n", name, master.o.Password)
	}
	if err := os.WriteFile(s.sentinel, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// newRedisServer finds redis-server and a free port for a private server.
func newRedisServer(tb testing.TB) *RedisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("this test starts a private Redis and needs redis-server: apt-get install redis-server")
		}
		tb.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return &RedisServer{tb: tb, bin: bin, dir: tb.TempDir(), port: port, Addr: addr, URL: "redis://" + addr + "/0"}
}

// Start starts the server (again) on its port and waits until it answers.
// Having kept nothing on disk, it starts empty.
func (s *RedisServer) Start() {
	s.tb.Helper()
	if s.cmd != nil {
		s.tb.Fatal("the private Redis is already running")
	}
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", s.dir,
		"--logfile", filepath.Join(s.dir, "redis.log")}
	if s.o.Password != "" {
		args = append(args, "--requirepass", s.o.Password, "--masterauth", s.o.Password)
	}
	if m := s.o.ReplicaOf; m != nil {
		args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(m.port))
	}
	if s.sentinel != "" {
		args = []string{s.sentinel, "--sentinel"}
	}
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	opt, _ := redis.ParseURL(s.URL)
	c := redis.NewClient(opt)
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.tb.Fatalf("the private Redis does not answer on port %d: %v\n%s", s.port, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (s *RedisServer) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// LockedBuffer is a log's writer that a test reads while others write (a
// logger made slog's or the Redis client's for the whole process).
type LockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
