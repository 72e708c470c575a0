package sync

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"github.com/keyrack/keyrack/connectors"
)

// errBusy is a delivery that could not start because another delivery to
// the same channel and property held on for longer than LockWait.
var errBusy = errors.New("another delivery to this channel is still running")

// backoff is the wait before retry n (0-based): base doubling per retry up
// to ceiling, with "equal jitter" — half fixed, half random — so that the
// retries of many channels that failed together spread out.
func backoff(n int, base, ceiling time.Duration) time.Duration {
	d := ceiling
	if n < 32 {
		if b := base << n; b > 0 && b < ceiling {
			d = b
		}
	}
	return d/2 + rand.N(d/2+1)
}

// retryDelay is asynq's RetryDelayFunc: what the channel asked for when it
// said (Retry-After) — or, for a webhook waiting for an older revision of
// its reservation, the wait that follows that one's retries (sendWebhook) —,
// else the backoff.
func (f *Fanout) retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if d := connectors.RetryAfterOf(err); d > 0 {
		return min(d, f.cfg.RetryMax)
	}
	return backoff(n, f.cfg.RetryBase, f.cfg.RetryMax)
}

// isFailure is asynq's IsFailure: a channel asking us to slow down and a
// delivery waiting its turn are not failures, so they do not spend the
// retry budget (asynq then keeps the retry count as it was); nor is a
// webhook waiting for an older revision of its reservation.
func isFailure(err error) bool {
	return !errors.Is(err, errBusy) && !errors.Is(err, errOlderFirst) && connectors.KindOf(err) != connectors.KindRateLimited
}
