package sync

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
)

// Hooks for the tests of package sync_test.

// DeliverNow runs a delivery to a channel of a property in the caller's
// goroutine, as a duplicate of the task asynq might hand out to a bulk
// worker: every mark, a resync's included.
func (f *Fanout) DeliverNow(ctx context.Context, property, channel int64) error {
	return f.deliver(ctx, taskPayload{pair: pair{property, channel}}, classBulk, false)
}

// RecordAck records that a channel acknowledged value on a pool-night read
// at version, as a delivery does.
func (f *Fanout) RecordAck(ctx context.Context, property, channel, pool int64, night inventory.Date, value int, version int64) error {
	return recordAcks(ctx, f.db, pair{property, channel}, ackRows{[]int64{pool}, []inventory.Date{night}, []int{value}, []int64{version}})
}

// Sweep runs one sweep.
func (f *Fanout) Sweep(ctx context.Context) error { return f.sweep(ctx) }

// DeliveryLogTrimEvery is how often, in log ids, the delivery log is trimmed.
const DeliveryLogTrimEvery = deliveryLogTrimEvery

// DeliverWithPause runs a delivery as a bulk worker does, calling between
// once it has read the channel and its marks and before it acts on them.
func (f *Fanout) DeliverWithPause(ctx context.Context, property, channel int64, between func()) error {
	return f.claimed(ctx, taskPayload{pair: pair{property, channel}}, classBulk, func(d *delivery) error {
		between()
		return d.run(ctx, false)
	})
}

// PurgeRelayed runs the scheduler's purge of relayed outbox rows.
func (f *Fanout) PurgeRelayed(ctx context.Context) error { return f.purgeRelayed(ctx) }

// RunDue runs the elected scheduler's periodic work once.
func (f *Fanout) RunDue(ctx context.Context) error {
	return f.runDue(ctx, func(ctx context.Context, work func(context.Context) error) error { return work(ctx) })
}

// MarkQueued records in tx, as the relay does once it has marked channels
// dirty, that the pairs need a task, and returns the pairs it woke.
func MarkQueued(ctx context.Context, tx pgx.Tx, property int64, channels []int64) (int, error) {
	classes := make([]string, len(channels))
	for i := range classes {
		classes[i] = classCritical
	}
	w, err := markQueued(ctx, tx, property, channels, classes)
	return len(w), err
}

// MaintainEvenWithAutovacuum makes the scheduler maintain the tables whether
// or not the server runs autovacuum; call it before RunScheduler.
func (f *Fanout) MaintainEvenWithAutovacuum() { f.maintainAlways = true }

// AckRowsScanned runs a delivery's read of its work (a bulk delivery's, or
// a booking's) on conn, in a transaction of its own, and returns the rows
// of sync_acks that sequential scans on conn read and PostgreSQL has not
// yet counted in pg_stat_user_tables — this read's, and any earlier on conn
// since the backend last reported.
func AckRowsScanned(ctx context.Context, conn *pgxpool.Conn, property, channel int64, bulk bool) (int64, error) {
	d := &delivery{task: taskPayload{pair: pair{property, channel}}, class: classFor(!bulk)}
	var scanned int64
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	d.queueLoad(b).Query(func(rows pgx.Rows) error {
		_, err := readWork(rows)
		return err
	})
	b.Queue(`SELECT pg_stat_get_xact_tuples_returned('sync_acks'::regclass)`).QueryRow(func(r pgx.Row) error { return r.Scan(&scanned) })
	b.Queue("COMMIT")
	return scanned, conn.SendBatch(ctx, b).Close()
}

// RelayNow runs one round of the availability relay.
func (f *Fanout) RelayNow(ctx context.Context) (int, error) { return f.relayAvailability(ctx) }

// DeliverLastAttempt runs a booking's delivery as asynq's last allowed
// attempt (retried == max retry), and reports whether asynq counts its
// error as a failure — and so archives the task.
func (f *Fanout) DeliverLastAttempt(ctx context.Context, property, channel int64) (err error, archives bool) {
	err = f.deliver(ctx, taskPayload{pair: pair{property, channel}}, classCritical, true)
	return err, err != nil && isFailure(err)
}

// DeadLettersKept counts the archived delivery tasks asynq keeps, listed by
// Archived or not.
func (f *Fanout) DeadLettersKept() (int, error) {
	n := 0
	err := f.eachArchived(func(string, *asynq.TaskInfo, taskPayload) { n++ })
	return n, err
}

// RelayReservationsOf runs the reservation relay of one property once.
func (f *Fanout) RelayReservationsOf(ctx context.Context, property int64) (int, error) {
	return f.relayReservations(ctx, property)
}

// SendWebhookNow runs one attempt of the webhook of a feed entry.
func (f *Fanout) SendWebhookNow(ctx context.Context, property, feed int64) error {
	return f.sendWebhook(ctx, webhookPayload{Property: property, Feed: feed}, false)
}

// FeedLockSQL locks, for the calling transaction, property $1's
// reservation relay, as a relay at work holds it.
var FeedLockSQL = `SELECT pg_advisory_xact_lock(` + feedLock("$1") + `)`

// PauseLeader makes the scheduler call pause before each piece of its loop
// while it leads — a round, each piece of its work — as a process stopped
// there would; call it before RunScheduler.
func (f *Fanout) PauseLeader(pause func()) { f.leaderPause = pause }

// SlowLeader makes each piece of the leader's round run work first, with
// the piece's ctx, as a piece busy with long work (or stuck: a statement
// waiting on a lock ends with its ctx) would, and beats for one piece for at
// most pieceMax; call it before RunScheduler.
func (f *Fanout) SlowLeader(work func(context.Context), pieceMax time.Duration) {
	f.slowPiece, f.pieceMax = work, pieceMax
}

// PullsQueued counts the polls waiting in f's queue for a worker.
func (f *Fanout) PullsQueued() (int, error) {
	tasks, err := f.inspector.ListPendingTasks(f.queueName(classCritical), asynq.PageSize(1000))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return 0, nil
	}
	n := 0
	for _, t := range tasks {
		if t.Type == taskPull {
			n++
		}
	}
	return n, err
}

// IdleWaits is how many dequeues of the running worker's queues the idle
// wait has held back.
func (f *Fanout) IdleWaits() int64 {
	var n int64
	if q := f.idle.Load(); q != nil {
		for _, w := range *q {
			n += w.waits.Load()
		}
	}
	return n
}

// RelaysIdle says whether both relay loops wait for a wake-up, looking only
// every RelayIdleInterval.
func (f *Fanout) RelaysIdle() bool { return f.relaysIdle.Load() == 2 }

// RelayOwnSQL is the relay's statement marking the acknowledgements of the
// nights a relayed row's origin changed itself.
const RelayOwnSQL = relayOwnSQL
