package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// A secret rotation (Reseal) must not run beside keyrack processes: they
// keep the old KEYRACK_SECRET in memory, so they could not open what was
// sealed again with the new one (every delivery to a channel with
// credentials would fail) and would seal with the old one what staff enter
// afterwards (which the restarted processes then cannot open). Every
// running process holds processLockSQL shared (HoldRunning) and the
// rotation takes it exclusive (LockOutProcesses): it is refused while any
// process runs, and a process does not start while it runs. The lock goes
// with the session, so a process that dies holds nothing.
const processLockSQL = `hashtextextended(current_schema() || '/keyrack/processes', 0)`

// runningCheck is how often a running process checks that the session
// holding its share of the lock still answers.
const runningCheck = 10 * time.Second

func (s *Store) runningInterval() time.Duration {
	if s.runningCheck > 0 {
		return s.runningCheck
	}
	return runningCheck
}

// ErrRotating is returned by HoldRunning while a secret rotation runs.
var ErrRotating = errors.New("a `keyrack secret rotate` or `keyrack restored` is running on this database: start keyrack again once it has ended (after a rotation, with the new secret as KEYRACK_SECRET)")

// Running is a running process's share of the processes' lock.
type Running struct {
	stop context.CancelFunc
	done chan struct{}
}

// Release gives the lock up (at the process's end).
func (r *Running) Release() {
	r.stop()
	<-r.done
}

// HoldRunning takes the processes' lock shared, on a session of its own
// (not one of the pool's), and holds it until Release: if that session
// fails (PostgreSQL restarted, the network cut), it takes the lock again
// on a new one as soon as it can. It fails with ErrRotating while a secret
// rotation runs.
func (s *Store) HoldRunning(ctx context.Context) (*Running, error) {
	conn, err := s.lockRunning(ctx)
	if err != nil {
		return nil, err
	}
	hold, stop := context.WithCancel(context.WithoutCancel(ctx))
	r := &Running{stop: stop, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer func() {
			if conn != nil {
				_ = conn.Close(context.Background())
			}
		}()
		t := time.NewTicker(s.runningInterval())
		defer t.Stop()
		for {
			select {
			case <-hold.Done():
				return
			case <-t.C:
			}
			if conn != nil {
				pctx, cancel := context.WithTimeout(hold, s.runningInterval())
				err := conn.Ping(pctx)
				cancel()
				if err == nil || hold.Err() != nil {
					continue
				}
				s.log.Warn("the session marking this keyrack process as running failed; taking its lock again", "err", err)
				_ = conn.Close(context.Background())
				conn = nil
			}
			if conn, err = s.lockRunning(hold); err != nil && hold.Err() == nil {
				level := slog.LevelWarn
				if errors.Is(err, ErrRotating) {
					// Cut off from PostgreSQL while a rotation ran: this
					// process still holds the old secret.
					level = slog.LevelError
				}
				s.log.Log(hold, level, "cannot mark this keyrack process as running", "err", err)
			}
		}
	}()
	return r, nil
}

// lockRunning opens a session and takes the processes' lock shared on it.
func (s *Store) lockRunning(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.db.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	var mine bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock_shared(`+processLockSQL+`)`).Scan(&mine); err != nil || !mine {
		_ = conn.Close(context.Background())
		if err != nil {
			return nil, fmt.Errorf("mark this keyrack process as running: %w", err)
		}
		return nil, ErrRotating
	}
	return conn, nil
}

// ProcessesRunningError refuses a secret rotation (or the work after a
// restore) while keyrack processes run; Holders names their sessions, Why
// says why they must stop (a rotation's reason when empty).
type ProcessesRunningError struct {
	Holders []string
	Why     string
}

func (e ProcessesRunningError) Error() string {
	why := e.Why
	if why == "" {
		why = "they keep the old secret, so they could not open what is sealed with the new one and would seal what staff enter with the old one"
	}
	return fmt.Sprintf("keyrack processes are running on this database (%s): stop every one of them first — %s", strings.Join(e.Holders, "; "), why)
}

// LockOutProcesses takes the processes' lock exclusive for a secret
// rotation: it fails with a ProcessesRunningError while a keyrack process
// runs, and no process starts until release.
func (s *Store) LockOutProcesses(ctx context.Context) (release func(), err error) {
	conn, err := pgx.ConnectConfig(ctx, s.db.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	release = func() { _ = conn.Close(context.Background()) }
	var mine bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+processLockSQL+`)`).Scan(&mine); err != nil {
		release()
		return nil, fmt.Errorf("check for running keyrack processes: %w", err)
	}
	if mine {
		return release, nil
	}
	defer release()
	rows, err := conn.Query(ctx, `
		SELECT format('pid %s, %s, from %s, connected since %s', a.pid, coalesce(nullif(a.application_name, ''), '?'),
			coalesce(host(a.client_addr), 'this host'), to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'))
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND ((l.classid::bigint << 32) | l.objid::bigint) = `+processLockSQL+`
		ORDER BY a.backend_start`)
	if err != nil {
		return nil, fmt.Errorf("check for running keyrack processes: %w", err)
	}
	holders, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("check for running keyrack processes: %w", err)
	}
	if len(holders) == 0 { // ended since
		holders = []string{"one that has just ended; try again"}
	}
	return nil, ProcessesRunningError{Holders: holders}
}
