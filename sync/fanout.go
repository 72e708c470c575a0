package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/ical"
	"github.com/keyrack/keyrack/connectors/pms"
	"github.com/keyrack/keyrack/inventory"
)

// How the fan-out works, in short (README "Fan-out" says more):
//
//   - inventory writes an outbox row with every change, in the change's own
//     transaction;
//   - the relay (relay.go) turns outbox rows into dirty marks per channel,
//     pool and night range (sync_dirty) in one transaction — for the
//     channel the change came from, only as an echo — and enqueues one
//     asynq task per channel and property that has no task waiting yet;
//   - a delivery (deliver.go) reads the dirty nights and their *current*
//     values, leaves out what the channel has acknowledged and echoes of its
//     own changes, sends the rest merged into date ranges, records the
//     acknowledgements and clears the marks it delivered if nothing changed
//     meanwhile (compare-and-clear), and goes round again while marks are
//     left;
//   - the sweeper (sweeper.go) re-enqueues what Redis lost or never got;
//   - reservation outbox rows become feed entries for the property's PMS
//     channels, sent by signed webhook and kept on a pull feed until
//     acknowledged (feed.go);
//   - one elected scheduler (scheduler.go) runs the nightly full resync and
//     raises incidents for revisions a PMS has not acknowledged in time.
//
// PostgreSQL holds every piece of state that matters; Redis holds only
// wake-ups, which the sweeper can always recreate.

// Queue classes: booking-driven changes go ahead of bulk work.
const (
	classCritical = "critical"
	classBulk     = "bulk"
)

// taskChannel is the asynq task "bring channel C up to date for property P".
const taskChannel = "sync:channel"

