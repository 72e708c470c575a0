package sync

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
)

// ArchivedTask is a delivery that ran out of retries (or failed for good).
// asynq keeps at most 10,000 archived tasks per queue for 90 days; the
// channel's marks stay in PostgreSQL either way.
type ArchivedTask struct {
	Queue        string    `json:"queue"`
	ID           string    `json:"id"`
	Property     string    `json:"property"`
	Channel      string    `json:"channel"`
	LastError    string    `json:"last_error"`
	LastFailedAt time.Time `json:"last_failed_at"`
	Retried      int       `json:"retried"`
}

// Archived lists the dead letters: for each channel whose last delivery ran
// out of retries (sync_channels.archived, what the channels' status and
// the dead-lettered metric count), the archived task that retries it,
// newest failure first. An archived task of a channel that a later delivery
// has brought up to date, or that a later task is retrying, is not listed:
// nothing is left for staff to retry (the delivery log keeps the outage);
// nor is one of a channel deleted since. A pair with no state at all is
// listed: only a recorded state says its failure is over. Tasks are
// wake-ups that deliver whatever the pair's marks hold, so of a pair's
// archived tasks only the newest is listed.
func (f *Fanout) Archived(ctx context.Context) ([]ArchivedTask, error) {
	newest := map[pair]ArchivedTask{}
	gens := map[pair]int64{}
	err := f.eachArchived(func(queue string, ti *asynq.TaskInfo, p taskPayload) {
		if g, ok := gens[p.pair]; ok && g >= p.Gen {
			return
		}
		gens[p.pair] = p.Gen
		newest[p.pair] = ArchivedTask{Queue: queue, ID: ti.ID, LastError: ti.LastErr, LastFailedAt: ti.LastFailedAt, Retried: ti.Retried}
	})
	if err != nil || len(newest) == 0 {
		return nil, err
	}
	var props, chans []int64
	for p := range newest {
		props, chans = append(props, p.Property), append(chans, p.Channel)
	}
	rows, _ := f.db.Query(ctx, `
		SELECT k.property_id, k.channel_id, p.code, c.code
		FROM unnest($1::bigint[], $2::bigint[]) AS k (property_id, channel_id)
		JOIN channels c ON c.property_id = k.property_id AND c.id = k.channel_id
		JOIN properties p ON p.id = k.property_id
		LEFT JOIN sync_channels s ON s.property_id = k.property_id AND s.channel_id = k.channel_id
		WHERE coalesce(s.archived, true)`, props, chans)
	var out []ArchivedTask
	var p pair
	var property, channel string
	if _, err := pgx.ForEachRow(rows, []any{&p.Property, &p.Channel, &property, &channel}, func() error {
		a := newest[p]
		a.Property, a.Channel = property, channel
		out = append(out, a)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("sync: dead-lettered channels: %w", err)
	}
	slices.SortFunc(out, func(a, b ArchivedTask) int {
		return cmp.Or(b.LastFailedAt.Compare(a.LastFailedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeadLettered reports whether a delivery to one of property's channels
// (a code) ran out of retries and waits for staff: the channels Archived
// lists, read from PostgreSQL alone (sync_channels.archived), cheap enough
// for every page's menu.
func (f *Fanout) DeadLettered(ctx context.Context, property string) (bool, error) {
	var yes bool
	err := f.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sync_channels s
		JOIN properties p ON p.id = s.property_id
		JOIN channels c ON c.property_id = s.property_id AND c.id = s.channel_id
		WHERE p.code = $1 AND s.archived)`, property).Scan(&yes)
	return yes, err
}

// eachArchived calls fn with each archived delivery task of both queues.
func (f *Fanout) eachArchived(fn func(queue string, ti *asynq.TaskInfo, p taskPayload)) error {
	for _, class := range []string{classCritical, classBulk} {
		queue := f.queueName(class)
		for page := 1; ; page++ {
			infos, err := f.inspector.ListArchivedTasks(queue, asynq.PageSize(100), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				break
			}
			if err != nil {
				return fmt.Errorf("sync: list archived tasks: %w", err)
			}
			for _, ti := range infos {
				var p taskPayload
				if ti.Type != taskChannel || json.Unmarshal(ti.Payload, &p) != nil {
					continue
				}
				fn(queue, ti, p)
			}
			if len(infos) < 100 {
				break
			}
		}
	}
	return nil
}

// dropDeadLetters deletes p's archived tasks but the one named keep, as a
// task of p is archived: the new dead letter retries whatever they would
// have (its delivery reads the pair's marks, not its task), and asynq
// would otherwise keep one for every outage of the channel for 90 days.
// Archived lists only the newest anyway; this keeps Redis and asynqmon
// tidy, so it only logs what fails.
func (f *Fanout) dropDeadLetters(p pair, keep string) {
	type task struct{ queue, id string }
	var old []task
	err := f.eachArchived(func(queue string, ti *asynq.TaskInfo, tp taskPayload) {
		if tp.pair == p && ti.ID != keep {
			old = append(old, task{queue, ti.ID})
		}
	})
	for _, t := range old {
		if derr := f.inspector.DeleteTask(t.queue, t.id); derr != nil && !errors.Is(derr, asynq.ErrTaskNotFound) {
			err = errors.Join(err, derr)
		}
	}
	if err != nil {
		f.log.Warn("could not drop a channel's older dead letters", "property_id", p.Property, "channel_id", p.Channel, "err", err)
	}
}

// RetryArchived runs an archived delivery task again now, with a fresh
// retry budget; its queue and id come from Archived. asynq's RunTask would
// run the archived task itself, its retry count spent — one failure would
// archive it again —, so a fresh generation of the pair's task is enqueued
// instead and the archived one deleted.
func (f *Fanout) RetryArchived(ctx context.Context, queue, id string) error {
	ti, err := f.inspector.GetTaskInfo(queue, id)
	if err != nil {
		return fmt.Errorf("sync: archived task %s: %w", id, err)
	}
	var p taskPayload
	if ti.Type != taskChannel || json.Unmarshal(ti.Payload, &p) != nil {
		return fmt.Errorf("sync: task %s is not a delivery", id)
	}
	class := f.classOf(queue)
	if _, err := f.db.Exec(ctx, `INSERT INTO sync_channels (property_id, channel_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		p.Property, p.Channel); err != nil {
		return err
	}
	if _, err := f.enqueueFresh(ctx, p.pair, class, false); err != nil {
		return fmt.Errorf("sync: retry archived task %s: %w", id, err)
	}
	if err := f.inspector.DeleteTask(queue, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		f.log.Warn("could not drop a retried dead letter", "queue", queue, "id", id, "err", err)
	}
	return nil
}

// enqueueFresh records a new generation of the pair's task as the one that
// waits — so the sweeper watches it, and enqueues it again if Redis does not
// take it now — and enqueues it with a full retry budget. It does nothing
// (false) when a task waits already, which delivers whatever the marks
// hold, or, with onlyArchived, when the pair is no longer dead-lettered.
func (f *Fanout) enqueueFresh(ctx context.Context, p pair, class string, onlyArchived bool) (bool, error) {
	var gen int64
	err := f.db.QueryRow(ctx, `UPDATE sync_channels SET gen = gen + 1, queued = $3, queued_gen = gen + 1, queued_at = now(), archived = false
		WHERE property_id = $1 AND channel_id = $2 AND queued IS NULL AND (archived OR NOT $4)
		RETURNING gen`, p.Property, p.Channel, class, onlyArchived).Scan(&gen)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, f.enqueue(ctx, p, class, gen, 0)
}
