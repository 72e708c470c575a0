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
	"net/url"
	"strings"
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
}

// OpenQueue prepares a connection to the Redis at redisURL
// (redis://[:password@]host[:port][/db], rediss://, redis-socket:// or
// redis-sentinel://). It does not dial: a Redis that is down delays the
// fan-out but must not stop keyrack from taking bookings, so callers use Ping
// to learn whether Redis answers.
func OpenQueue(redisURL string) (*Queue, error) {
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
	return &Queue{redis: rc}, nil
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