// Config configures the fan-out. DB and Queue are required; zero values
// elsewhere take the defaults documented on each field.
type Config struct {
	// DB is the PostgreSQL pool the fan-out reads the pool from and keeps its
	// own tables in. A delivery holds one connection while it talks to the
	// channel, so give it Concurrency + BulkConcurrency + 4 connections.
	DB    *pgxpool.Pool
	Queue *Queue
	// Connectors deliver per channel kind; channels of a kind without one
	// (a PMS: it gets reservations, by webhook and feed; a calendar
	// platform: it fetches keyrack's iCal export) are not pushed
	// availability, and neither marked nor resynced.
	Connectors connectors.Registry
	// Secrets opens the credentials keyrack presents to channels; without it
	// a channel that has sealed credentials cannot be delivered to.
	Secrets *inventory.Secrets
	Logger  *slog.Logger // slog.Default() when nil

	// QueuePrefix is put before the asynq queue names ("critical", "bulk"),
	// so deployments or tests can share one Redis database.
	QueuePrefix string
	// Concurrency is the number of deliveries of booking-driven changes a
	// worker runs at once (16); BulkConcurrency that of bulk work, on
	// workers of their own (Concurrency/4, at least 1).
	Concurrency, BulkConcurrency int
	// BulkWhileBusy is how many bulk deliveries a worker runs at once while
	// it delivers bookings' changes, and for BulkQuiet after the last one
	// (1 and 1 s): bulk work takes what the bookings leave (bulkgate.go).
	BulkWhileBusy int
	BulkQuiet     time.Duration
	// RelayInterval is how often the relay looks for new outbox rows (20 ms)
	// while there is work, and for RelayQuiet after; RelayIdleInterval how
	// often it looks then (1 s), told of new rows meanwhile by the Store
	// that commits them (inventory.OutboxChannel).
	RelayInterval, RelayIdleInterval time.Duration
	// RelayBatch is the most outbox rows the relay takes in one transaction (1000).
	RelayBatch int
	// OutboxKeep is how long outbox rows are kept once relayed (1 h); the
	// elected scheduler deletes them after that.
	OutboxKeep time.Duration
	// MessagesKeep is how long the channels' inbound messages are kept (30
	// days, inventory.DefaultMessagesKeep); the elected scheduler deletes
	// them after that, and Idempotency-Keys after inventory.IdempotencyKeep.
	MessagesKeep time.Duration
	// GuestDataKeep is how long guests' personal data is kept once their
	// stay ended or their booking was cancelled (KEYRACK_GUEST_DATA_KEEP);
	// the elected scheduler erases it after that, every
	// GuestDataInterval (inventory.EraseExpiredGuestData), and keeps
	// inbound messages no longer than that either. 0 keeps it (the
	// default).
	GuestDataKeep time.Duration
	// TaskCheckInterval is how long a worker sleeps when a look at its
	// queue found nothing (10 ms; asynq's own default of 1 s would add up
	// to 1.5 s of lag after a quiet spell). Its next look then waits
	// until a task is put in the queue, or WorkerIdleWait (1 s) passes
	// (idlewait.go).
	TaskCheckInterval, WorkerIdleWait time.Duration
	// DelayedTaskCheckInterval is how often retries and delayed tasks are
	// moved to their queue (250 ms; asynq's default is 5 s).
	DelayedTaskCheckInterval time.Duration
	// SweepInterval is how often the sweeper looks for channels whose task
	// Redis lost or whose delivery died (1 s).
	SweepInterval time.Duration
	// StaleAfter is how long a task may wait before the sweeper checks that
	// Redis really has it (5 s).
	StaleAfter time.Duration
	// MaxRetry is the retry budget of a delivery task that makes no
	// progress; after it the task is archived (15, about an hour with the
	// default backoff).
	MaxRetry int
	// RetryBase and RetryMax bound the exponential backoff between retries
	// (500 ms doubling up to 10 min, with jitter).
	RetryBase, RetryMax time.Duration
	// PushTimeout bounds one request to a channel (30 s).
	PushTimeout time.Duration
	// LockWait is how long a delivery waits for another delivery to the
	// same channel and property to finish (2 min).
	LockWait time.Duration
	// MaxRun is how long one task keeps delivering to a channel that keeps
	// changing before it hands over to a fresh task (20 s).
	MaxRun time.Duration
	// ScheduleInterval is how often the elected scheduler looks for due
	// work (1 min); ElectionInterval how often the others try to take over,
	// and a worker checks that its Redis answers (5 s).
	ScheduleInterval, ElectionInterval time.Duration
	// StepDownAfter is how long a leader whose polls of pull-mode channels
	// cannot be enqueued (its Redis does not answer) keeps the lead while a
	// scheduler that reaches Redis stands by, and how long a worker's Redis
	// may not answer before it says so in PostgreSQL (30 s).
	StepDownAfter time.Duration
	// TakeOverAfter is how long the leading scheduler may give no sign of
	// life on the session that holds the lead — its process stopped or
	// hung, the session open — before a scheduler that does not lead ends
	// that session and takes the lead (3 min; scheduler.go).
	TakeOverAfter time.Duration
	// ProgressInterval is how often every keyrack process checks that its
	// database has not gone back in time and records how far it has come
	// (1 min; progress.go).
	ProgressInterval time.Duration
	// MaintainInterval is how often the elected scheduler analyzes and
	// vacuums the tables that need it when the server runs without
	// autovacuum (10 s; inventory.MaintainTables).
	MaintainInterval time.Duration
	// EchoWindow is how long a channel may take to tell keyrack of a booking
	// it took (5 s). A change is not echoed back to the channel it came
	// from — unless a delivery to that channel was acknowledged within this
	// window before the change reached keyrack: it may have landed after the
	// channel sold and overwritten the channel's own count, so the channel
	// is sent the pool's value after all.
	EchoWindow time.Duration
	// RateWindow is the period channels.rate_limit counts requests over (1 min).
	RateWindow time.Duration
	// ResyncAt is the property-local time of day after which each channel
	// gets its nightly full resync, "HH:MM" ("03:00"); "off" disables it.
	ResyncAt string
	// FeedAckTimeout is how long a PMS channel may leave a reservation
	// revision unacknowledged before an incident is raised (30 min).
	FeedAckTimeout time.Duration
	// Store applies the reservations polled from ota_pull channels (pull.go)
	// and the calendars fetched from iCal feeds (ical.go); without it
	// neither is polled.
	Store *inventory.Store
	// PullCheckInterval is how often the elected scheduler looks for
	// ota_pull channels due to be polled (1 s).
	PullCheckInterval time.Duration
	// ICalCheckInterval is how often each worker looks for iCal feeds due
	// to be polled (2 s), which is also how soon "sync now" is served;
	// ICalConcurrency how many feeds a worker fetches at once (4).
	ICalCheckInterval time.Duration
	ICalConcurrency   int
	// ICalStaleAfter is how long a feed may go without a good fetch before
	// it is flagged stale (2 h).
	ICalStaleAfter time.Duration
	// PullStaleAfter is how long keyrack's polls of a pull-mode channel may
	// get nothing from it (and at least two of its poll intervals) before a
	// stale-pull incident is raised (10 min).
	PullStaleAfter time.Duration
	// PullAllowPrivate lets pull URLs reach loopback, private and
	// link-local addresses (KEYRACK_PULL_ALLOW_PRIVATE): refused by
	// default, since whoever sets a channel's pull URL chooses where keyrack
	// connects, and reads the answer back as the channel's message.
	PullAllowPrivate bool
	// ICalExportStaleAfter is how long an export calendar may go without a
	// platform fetching it before it is flagged stale (24 h: platforms are
	// said to poll every 1–12 hours, some up to a day).
	ICalExportStaleAfter time.Duration
	// ICalFetcher fetches the feeds; one refusing private addresses, with
	// its default limits, when nil.
	ICalFetcher *ical.Fetcher
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if c.BulkConcurrency <= 0 {
		c.BulkConcurrency = max(1, c.Concurrency/4)
	}
	if c.BulkWhileBusy <= 0 {
		c.BulkWhileBusy = 1
	}
	if c.RelayBatch <= 0 {
		c.RelayBatch = 1000
	}
	if c.MaxRetry <= 0 {
		c.MaxRetry = 15
	}
	if c.ResyncAt == "" {
		c.ResyncAt = "03:00"
	}
	def(&c.RelayInterval, 20*time.Millisecond)
	def(&c.RelayIdleInterval, time.Second)
	c.RelayIdleInterval = max(c.RelayIdleInterval, c.RelayInterval)
	def(&c.BulkQuiet, time.Second)
	def(&c.OutboxKeep, time.Hour)
	def(&c.MessagesKeep, inventory.DefaultMessagesKeep)
	def(&c.TaskCheckInterval, 10*time.Millisecond)
	def(&c.DelayedTaskCheckInterval, 250*time.Millisecond)
	def(&c.WorkerIdleWait, time.Second)
	def(&c.SweepInterval, time.Second)
	def(&c.StaleAfter, 5*time.Second)
	def(&c.RetryBase, 500*time.Millisecond)
	def(&c.RetryMax, 10*time.Minute)
	def(&c.PushTimeout, 30*time.Second)
	def(&c.LockWait, 2*time.Minute)
	def(&c.MaxRun, 20*time.Second)
	def(&c.RateWindow, time.Minute)
	def(&c.EchoWindow, 5*time.Second)
	def(&c.ScheduleInterval, time.Minute)
	def(&c.ElectionInterval, 5*time.Second)
	def(&c.StepDownAfter, 30*time.Second)
	def(&c.TakeOverAfter, 3*time.Minute)
	// The leader beats at least every ElectionInterval while it waits.
	c.TakeOverAfter = max(c.TakeOverAfter, 3*c.ElectionInterval)
	def(&c.MaintainInterval, 10*time.Second)
	def(&c.ProgressInterval, time.Minute)
	def(&c.FeedAckTimeout, 30*time.Minute)
	def(&c.PullCheckInterval, time.Second)
	def(&c.ICalCheckInterval, 2*time.Second)
	def(&c.ICalStaleAfter, 2*time.Hour)
	def(&c.ICalExportStaleAfter, 24*time.Hour)
	def(&c.PullStaleAfter, 10*time.Minute)
	if c.ICalConcurrency <= 0 {
		c.ICalConcurrency = 4
	}
	if c.ICalFetcher == nil {
		c.ICalFetcher = &ical.Fetcher{}
	}
}

