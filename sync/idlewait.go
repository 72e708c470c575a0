package sync

import (
	"context"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// asynq's workers do not block on Redis: an idle one asks again every
// TaskCheckInterval (10 ms, so that a booking after a quiet spell is not
// held up to 1.5 s) — two hundred dequeues a second for a worker process
// with nothing to do. The idle wait holds an idle worker's dequeue back
// instead, until a task is put in its queue or WorkerIdleWait passes, and
// lets it through at once while there is work: TaskCheckInterval still
// paces a busy worker.
//
// A task put in a queue — enqueued (the relay, the sweeper, the
// scheduler's polls, a resync), or a retry or delayed task asynq moves in —
// wakes the queue's idle workers of this process at once; when this process
// runs none, or all of its are busy, it is told on Redis (a PUBLISH on
// wakeChannel) to the worker processes of the queue, which subscribe.
//
// It sits on the process's Redis client as a go-redis hook and knows asynq's
// scripts by their keys: a dequeue's are asynq:{QUEUE}:pending, …,
// asynq:{QUEUE}:lease; a script that touches asynq:{QUEUE}:pending and does
// not answer 0 may have put a task there. Were a new asynq to name them
// otherwise, no dequeue would be held back and the workers would poll as
// before (TestAnIdleWorkerWaitsAndABookingWakesIt says so).

// wakeChannel is the Redis channel on which a queue's worker processes are
// told that a task was put in it.
func wakeChannel(queue string) string { return "keyrack:wake:" + queue }

// wakeHook is a Queue's go-redis hook (one per process and Redis client).
type wakeHook struct {
	rc  redis.UniversalClient
	mu  gosync.Mutex
	dqs map[string]*idleWait // by pending key: the queues this process's worker serves
	// publish is which queues' workers to tell, at once, on Redis.
	publishMu  gosync.Mutex
	publishDue map[string]bool
	publishing bool
}

func newWakeHook(rc redis.UniversalClient) *wakeHook {
	return &wakeHook{rc: rc, dqs: map[string]*idleWait{}, publishDue: map[string]bool{}}
}

// idleWait holds back the dequeues of one asynq queue while it is idle.
type idleWait struct {
	queue       string
	max         time.Duration
	done        <-chan struct{} // the worker stops: no more waiting
	concurrency int64
	woken       signal
	armed       atomic.Pointer[<-chan struct{}] // the wake-up taken before the last dequeue
	empty       atomic.Bool                     // the last dequeue found no task
	active      atomic.Int64                    // tasks taken and not finished
	waits       atomic.Int64                    // dequeues held back (tests)
}

func pendingKey(queue string) string { return "asynq:{" + queue + "}:pending" }

// serve registers a worker's queue: its dequeues wait while it is idle,
// for at most max, until done is closed. The returned stop unregisters it.
func (h *wakeHook) serve(queue string, concurrency int, max time.Duration, done <-chan struct{}) (*idleWait, func()) {
	w := &idleWait{queue: queue, max: max, done: done, concurrency: int64(concurrency)}
	h.mu.Lock()
	h.dqs[pendingKey(queue)] = w
	h.mu.Unlock()
	return w, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.dqs[pendingKey(queue)] == w {
			delete(h.dqs, pendingKey(queue))
		}
		w.woken.Wake()
	}
}

func (h *wakeHook) queue(pending string) *idleWait {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dqs[pending]
}

func (*wakeHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (*wakeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *wakeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		keys := scriptKeys(cmd)
		if keys == nil {
			return next(ctx, cmd)
		}
		if len(keys) == 4 && strings.HasSuffix(keys[0], "}:pending") && strings.HasSuffix(keys[3], "}:lease") {
			if w := h.queue(keys[0]); w != nil {
				return w.dequeue(ctx, cmd, next)
			}
			return next(ctx, cmd)
		}
		err := next(ctx, cmd)
		if err != nil || !added(cmd) {
			return err
		}
		for _, k := range keys {
			if queue, ok := strings.CutSuffix(k, "}:pending"); ok && strings.HasPrefix(queue, "asynq:{") {
				h.added(strings.TrimPrefix(queue, "asynq:{"))
			}
		}
		return nil
	}
}

