package sync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
)

func TestQueuePingAnswersWhenRedisIsUp(t *testing.T) {
	t.Parallel()
	q, err := sync.OpenQueue(synctest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Ping(ctx); err != nil {
		t.Fatalf("Ping against the test Redis: %v", err)
	}
}

func TestQueuePingFailsWhenNothingListens(t *testing.T) {
	t.Parallel()
	synctest.RedisURL(t) // same environment as the other Redis tests
	q, err := sync.OpenQueue("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = q.Ping(ctx)
	if err == nil {
		t.Fatal("Ping succeeded with nothing listening on port 1")
	}
	// A refused connection is an answer: Ping must report it, not wait for
	// its deadline.
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ping waited for its deadline instead of reporting the refused connection: %v", err)
	}
}

func TestQueuePingGivesUpWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	// 192.0.2.0/24 is TEST-NET-1: nothing answers there, so a dial hangs
	// until someone gives up.
	q, err := sync.OpenQueue("redis://192.0.2.1:6379/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded on a cancelled context")
	}
}

func TestOpenQueueKeepsPasswordsOutOfErrors(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://:s3cret@127.0.0.1:notaport/0",
		"http://:s3cret@127.0.0.1:6379/0",
		"redis://:s3cret@127.0.0.1:6379/zero",
	} {
		_, err := sync.OpenQueue(u)
		if err == nil {
			t.Errorf("OpenQueue(%q) accepted a bad URL", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("OpenQueue error shows the password: %v", err)
		}
	}
}
