package inventory

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEntry is one line of the audit log: who changed what, when, from where.
type AuditEntry struct {
	ID      int64          `json:"id"`
	At      time.Time      `json:"at"`
	Actor   string         `json:"actor"`
	Origin  string         `json:"origin,omitempty"`
	Action  string         `json:"action"`
	Subject string         `json:"subject"`
	Details map[string]any `json:"details,omitempty"`
}

// writer queues a change's statements and sends them to PostgreSQL in one
// round trip, inside the change's transaction.
type writer struct{ b pgx.Batch }

// queue adds a statement; its error comes from send.
func (w *writer) queue(sql string, args ...any) { w.b.Queue(sql, args...) }

// send runs the queued statements in tx, stopping at the first error.
func (w *writer) send(ctx context.Context, tx dbtx) error {
	if w.b.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, &w.b)
	for i := 0; i < w.b.Len(); i++ {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

const auditSQL = `INSERT INTO audit_log (property_id, actor, origin, action, subject, details) VALUES ($1, $2, $3, $4, $5, $6)`

// audit writes an audit entry inside the change's transaction.
func audit(ctx context.Context, tx pgx.Tx, propertyID int64, by Actor, action, subject string, details any) error {
	if details == nil {
		details = map[string]any{}
	}
	_, err := tx.Exec(ctx, auditSQL, propertyID, by.String(), by.Channel, action, subject, details)
	return err
}

// auditColumns gathers audit entries for one statement.
type auditColumns struct {
	props                                       []int64
	actors, origins, actions, subjects, details []string
}

func (c *auditColumns) add(property int64, by Actor, action, subject string, details any) {
	if details == nil {
		details = map[string]any{}
	}
	d, err := jsonText(details)
	if err != nil {
		// Details are maps of plain values built here; say so rather than lose the entry.
		d, _ = jsonText(map[string]string{"error": err.Error()})
	}
	c.props, c.actors, c.origins, c.actions = append(c.props, property), append(c.actors, by.String()), append(c.origins, by.Channel), append(c.actions, action)
	c.subjects, c.details = append(c.subjects, subject), append(c.details, d)
}

func (c *auditColumns) queue(w *writer) {
	if len(c.actors) == 0 {
		return
	}
	w.queue(`INSERT INTO audit_log (property_id, actor, origin, action, subject, details)
		SELECT u.property_id, u.actor, u.origin, u.action, u.subject, u.details::jsonb
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u (property_id, actor, origin, action, subject, details)`,
		c.props, c.actors, c.origins, c.actions, c.subjects, c.details)
}

// Audit lists a property's audit entries, newest first; subject narrows it
// to one thing ("reservation 42") when not empty.
func (s *Store) Audit(ctx context.Context, property, subject string, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	// One statement per case, not "$2 = '' OR a.subject = $2": a prepared
	// statement's generic plan could not use audit_log_subject, and a
	// booking's trail would be looked for in the property's whole log.
	sql := `SELECT a.id, a.at, a.actor, a.origin, a.action, a.subject, a.details
		FROM audit_log a JOIN properties p ON p.id = a.property_id
		WHERE p.code = $1 AND a.subject = $2
		ORDER BY a.id DESC LIMIT $3`
	args := []any{property, subject, limit}
	if subject == "" {
		sql = `SELECT a.id, a.at, a.actor, a.origin, a.action, a.subject, a.details
		FROM audit_log a JOIN properties p ON p.id = a.property_id
		WHERE p.code = $1
		ORDER BY a.id DESC LIMIT $2`
		args = []any{property, limit}
	}
	rows, _ := s.db.Query(ctx, sql, args...)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Origin, &e.Action, &e.Subject, &e.Details)
		return e, err
	})
}
