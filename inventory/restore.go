package inventory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SequenceAdvance is one of keyrack's sequences moved on after a restore.
type SequenceAdvance struct {
	Name     string
	From, To int64
}

// AdvanceSequences moves every sequence of keyrack's schema (the tables'
// ids, the fan-out's versions) on by skip, or by its own value if that is
// larger, in one transaction. After a restore from a backup the sequences
// are back where the backup left them, and would give again ids that the
// lost part of the database had given and outside systems keep: a PMS's
// feed cursor, the feed ids and reservation ids of the webhooks it
// received. Doubling too covers a backup older than the ids issued before
// it; skip is the floor for a young database.
func (s *Store) AdvanceSequences(ctx context.Context, skip int64) ([]SequenceAdvance, error) {
	if skip < 1 {
		return nil, Errorf(EINVALID, "the skip must be at least 1")
	}
	var out []SequenceAdvance
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
			SELECT format('%I.%I', schemaname, sequencename), coalesce(last_value, 0)
			FROM pg_sequences WHERE schemaname = current_schema() ORDER BY sequencename`)
		seqs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SequenceAdvance, error) {
			var a SequenceAdvance
			err := r.Scan(&a.Name, &a.From)
			return a, err
		})
		if err != nil {
			return fmt.Errorf("read keyrack's sequences: %w", err)
		}
		for _, a := range seqs {
			a.To = a.From + max(skip, a.From)
			if _, err := tx.Exec(ctx, `SELECT setval($1::regclass, $2)`, a.Name, a.To); err != nil {
				return fmt.Errorf("advance %s: %w", a.Name, err)
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// Installation is the id of the installation keyrack's database holds
// (migration 041): made once with the database, kept by its backups.
func Installation(ctx context.Context, db *pgxpool.Pool) (string, error) {
	var id string
	if err := db.QueryRow(ctx, `SELECT id FROM installation`).Scan(&id); err != nil {
		return "", fmt.Errorf("read the installation's id: %w", err)
	}
	return id, nil
}

// Progress moves the installation's progress count on by one, in a
// statement of its own, when it is at least atLeast, and returns it: a
// count below atLeast is returned as it is, unmoved. The count only grows
// while the database lives on (committed, it survives a crash) and goes
// back with it when it is restored from a backup; sync.Fanout's
// CheckProgress compares it with the highest count keyrack processes saw.
func Progress(ctx context.Context, db *pgxpool.Pool, atLeast int64) (int64, error) {
	var progress int64
	if err := db.QueryRow(ctx, `UPDATE installation SET progress = progress + (progress >= $1)::int RETURNING progress`,
		atLeast).Scan(&progress); err != nil {
		return 0, fmt.Errorf("move the installation's progress on: %w", err)
	}
	return progress, nil
}
