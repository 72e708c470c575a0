package web

import (
	"context"
	"errors"

	"github.com/keyrack/keyrack/inventory"
)

// catchUp sends a channel every value of its horizon after a change that
// can leave it without them: an endpoint or pull URL set, the channel
// enabled again, its horizon, hotel code, message or level changed, a room
// mapped or unmapped (closed on the channel, sync_closures). Until then the fan-out had nowhere or
// nothing to send (it drops the changes of such a channel), and the
// nightly resync would otherwise be the first to tell it. Failing to is
// logged, not fatal: the nightly resync still catches the channel up.
func (s *Server) catchUp(ctx context.Context, property, channel string) {
	if s.fanout == nil {
		return
	}
	if err := s.fanout.Resync(context.WithoutCancel(ctx), property, channel); err != nil {
		level := s.log.Warn
		if inventory.ErrorCode(err) == inventory.ECONFLICT || inventory.ErrorCode(err) == inventory.EINVALID {
			level = s.log.Debug // disabled, say: nothing to catch up
		}
		level("the channel could not be resynced after its change; the nightly resync will", "property", property, "channel", channel, "err", err)
	}
	s.retryDeadLetters(ctx, property, channel)
}

// retryDeadLetters runs again, now, the deliveries to a channel that ran
// out of retries, after a change that can cure them — credentials or an
// endpoint corrected: nothing else would, until the channel's next change
// or a retry by hand. Failing to is logged: the alerts page still offers
// the retry.
func (s *Server) retryDeadLetters(ctx context.Context, property, channel string) {
	if s.fanout == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	archived, err := s.fanout.Archived(ctx)
	if err == nil {
		for _, a := range archived {
			if a.Property == property && a.Channel == channel {
				err = errors.Join(err, s.fanout.RetryArchived(ctx, a.Queue, a.ID))
			}
		}
	}
	if err != nil {
		s.log.Warn("the channel's dead-lettered deliveries could not be retried after its change; retry them from the alerts page",
			"property", property, "channel", channel, "err", err)
	}
}