// dequeue runs one of asynq's dequeues, first waiting while the queue is
// idle: its last dequeue found nothing and no task came since.
func (w *idleWait) dequeue(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
	if armed := w.armed.Load(); armed != nil && w.empty.Load() {
		w.waits.Add(1)
		t := time.NewTimer(w.max)
		select {
		case <-*armed:
		case <-t.C:
		case <-w.done:
		}
		t.Stop()
	}
	wake := w.woken.C() // before Redis is asked: a task put in after it wakes the next wait
	w.armed.Store(&wake)
	err := next(ctx, cmd)
	w.empty.Store(err == redis.Nil) // a failure: asynq's own pace, as before
	if err == nil {
		w.active.Add(1) // a task; the middleware counts it finished
	}
	return err
}

// added wakes the idle workers of queue in this process, or, when it runs
// none or all of them are busy, tells the other processes'.
func (h *wakeHook) added(queue string) {
	if w := h.queue(pendingKey(queue)); w != nil {
		w.woken.Wake()
		if w.active.Load() < w.concurrency {
			return
		}
	}
	h.publishMu.Lock()
	defer h.publishMu.Unlock()
	h.publishDue[queue] = true
	if !h.publishing {
		h.publishing = true
		go h.publish()
	}
}

// publish tells the worker processes of the queues due, until none is.
func (h *wakeHook) publish() {
	for {
		h.publishMu.Lock()
		due := h.publishDue
		if len(due) == 0 {
			h.publishing = false
			h.publishMu.Unlock()
			return
		}
		h.publishDue = map[string]bool{}
		h.publishMu.Unlock()
		for queue := range due {
			ctx, cancel := context.WithTimeout(context.Background(), enqueueTimeout)
			_ = h.rc.Publish(ctx, wakeChannel(queue), "").Err() // lost: WorkerIdleWait bounds it
			cancel()
		}
	}
}

// finished is the asynq middleware that counts a queue's tasks finished.
func (h *wakeHook) finished(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		if queue, ok := asynq.GetQueueName(ctx); ok {
			if w := h.queue(pendingKey(queue)); w != nil {
				defer w.active.Add(-1)
			}
		}
		return next.ProcessTask(ctx, t)
	})
}

// listen wakes the idle workers of queues when another process tells it
// put a task in one, until ctx ends. go-redis subscribes again after a
// lost connection; what was told meanwhile waits WorkerIdleWait at most.
func (h *wakeHook) listen(ctx context.Context, queues []*idleWait) {
	channels := make([]string, len(queues))
	byChannel := map[string]*idleWait{}
	for i, w := range queues {
		channels[i] = wakeChannel(w.queue)
		byChannel[channels[i]] = w
	}
	ps := h.rc.Subscribe(ctx, channels...)
	defer ps.Close()
	msgs := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			if w := byChannel[m.Channel]; w != nil {
				w.woken.Wake()
			}
		}
	}
}

// scriptKeys returns the keys of an EVAL or EVALSHA (how asynq runs its
// scripts), nil for any other command.
func scriptKeys(cmd redis.Cmder) []string {
	args := cmd.Args()
	if len(args) < 3 {
		return nil
	}
	if name, _ := args[0].(string); !strings.EqualFold(name, "evalsha") && !strings.EqualFold(name, "eval") {
		return nil
	}
	n, ok := args[2].(int)
	if !ok || n <= 0 || len(args) < 3+n {
		return nil
	}
	keys := make([]string, n)
	for i := range keys {
		if keys[i], ok = args[3+i].(string); !ok {
			return nil
		}
	}
	return keys
}

// added says whether a script touching a queue's pending list may have
// put a task in it: asynq's scripts answer 0 when they did nothing (a task
// id already taken, no retry due).
func added(cmd redis.Cmder) bool {
	c, ok := cmd.(*redis.Cmd)
	if !ok {
		return true
	}
	n, ok := c.Val().(int64)
	return !ok || n != 0
}
