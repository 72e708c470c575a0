package inventory

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// OutboxChannel is the PostgreSQL notification channel on which a Store
// says that it has committed outbox rows, so that the fan-out's relays —
// in this process or another — take them at once instead of polling the
// outbox many times a second while nothing happens: "keyrack_outbox", or
// one per schema when the connections set a search_path (the tests run a
// schema each in one database).
func OutboxChannel(c *pgx.ConnConfig) string {
	name := "keyrack_outbox"
	if sp := c.RuntimeParams["search_path"]; sp != "" {
		name += " " + sp
	}
	return name[:min(len(name), 63)] // PostgreSQL's longest name
}

// NotifySpacing is the least time between two of a Store's notifications.
// Commits in between are told by one notification at its end, so a busy
// process sends a few a second however many bookings it takes; the relay
// keeps looking every RelayInterval for a second after each notification
// (sync.RelayQuiet), so none of them waits for it.
const NotifySpacing = 250 * time.Millisecond

// notifyTimeout bounds one notification: a database that does not answer
// delays the relay's wake-up to its idle poll, never a booking.
const notifyTimeout = 5 * time.Second

// committed tells the relays, outside and after the transaction that wrote
// them, that outbox rows may be waiting: the booking's transaction is left
// as it is (a NOTIFY inside it would serialise the commits of every
// notifying transaction on the server's notification queue lock). It
// never blocks.
func (s *Store) committed() {
	s.notifyOnce.Do(func() {
		s.notifySig = make(chan struct{}, 1)
		s.notifyStop = make(chan struct{})
		s.notifyDone = make(chan struct{})
		go s.notifyLoop()
	})
	select {
	case s.notifySig <- struct{}{}:
	default: // one is already due: it tells of this commit too
	}
}

// notifyLoop sends one notification for the commits signalled since the
// last, at most one every NotifySpacing, until the Store closes.
func (s *Store) notifyLoop() {
	defer close(s.notifyDone)
	for {
		select {
		case <-s.notifyStop:
			return
		case <-s.notifySig:
		}
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		if _, err := s.db.Exec(ctx, `SELECT pg_notify($1, '')`, OutboxChannel(s.db.Config().ConnConfig)); err != nil {
			s.log.Debug("telling the relays of new outbox rows failed; they find them at their next poll", "err", err)
		}
		cancel()
		select {
		case <-s.notifyStop:
			return
		case <-time.After(NotifySpacing):
		}
	}
}

// stopNotify stops notifyLoop, if it runs, before the pool closes. Close
// may be called more than once (a test closes a Store it also closes on
// cleanup): only the first stops it.
func (s *Store) stopNotify() {
	s.stopOnce.Do(func() {
		s.notifyOnce.Do(func() {}) // none may start after this
		if s.notifyStop != nil {
			close(s.notifyStop)
			<-s.notifyDone
		}
	})
}
