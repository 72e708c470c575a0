// Package sync fans every change of the inventory out to the channels: the
// outbox relay, the asynq tasks and their handlers, coalescing, loop
// suppression, retries and schedules.
//
// It is the only package that talks to Redis and asynq. It shadows the
// standard library's sync; import that one as gosync inside this package.
package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// DefaultPingTimeout bounds Ping when its context has no deadline of its own.
const DefaultPingTimeout = 5 * time.Second

// Queue is keyrack's connection to Redis, where asynq keeps the fan-out's
// task queues.
type Queue struct {
	// redis is shared by every asynq client, server, scheduler and inspector
	// made from it (asynq's New*FromRedisClient), so there is one pool of
	// connections per process.
	redis redis.UniversalClient
	// wake holds idle workers' dequeues back and wakes them (idlewait.go).
	wake *wakeHook
}

// newQueue makes the Queue of a Redis client, with its wake hook.
func newQueue(rc redis.UniversalClient) *Queue {
	q := &Queue{redis: rc, wake: newWakeHook(rc)}
	rc.AddHook(q.wake)
	return q
}

// OpenQueue prepares a connection to the Redis at redisURL
// (redis://[:password@]host[:port][/db], rediss://, redis-socket://path?db=N,
// or through Redis Sentinel: see openSentinel). It does not dial: a Redis
// that is down delays the fan-out but must not stop keyrack from taking
// bookings, so callers use Ping to learn whether Redis answers.
func OpenQueue(redisURL string) (*Queue, error) {
	if rest, ok := cutPrefixFold(redisURL, "redis-sentinel://"); ok {
		return openSentinel(rest)
	}
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		// url.Error quotes the whole URL, password included; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redis url: %w", err)
	}
	rc, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("redis url: unsupported connection type %T", opt)
	}
	return newQueue(rc), nil
}

// openSentinel prepares a connection to the master a group of Redis
// Sentinels names, following it through failovers:
//
//	redis-sentinel://[[user]:sentinelpassword@]host:port[,host:port...][/db]?master=NAME[&password=P][&username=U]
//
// As asynq reads such a URL, the user information is the sentinels' own
// credentials; the master's are the password (and username) parameters —
// which asynq's reading dropped, as it dropped the database number, so a
// master that asks for a password could not be used at all.
// rest is the URL after its scheme. Its hosts are read here: a list of
// them is no URL host, and url.Parse refuses one with a port before its last.
func openSentinel(rest string) (*Queue, error) {
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	u, err := url.Parse("redis-sentinel://" + userinfo + "sentinels" + tail)
	if err != nil {
		// url.Error quotes the whole URL, password included; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redis url: %w", err)
	}
	o := &redis.FailoverOptions{}
	for a := range strings.SplitSeq(hosts, ",") {
		if a = strings.TrimSpace(a); a != "" {
			if _, _, err := net.SplitHostPort(a); err != nil {
				a = net.JoinHostPort(a, "26379")
			}
			o.SentinelAddrs = append(o.SentinelAddrs, a)
		}
	}
	if len(o.SentinelAddrs) == 0 {
		return nil, errors.New("redis url: redis-sentinel needs the sentinels' host:port, separated by commas")
	}
	if u.User != nil {
		o.SentinelUsername = u.User.Username()
		o.SentinelPassword, _ = u.User.Password()
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		db, err := strconv.Atoi(p)
		if err != nil || db < 0 {
			return nil, fmt.Errorf("redis url: the path is the database number, not %q", p)
		}
		o.DB = db
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "master", "password", "username":
		default:
			return nil, fmt.Errorf("redis url: unknown parameter %q of redis-sentinel (master, password, username)", k)
		}
	}
	o.MasterName, o.Password, o.Username = q.Get("master"), q.Get("password"), q.Get("username")
	if o.MasterName == "" {
		return nil, errors.New("redis url: redis-sentinel needs ?master=NAME, the master's name the sentinels monitor")
	}
	return newQueue(redis.NewFailoverClient(o)), nil
}

// LogRedisTo has the Redis client's own messages — a sentinel naming a new
// master, a connection pool's trouble — logged through l as warnings, not
// printed on stderr in a format of their own, beside keyrack's log (through
// slog's default logger until it is called, or when l is nil).
func LogRedisTo(l *slog.Logger) { redisLog.Store(l) }

// redisLog is the logger of the Redis client's messages. The client's
// logger is a package variable of go-redis that its goroutines read
// unguarded: it is set once, before any client exists, and only the
// logger it writes to changes.
var redisLog atomic.Pointer[slog.Logger]

func init() { redis.SetLogger(redisLogger{}) }

type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l := redisLog.Load()
	if l == nil {
		l = slog.Default()
	}
	l.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// cutPrefixFold is strings.CutPrefix with the prefix's case ignored.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// Ping checks that Redis answers. It gives up when ctx ends, or after
// DefaultPingTimeout when ctx has no deadline.
//
// asynq's Client.Ping sends the same PING but ignores contexts, so a Redis
// that accepts connections and then hangs would hold the caller for the
// client's full read timeout; this one returns as soon as ctx is done.
func (q *Queue) Ping(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPingTimeout)
		defer cancel()
	}
	done := make(chan error, 1)
	go func() { done <- q.redis.Ping(ctx).Err() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("redis: no answer: %w", ctx.Err())
	}
}

// Close releases the connections.
func (q *Queue) Close() error { return q.redis.Close() }

// RemoveQueues deletes the keys of every fan-out queue whose name starts
// with prefix (a sync.Config.QueuePrefix), and their names from asynq's list
// of queues — only those: the Redis may be shared. For runs with a queue
// prefix of their own (the tests, keyrack bench) once they are done.
func (q *Queue) RemoveQueues(ctx context.Context, prefix string) error {
	if prefix == "" {
		return errors.New("sync: RemoveQueues needs a prefix")
	}
	// asynq keeps a queue's keys under asynq:{queue}: and its name in asynq:queues.
	iter := q.redis.Scan(ctx, 0, "asynq:{"+prefix+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return err
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := q.redis.Del(ctx, keys[:n]...).Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	names, err := q.redis.SMembers(ctx, "asynq:queues").Result()
	if err != nil {
		return err
	}
	for _, name := range names {
		if strings.HasPrefix(name, prefix) {
			if err := q.redis.SRem(ctx, "asynq:queues", name).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}
