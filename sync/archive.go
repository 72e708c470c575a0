package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
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

// Archived lists the archived delivery tasks of both queues.
func (f *Fanout) Archived(ctx context.Context) ([]ArchivedTask, error) {
	var out []ArchivedTask
	for _, class := range []string{classCritical, classBulk} {
		queue := f.queueName(class)
		for page := 1; ; page++ {
			infos, err := f.inspector.ListArchivedTasks(queue, asynq.PageSize(100), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("sync: list archived tasks: %w", err)
			}
			for _, ti := range infos {
				var p taskPayload
				if ti.Type != taskChannel || json.Unmarshal(ti.Payload, &p) != nil {
					continue
				}
				a := ArchivedTask{Queue: queue, ID: ti.ID, LastError: ti.LastErr, LastFailedAt: ti.LastFailedAt, Retried: ti.Retried}
				err := f.db.QueryRow(ctx, `SELECT p.code, c.code FROM channels c JOIN properties p ON p.id = c.property_id
					WHERE c.property_id = $1 AND c.id = $2`, p.Property, p.Channel).Scan(&a.Property, &a.Channel)
				if err != nil {
					a.Property, a.Channel = fmt.Sprint(p.Property), fmt.Sprint(p.Channel) // deleted since
				}
				out = append(out, a)
			}
			if len(infos) < 100 {
				break
			}
		}
	}
	return out, nil
}

// RetryArchived runs an archived delivery task again now, with a fresh
// retry budget; its queue and id come from Archived.
func (f *Fanout) RetryArchived(ctx context.Context, queue, id string) error {
	ti, err := f.inspector.GetTaskInfo(queue, id)
	if err != nil {
		return fmt.Errorf("sync: archived task %s: %w", id, err)
	}
	var p taskPayload
	if ti.Type != taskChannel || json.Unmarshal(ti.Payload, &p) != nil {
		return fmt.Errorf("sync: task %s is not a delivery", id)
	}
	// Record it as the task that waits, so the sweeper watches it.
	if _, err := f.db.Exec(ctx, `UPDATE sync_channels SET queued = $3, queued_gen = $4, queued_at = now(), archived = false
		WHERE property_id = $1 AND channel_id = $2 AND queued IS NULL`, p.Property, p.Channel, f.classOf(queue), p.Gen); err != nil {
		return err
	}
	if err := f.inspector.RunTask(queue, id); err != nil {
		return fmt.Errorf("sync: retry archived task %s: %w", id, err)
	}
	return nil
}