// Fanout brings every channel up to date with the pool. Its roles run
// separately (RunWorker, RunScheduler) so they can live in different
// processes against the same PostgreSQL and Redis; its other methods
// (Resync, Status, Archived, RetryArchived) can be called from any process.
type Fanout struct {
	cfg       Config
	db        *pgxpool.Pool
	client    *asynq.Client
	inspector *asynq.Inspector
	log       *slog.Logger
	resyncAt  time.Duration // since local midnight; < 0 when off
	webhooks  *pms.Sender
	bulkGate  *bulkGate
	hostGate  *hostGate
	pushed    []string // pushedKinds of the connectors
	// maintainAlways: maintain the tables even when the server runs
	// autovacuum (tests, which may run on either kind of server).
	maintainAlways bool
	// lostDeadLettersAt is when the sweeper (one goroutine) last read the
	// archive looking for lost dead letters (sweepLostDeadLetters).
	lostDeadLettersAt time.Time
	// webhookProbeAt is when the sweeper last looked for PMS channels to
	// probe with a failed webhook (probeFailedWebhooks).
	webhookProbeAt time.Time
	// guestDataAt is when the scheduler (one goroutine) last erased the
	// guest data kept past GuestDataKeep.
	guestDataAt time.Time
	// pastAcksAt is when the scheduler (one goroutine) last deleted the
	// acknowledgements of nights long past (purgePastAcks).
	pastAcksAt time.Time

	leader atomic.Bool
	idle   atomic.Pointer[[]*idleWait] // the running worker's queues (idlewait.go)
	// relaysIdle counts the relay loops waiting a RelayIdleInterval (tests).
	relaysIdle atomic.Int32
	redisDown  atomic.Bool // for logging the outage once, not every attempt
	// pullsFailingSince is when the leader's polls of pull-mode channels
	// began failing to enqueue because Redis did not answer (unix
	// nanoseconds; 0 while they do not): see stepDown.
	pullsFailingSince atomic.Int64
	// candidacy is the scheduler's session that, while this process does
	// not lead and its Redis answers, says it could (scheduler.go).
	candidacy sessionLock
	// redisOut is the worker's session that says its Redis has not
	// answered for StepDownAfter (redisreport.go).
	redisOut sessionLock
	// takeOverFailed: ending a silent leader's session failed, and was
	// logged (once until it works again).
	takeOverFailed bool
	// leaderPause, when set (tests), is called before each piece of the
	// leader's loop: a round, and each piece of its work.
	leaderPause func()
	// slowPiece, when set (tests), runs at the start of each piece of the
	// leader's round, as part of it, with its ctx.
	slowPiece func(context.Context)
	// pieceMax is how long the leader beats for one piece of its round
	// (SchedulerStuck): past it, the piece is taken for stuck.
	pieceMax time.Duration
}

