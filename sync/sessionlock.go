package sync

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// sessionLock is a shared advisory lock that a process holds, on a session
// of its own, to say something of itself that other processes read in
// pg_locks (and, by the session, pg_stat_activity): a scheduler standing by
// (scheduler.go), a worker whose Redis does not answer (redisreport.go).
// The session is opened for it, outside the pool, so that its backend_start
// can say since when (open); it ends with the process.
type sessionLock struct {
	key    string // SQL of the lock's bigint key
	conn   *pgx.Conn
	locked bool
}

// open opens the lock's session if it is not open. A session that has
// ended — the database restarted or failed over, a proxy or
// idle_session_timeout closed it — holds nothing: a new one is opened.
func (l *sessionLock) open(ctx context.Context, db *pgxpool.Pool) error {
	if l.conn != nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := l.conn.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		l.release()
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, db.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	l.conn = conn
	return nil
}

// hold takes the lock, on its session, if it is not held.
func (l *sessionLock) hold(ctx context.Context, db *pgxpool.Pool) {
	if l.open(ctx, db) != nil || l.locked {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := l.conn.Exec(cctx, `SELECT pg_advisory_lock_shared(`+l.key+`)`); err != nil {
		l.release()
		return
	}
	l.locked = true
}

// release lets the lock go, if held, and closes its session: closing it
// releases the lock whatever state it is in.
func (l *sessionLock) release() {
	if l.conn == nil {
		return
	}
	_ = l.conn.Close(context.Background())
	l.conn, l.locked = nil, false
}
