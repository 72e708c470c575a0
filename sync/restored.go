package sync

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Restored readies the fan-out of a database restored from a backup, with
// no keyrack process running, and returns the codes of the properties it
// resynced. Two things went back with the database:
//
//   - what each channel acknowledged: the channels kept what keyrack told
//     them after the backup, which keyrack no longer knows of, and would
//     not correct before the nightly resync (never with it off) or a change
//     of the night. Every channel of every property is resynced.
//   - the generations of the channels' delivery tasks, which name the tasks
//     in Redis: one left there from before (archived, or waiting for a
//     retry) would take a new task of its name as a duplicate — the change
//     waiting for the old task, or the channel dead-lettered with the old
//     task's failure. Each is moved on by skip, or by its own value if
//     larger, as inventory's AdvanceSequences moves the ids (the feed ids
//     that name webhook tasks among them).
func (f *Fanout) Restored(ctx context.Context, skip int64) ([]string, error) {
	rows, _ := f.db.Query(ctx, `SELECT id, code FROM properties ORDER BY code`)
	type property struct {
		id   int64
		code string
	}
	props, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (property, error) {
		var p property
		err := r.Scan(&p.id, &p.code)
		return p, err
	})
	if err != nil {
		return nil, err
	}
	var done []string
	for _, p := range props {
		// One property a transaction, as everywhere.
		if _, err := f.db.Exec(ctx, `UPDATE sync_channels SET gen = gen + greatest($2::bigint, gen),
				queued_gen = queued_gen + greatest($2::bigint, gen)
			WHERE property_id = $1`, p.id, skip); err != nil {
			return done, err
		}
		if err := f.Resync(ctx, p.code, ""); err != nil {
			return done, err
		}
		done = append(done, p.code)
	}
	return done, nil
}