// New prepares the fan-out; nothing runs until RunWorker or RunScheduler.
func New(cfg Config) (*Fanout, error) {
	if cfg.DB == nil || cfg.Queue == nil {
		return nil, errors.New("sync: Config.DB and Config.Queue are required")
	}
	cfg.setDefaults()
	at, err := parseTimeOfDay(cfg.ResyncAt)
	if err != nil {
		return nil, err
	}
	return &Fanout{
		cfg:       cfg,
		db:        cfg.DB,
		client:    asynq.NewClientFromRedisClient(cfg.Queue.redis),
		inspector: asynq.NewInspectorFromRedisClient(cfg.Queue.redis),
		log:       cfg.Logger.With("component", "sync"),
		resyncAt:  at,
		webhooks:  &pms.Sender{Client: webhookClient(cfg.PushTimeout)},
		bulkGate:  newBulkGate(cfg.BulkWhileBusy, cfg.BulkQuiet),
		hostGate:  newHostGate(cfg.Concurrency, cfg.BulkConcurrency),
		pushed:    pushedKinds(cfg.Connectors),
		candidacy: sessionLock{key: candidacyLockSQL},
		redisOut:  sessionLock{key: redisOutLockSQL},
		pieceMax:  SchedulerStuck,
	}, nil
}

// parseTimeOfDay reads "HH:MM"; "off" is -1.
func parseTimeOfDay(s string) (time.Duration, error) {
	if strings.EqualFold(s, "off") {
		return -1, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("sync: resync time %q: want HH:MM or off", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Pushes says whether channels of a kind are pushed availability: a
// connector delivers to them.
func (f *Fanout) Pushes(kind inventory.ChannelKind) bool { return f.cfg.Connectors.Lookup(kind) != nil }

// pushedKinds are the kinds of channel pushed availability, for SQL.
func pushedKinds(r connectors.Registry) []string {
	kinds := make([]string, 0, len(r))
	for k, c := range r {
		if c != nil {
			kinds = append(kinds, string(k))
		}
	}
	slices.Sort(kinds)
	return kinds
}

// queueName is the asynq queue of a class.
func (f *Fanout) queueName(class string) string { return f.cfg.QueuePrefix + class }

// classOf is the class of an asynq queue name.
func (f *Fanout) classOf(queue string) string {
	if strings.TrimPrefix(queue, f.cfg.QueuePrefix) == classBulk {
		return classBulk
	}
	return classCritical
}

// pair is one channel of one property: the unit of delivery.
type pair struct {
	Property int64 `json:"property_id"`
	Channel  int64 `json:"channel_id"`
}

// taskPayload is a delivery task's payload.
type taskPayload struct {
	pair
	Gen int64 `json:"gen"`
}

// taskID names generation gen of a pair's delivery task.
func taskID(p pair, gen int64) string {
	return fmt.Sprintf("channel:%d:%d:%d", p.Property, p.Channel, gen)
}

// enqueueTimeout bounds one enqueue, so a Redis that hangs cannot hold the
// relay: the marks are in PostgreSQL and the sweeper enqueues them later.
const enqueueTimeout = 2 * time.Second

// enqueue asks for generation gen of p's delivery task in class's queue,
// after delay. A task with that id already in Redis is success: it is the
// same wake-up.
func (f *Fanout) enqueue(ctx context.Context, p pair, class string, gen int64, delay time.Duration) error {
	payload, err := json.Marshal(taskPayload{pair: p, Gen: gen})
	if err != nil {
		return err
	}
	opts := []asynq.Option{
		asynq.Queue(f.queueName(class)),
		asynq.TaskID(taskID(p, gen)),
		asynq.MaxRetry(f.cfg.MaxRetry),
		// Beyond MaxRun and one push, a task is stuck; asynq then cancels
		// its context and retries it.
		asynq.Timeout(f.cfg.MaxRun + f.cfg.PushTimeout + f.cfg.LockWait + time.Minute),
	}
	if delay > 0 {
		opts = append(opts, asynq.ProcessIn(delay))
	}
	ctx, cancel := context.WithTimeout(ctx, enqueueTimeout)
	defer cancel()
	_, err = f.client.EnqueueContext(ctx, asynq.NewTask(taskChannel, payload), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		err = nil
	}
	f.noteRedis(err)
	return err
}

// noteRedis logs when Redis stops or starts answering, once per change.
func (f *Fanout) noteRedis(err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		if !f.redisDown.Swap(true) {
			f.log.Warn("Redis does not answer: changes wait in PostgreSQL and go out when it is back", "err", err)
		}
		return
	}
	if err == nil && f.redisDown.Swap(false) {
		f.log.Info("Redis answers again: catching up")
	}
}

// IsLeader reports whether this process is the elected scheduler.
func (f *Fanout) IsLeader() bool { return f.leader.Load() }

// RunWorker runs the worker role until ctx ends: the outbox relay, the
// sweeper, and the asynq servers that deliver to channels. It returns nil
// after a graceful stop.
//
// Bookings and bulk work (resyncs, large staff edits) have separate queues
// served by separate workers: Concurrency for the critical queue and
// BulkConcurrency for the bulk one. Weighted queues sharing workers would
// still let a long resync occupy every worker when a close-out arrives;
// dedicated workers mean bulk work can never hold a booking back.
func (f *Fanout) RunWorker(ctx context.Context) error {
	mux := asynq.NewServeMux()
	mux.HandleFunc(taskChannel, f.handleChannelTask)
	mux.HandleFunc(taskWebhook, f.handleWebhookTask)
	mux.HandleFunc(taskPull, f.handlePullTask)
	mux.Use(f.cfg.Queue.wake.finished)
	var servers []*asynq.Server
	var idle []*idleWait
	defer func() {
		// Together: each waits up to its ShutdownTimeout for the tasks in
		// flight, and one after the other a stop could take 30 s with the
		// HTTP server's 10 — all of Kubernetes' default grace period.
		var wg gosync.WaitGroup
		for _, srv := range servers {
			wg.Go(srv.Shutdown)
		}
		wg.Wait()
	}()
	for _, q := range []struct {
		class       string
		concurrency int
	}{{classCritical, f.cfg.Concurrency}, {classBulk, f.cfg.BulkConcurrency}} {
		w, stop := f.cfg.Queue.wake.serve(f.queueName(q.class), q.concurrency, f.cfg.WorkerIdleWait, ctx.Done())
		defer stop()
		idle = append(idle, w)
		srv := asynq.NewServerFromRedisClient(f.cfg.Queue.redis, asynq.Config{
			Concurrency:              q.concurrency,
			Queues:                   map[string]int{f.queueName(q.class): 1},
			TaskCheckInterval:        f.cfg.TaskCheckInterval,
			DelayedTaskCheckInterval: f.cfg.DelayedTaskCheckInterval,
			RetryDelayFunc:           f.retryDelay,
			IsFailure:                isFailure,
			Logger:                   newAsynqLogger(f.log),
			LogLevel:                 asynq.WarnLevel,
			ShutdownTimeout:          10 * time.Second,
		})
		if err := srv.Start(mux); err != nil {
			return fmt.Errorf("sync: start the %s worker: %w", q.class, err)
		}
		servers = append(servers, srv)
	}
	var wg gosync.WaitGroup
	f.idle.Store(&idle)
	wg.Go(func() { f.cfg.Queue.wake.listen(ctx, idle) })
	wg.Go(func() { f.runRelay(ctx) })
	wg.Go(func() { f.runSweeper(ctx) })
	wg.Go(func() { f.runICalImport(ctx) })
	wg.Go(func() { f.reportRedis(ctx) })
	<-ctx.Done()
	wg.Wait()
	return nil
}

// webhookClient is the PMS webhooks' client: connectors.EndpointClient,
// each request bounded by timeout.
func webhookClient(timeout time.Duration) *http.Client {
	c := connectors.EndpointClient()
	c.Timeout = timeout
	return c
}
