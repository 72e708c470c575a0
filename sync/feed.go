package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/pms"
	"github.com/keyrack/keyrack/inventory"
)

// Reservations out to the PMS. Every reservation revision inventory applies
// comes with an outbox row (topic 'reservation'). The relay turns it, in the
// transaction that marks the row done, into one feed entry per enabled PMS
// channel of the property — except the channel the revision came from — and
// then enqueues a signed webhook for each entry whose channel has an
// endpoint. The entry stays on the channel's pull feed until the PMS
// acknowledges it; the elected scheduler raises an incident for an entry
// not acknowledged within FeedAckTimeout, and the acknowledgement resolves it.
//
// As with availability, PostgreSQL holds the state and Redis only wake-ups:
// the sweeper re-enqueues webhooks that Redis never got or lost.

// taskWebhook is the asynq task "send feed entry F of property P by webhook".
const taskWebhook = "pms:webhook"

// errOlderFirst is a webhook waiting for an older revision of the same
// reservation to be delivered first.
var errOlderFirst = errors.New("an older revision of the reservation goes first")

// webhookPayload is a webhook task's payload.
type webhookPayload struct {
	Property int64 `json:"property_id"`
	Feed     int64 `json:"feed_id"`
}

func webhookTaskID(p webhookPayload) string {
	return fmt.Sprintf("webhook:%d:%d", p.Property, p.Feed)
}

// FeedEntry is a revision on a PMS channel's pull feed: what the webhook
// carries, and how its webhook delivery stands.
type FeedEntry struct {
	pms.Revision
	// Webhook: the entry is (also) sent by webhook.
	Webhook     bool       `json:"webhook"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"last_error,omitempty"`
}

// relayReservations turns up to RelayBatch pending reservation outbox rows
// of one property into feed entries, then enqueues their webhooks. It
// returns the number of rows taken.
//
// One relay at a time takes a property's rows (the others skip it): two
// taking rows side by side (several workers) could give a later revision
// of a reservation the lower feed id — the PMS reading it first, its
// webhook sent first — and could commit a lower feed id after a PMS had
// read, acknowledged and moved past a higher one (?after= would skip it).
//
// Entries are made for disabled PMS channels too: their webhooks wait
// (webhook false) and are sent once the channel is enabled again, so a
// PMS switched off for an upgrade misses none of the bookings taken
// meanwhile.
func (f *Fanout) relayReservations(ctx context.Context, property int64) (int, error) {
	var taken int
	var hooks []webhookPayload
	err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
			WITH mine AS (
				SELECT pg_try_advisory_xact_lock(`+feedLock("$1")+`) AS locked
			), claimed AS (
				SELECT id, reservation_id, revision_seq, origin_channel_id FROM outbox
				WHERE property_id = $1 AND done_at IS NULL AND topic = 'reservation' AND (SELECT locked FROM mine)
				ORDER BY id LIMIT $2 FOR UPDATE
			), done AS (
				UPDATE outbox o SET done_at = now() FROM claimed c WHERE o.property_id = $1 AND o.id = c.id
			), entries AS (
				INSERT INTO feed_entries (property_id, channel_id, reservation_id, revision_seq, webhook, queued_at)
				SELECT $1, ch.id, c.reservation_id, c.revision_seq, ch.endpoint <> '' AND ch.enabled,
					CASE WHEN ch.endpoint <> '' AND ch.enabled THEN now() END
				FROM claimed c JOIN channels ch ON ch.property_id = $1 AND ch.kind = 'pms'
					AND ch.id IS DISTINCT FROM c.origin_channel_id
				WHERE c.revision_seq IS NOT NULL
				ORDER BY c.id, ch.id
				ON CONFLICT (property_id, channel_id, reservation_id, revision_seq) DO NOTHING
				RETURNING id, webhook
			)
			SELECT (SELECT count(*) FROM claimed)::int, e.id
			FROM (SELECT 1) AS one LEFT JOIN entries e ON e.webhook
			ORDER BY e.id`, property, f.cfg.RelayBatch)
		var id *int64
		_, err := pgx.ForEachRow(rows, []any{&taken, &id}, func() error {
			if id != nil {
				hooks = append(hooks, webhookPayload{Property: property, Feed: *id})
			}
			return nil
		})
		return err
	})
	if err != nil {
		return 0, err
	}
	for i, h := range hooks {
		if err := f.enqueueWebhook(ctx, h); err != nil {
			// Redis is down (noted once), or this process cannot reach it:
			// due for every worker's sweeper at once (Fanout.handBack).
			ids := make([]int64, 0, len(hooks)-i)
			for _, h := range hooks[i:] {
				ids = append(ids, h.Feed)
			}
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if _, err := f.db.Exec(hctx, `UPDATE feed_entries SET queued_at = NULL
				WHERE property_id = $1 AND id = ANY($2::bigint[]) AND delivered_at IS NULL`, property, ids); err != nil {
				f.log.Warn("could not hand webhooks to the sweepers; they look for them in Redis later", "err", err)
			}
			cancel()
			break
		}
	}
	return taken, nil
}

// enqueueWebhook asks for the webhook of a feed entry. A task with its id
// already in Redis is success: it is the same delivery.
func (f *Fanout) enqueueWebhook(ctx context.Context, p webhookPayload) error {
	payload, err := json.Marshal(p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, enqueueTimeout)
	defer cancel()
	_, err = f.client.EnqueueContext(ctx, asynq.NewTask(taskWebhook, payload),
		asynq.Queue(f.queueName(classCritical)),
		asynq.TaskID(webhookTaskID(p)),
		asynq.MaxRetry(f.cfg.MaxRetry),
		asynq.Timeout(f.cfg.PushTimeout+time.Minute))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		err = nil
	}
	f.noteRedis(err)
	return err
}

// handleWebhookTask is the asynq handler of taskWebhook.
func (f *Fanout) handleWebhookTask(ctx context.Context, t *asynq.Task) error {
	var p webhookPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("sync: unreadable webhook task: %v: %w", err, asynq.SkipRetry)
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	return f.sendWebhook(ctx, p, retried >= maxRetry)
}

// sendWebhook posts a feed entry to its channel's endpoint once. last says
// asynq archives the task if this attempt fails: the entry is then marked
// failed and an incident raised (it stays on the pull feed).
func (f *Fanout) sendWebhook(ctx context.Context, p webhookPayload, last bool) error {
	var endpoint, channel string
	var sealed, prevSealed []byte
	var enabled, done bool
	var ch pair
	var rateLimit int
	var pausedFor float64 // seconds left of a pause the channel asked for (pauseWebhooks)
	err := f.db.QueryRow(ctx, `
		SELECT c.id, c.code, c.endpoint, c.outbound_secret_sealed,
			CASE WHEN c.outbound_secret_prev_until > now() THEN c.outbound_secret_prev_sealed END, c.enabled, c.rate_limit,
			e.delivered_at IS NOT NULL OR e.failed_at IS NOT NULL OR e.acked_at IS NOT NULL OR NOT e.webhook,
			coalesce(extract(epoch FROM s.paused_until - clock_timestamp()), 0)::float8
		FROM feed_entries e JOIN channels c ON c.property_id = e.property_id AND c.id = e.channel_id
		LEFT JOIN sync_channels s ON s.property_id = e.property_id AND s.channel_id = e.channel_id
		WHERE e.property_id = $1 AND e.id = $2`, p.Property, p.Feed).
		Scan(&ch.Channel, &channel, &endpoint, &sealed, &prevSealed, &enabled, &rateLimit, &done, &pausedFor)
	ch.Property = p.Property
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil // the channel was deleted
	case err != nil:
		return fmt.Errorf("sync: %w", err)
	case done || !enabled:
		// Delivered (this is a repeated task), acknowledged on the pull feed,
		// or given up; a disabled channel gets its webhooks from the sweeper
		// once it is enabled again.
		return nil
	case endpoint == "":
		// The endpoint was removed: the channel is pull-only now.
		_, err := f.db.Exec(ctx, `UPDATE feed_entries SET webhook = false, queued_at = NULL
			WHERE property_id = $1 AND id = $2 AND delivered_at IS NULL AND failed_at IS NULL`, p.Property, p.Feed)
		return err
	case sealed == nil:
		// No signing secret yet: the channel is being set up, its endpoint
		// and its secret set in two calls. The entry waits for the secret
		// (the sweeper sends it once it is set) rather than fail for good:
		// given up, it never reached the PMS by webhook, and the
		// reservation's next revision went out without it.
		_, err := f.db.Exec(ctx, `UPDATE feed_entries SET queued_at = NULL, last_error = $3
			WHERE property_id = $1 AND id = $2 AND delivered_at IS NULL AND failed_at IS NULL`, p.Property, p.Feed, errNoSecret)
		return err
	}
	// Revisions of a reservation go out in order: an older one still on its
	// way goes first (this waits without spending the retry budget) — also
	// one made while the channel had no endpoint, or was disabled, which the
	// sweeper sends now that it has one.
	//
	// The wait follows the oldest one's retries: after its n-th failed
	// attempt (in its current round of retries) this looks again after
	// backoff(n), no sooner than that one is tried again. Looking every
	// half second instead only queried PostgreSQL and took a worker, for
	// every waiting revision, for as long as the PMS was down. Its delivery,
	// or its failing for good, wakes this one (wakeNextRevision), so the
	// longer wait does not hold it up once the PMS is back; with the PMS up
	// (no failed attempt) the wait is as short as before.
	var olderAttempts int
	var olderRetrying bool
	err = f.db.QueryRow(ctx, `
		SELECT o.attempts, coalesce(o.last_attempt_at > now() - $3::interval, false)
		FROM feed_entries e JOIN feed_entries o ON o.property_id = e.property_id
			AND o.channel_id = e.channel_id AND o.reservation_id = e.reservation_id AND o.revision_seq < e.revision_seq
		WHERE e.property_id = $1 AND e.id = $2
			AND o.delivered_at IS NULL AND o.failed_at IS NULL AND o.acked_at IS NULL
		ORDER BY o.revision_seq LIMIT 1`, p.Property, p.Feed, f.cfg.RetryMax+f.cfg.PushTimeout).Scan(&olderAttempts, &olderRetrying)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return fmt.Errorf("sync: %w", err)
	default:
		// Attempts older than a retry's longest wait are from an earlier
		// round (sent again after it failed for good): not its current one.
		n := 0
		if olderRetrying {
			n = olderAttempts
		}
		return &connectors.Error{Kind: connectors.KindRetryable, RetryAfter: backoff(n, f.cfg.RetryBase, f.cfg.RetryMax), Err: errOlderFirst}
	}
	// The channel's webhooks wait out its pause together, and keep to its
	// rate limit: when a PMS throttles keyrack, the backlog waits rather
	// than each webhook retrying on its own — a PMS that asked for a pause
	// of a second would otherwise get a request from every waiting webhook
	// every second. The wait carries jitter, so the webhooks that waited do
	// not all come back at once.
	wait := time.Duration(pausedFor * float64(time.Second))
	var counted time.Time // when webhookTurn counted this webhook
	if wait <= 0 && rateLimit > 0 {
		if wait, counted, err = f.webhookTurn(ctx, ch, rateLimit); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	if wait > 0 {
		return connectors.RateLimited(wait+rand.N(wait/2+1), errPaced)
	}
	var cause error
	var secret string
	if f.cfg.Secrets == nil {
		cause = connectors.Permanent(errors.New("this keyrack process has no KEYRACK_SECRET to open the channel's outbound secret with"))
	} else if secret, err = f.cfg.Secrets.Open(sealed); err != nil {
		cause = connectors.Permanent(fmt.Errorf("open the channel's outbound secret: %w", err))
	}
	secrets := []string{secret}
	if prevSealed != nil && cause == nil {
		// The secret the current one replaced, within its grace
		// (inventory.OutboundSecretGrace): the PMS may not have switched.
		if prev, err := f.cfg.Secrets.Open(prevSealed); err == nil {
			secrets = append(secrets, prev)
		} else {
			f.log.Warn("could not open a PMS channel's replaced outbound secret: webhooks are signed with the new one only",
				"property_id", p.Property, "channel", channel, "err", err)
		}
	}
	if cause == nil {
		entries, err := f.feedEntries(ctx, `e.property_id = $1 AND e.id = $2`, p.Property, p.Feed)
		if err != nil || len(entries) == 0 {
			return fmt.Errorf("sync: read feed entry %d: %w", p.Feed, errors.Join(err, pgx.ErrNoRows))
		}
		body, err := json.Marshal(entries[0].Revision)
		if err != nil {
			return fmt.Errorf("sync: %w: %w", err, asynq.SkipRetry)
		}
		sctx, cancel := context.WithTimeout(ctx, f.cfg.PushTimeout)
		cause = f.webhooks.SendSigned(sctx, endpoint, secrets, p.Feed, body)
		cancel()
	}
	// The outcome is recorded even when the task's context has ended.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if !counted.IsZero() {
		// Counted until its answer, as availability pushes are
		// (delivery.answered).
		if _, err := f.db.Exec(bctx, answeredSQL, ch.Property, ch.Channel, counted); err != nil {
			f.log.Warn("could not record when a PMS answered a webhook", "property_id", p.Property, "channel", channel, "err", err)
		}
	}
	if cause == nil {
		_, err := f.db.Exec(bctx, `
			WITH delivered AS (
				UPDATE feed_entries SET delivered_at = now(), attempts = attempts + 1, last_attempt_at = now(), last_error = NULL
				WHERE property_id = $1 AND id = $2
			)
			UPDATE incidents SET resolved_at = now(), resolved_by = 'webhook delivered', updated_at = now()
			WHERE property_id = $1 AND feed_entry_id = $2 AND kind = 'webhook_failed' AND resolved_at IS NULL`, p.Property, p.Feed)
		if err != nil {
			return err
		}
		f.wakeNextRevision(bctx, p)
		// The PMS takes webhooks again: what it missed while it was down
		// follows.
		if n, err := f.resendFailedWebhooks(bctx, ch); err != nil {
			f.log.Warn("could not send again the webhooks that failed while the PMS was down", "property_id", p.Property,
				"channel", channel, "err", err)
		} else if n > 0 {
			f.log.Info("the PMS takes webhooks again: sending again those that failed for good meanwhile",
				"property_id", p.Property, "channel", channel, "count", n)
		}
		return nil
	}
	if connectors.KindOf(cause) == connectors.KindRateLimited {
		if err := f.pauseWebhooks(bctx, ch, connectors.RetryAfterOf(cause)); err != nil {
			f.log.Warn("could not pause a PMS channel's webhooks", "err", err)
		}
	}
	giveUp := connectors.KindOf(cause) == connectors.KindPermanent || (last && isFailure(cause))
	// The PMS's answer is kept for staff, but not for a booking whose
	// guest's data was erased: the PMS can answer from its own copy.
	msg := cause.Error()
	if _, err := f.db.Exec(bctx, `UPDATE feed_entries e SET attempts = attempts + 1, last_attempt_at = now(),
			last_error = CASE WHEN r.guest_erased_at IS NULL THEN $3 ELSE $5 END, failed_at = CASE WHEN $4 THEN now() END
		FROM reservations r
		WHERE e.property_id = $1 AND e.id = $2 AND r.property_id = e.property_id AND r.id = e.reservation_id`,
		p.Property, p.Feed, msg, giveUp, withoutAnswer(cause).Error()); err != nil {
		f.log.Warn("could not record a failed webhook", "err", err)
	}
	if giveUp {
		if err := f.raiseWebhookFailed(bctx, p, msg, connectors.KindOf(cause) != connectors.KindPermanent); err != nil {
			f.log.Warn("could not raise a webhook incident", "err", err)
		}
		f.log.Warn("webhook delivery failed for good; the revision stays on the pull feed",
			"property_id", p.Property, "channel", channel, "feed_id", p.Feed, "err", withoutAnswer(cause))
		f.wakeNextRevision(bctx, p) // no longer waits for this one
		if connectors.KindOf(cause) == connectors.KindPermanent {
			return fmt.Errorf("%w (%w)", withoutAnswer(cause), asynq.SkipRetry)
		}
	}
	return withoutAnswer(cause)
}

// withoutAnswer is the cause of a failed webhook as asynq keeps it — in
// Redis, with the task it archives, for weeks — and the log says it: without
// what the PMS answered, which can echo the revision's guest back. The feed
// entry keeps the answer (last_error), where staff read it and an erasure of
// the guest's data reaches it.
func withoutAnswer(cause error) error {
	var ce *connectors.Error
	if !errors.As(cause, &ce) || ce.Status == 0 || ce.Err == nil {
		return cause
	}
	said := ce.Err.Error()
	kept := fmt.Sprintf("channel answered HTTP %d (what it said is kept with the feed entry)", ce.Status)
	return answerLeftOut{cause, strings.Replace(cause.Error(), said, kept, 1)}
}

// answerLeftOut is an error that says msg and is cause.
type answerLeftOut struct {
	cause error
	msg   string
}

func (e answerLeftOut) Error() string { return e.msg }
func (e answerLeftOut) Unwrap() error { return e.cause }

// wakeNextRevision runs now the webhook of the next revision of feed entry
// p's reservation on its channel, which waits for p (errOlderFirst) — p was
// delivered, given up or acknowledged on the pull feed — rather than at the
// end of a wait that followed p's retries. One still looking (its task active) is given a moment to
// finish, so that the wake-up is not lost between its look and its wait.
// Best effort: without it the next revision goes at the end of its wait.
func (f *Fanout) wakeNextRevision(ctx context.Context, p webhookPayload) {
	var next int64
	err := f.db.QueryRow(ctx, `
		SELECT n.id FROM feed_entries e JOIN feed_entries n ON n.property_id = e.property_id
			AND n.channel_id = e.channel_id AND n.reservation_id = e.reservation_id AND n.revision_seq > e.revision_seq
		WHERE e.property_id = $1 AND e.id = $2
			AND n.webhook AND n.delivered_at IS NULL AND n.failed_at IS NULL AND n.acked_at IS NULL
		ORDER BY n.revision_seq LIMIT 1`, p.Property, p.Feed).Scan(&next)
	if err != nil {
		if !errors.Is(err, pgx.ErrNoRows) {
			f.log.Warn("could not look for the next revision's webhook", "property_id", p.Property, "feed_id", p.Feed, "err", err)
		}
		return
	}
	queue, id := f.queueName(classCritical), webhookTaskID(webhookPayload{Property: p.Property, Feed: next})
	// A task in the middle of its check is waited for (it sets itself to
	// retry once it finds this revision undelivered), and Redis unreachable
	// is tried again — keyrack's client, after dials that failed, dials
	// again only once a second, so an acknowledgement in the second after
	// Redis came back would find it down: up to 2 s, which a loaded machine
	// can take, before the task's own backoff (or, if Redis stays down, the
	// sweeper) is left to bring it.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		wait := 20 * time.Millisecond
		info, err := f.inspector.GetTaskInfo(queue, id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			// Redis lost it (restarted empty): enqueued now, since the
			// sweeper looks for it only once its wait would have ended
			// (sweepWebhooks). A task that has just finished, delivered,
			// finds it has nothing to do.
			if f.enqueueWebhook(ctx, webhookPayload{Property: p.Property, Feed: next}) == nil {
				return
			}
			wait = 200 * time.Millisecond
		case err != nil:
			wait = 200 * time.Millisecond // Redis unreachable
		case info.State == asynq.TaskStateRetry, info.State == asynq.TaskStateScheduled:
			// It may have moved on just now (then it runs anyway, and the
			// next look says so), or Redis went away.
			if f.inspector.RunTask(queue, id) == nil {
				return
			}
		case info.State != asynq.TaskStateActive:
			return // pending: it runs now
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// errNoSecret is why a webhook waits: its channel has no outbound secret to
// sign it with yet.
const errNoSecret = "waiting for the channel's outbound secret (PUT …/credentials, outbound_secret) to sign the webhook with"

// errPaced is a webhook waiting for its PMS channel's rate limit, or for the
// pause the channel asked for (HTTP 429): not a failure.
var errPaced = errors.New("waiting for the channel's rate limit")

// webhookTurn applies channel ch's rate limit (rateLimit requests per
// RateWindow) to one webhook, under the lock of the channel's state row
// (sync_channels), which its webhooks share as its availability deliveries
// do: it returns how long to wait — for a pause the channel asked for since
// the caller looked, or for a free place in the window —, or 0 and the
// time it counted the request at, until its answer: its timeout.
func (f *Fanout) webhookTurn(ctx context.Context, ch pair, rateLimit int) (time.Duration, time.Time, error) {
	var wait time.Duration
	var counted time.Time
	err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sync_channels (property_id, channel_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			ch.Property, ch.Channel); err != nil {
			return err
		}
		var now time.Time
		var sent []time.Time
		var paused *time.Time
		if err := tx.QueryRow(ctx, `SELECT clock_timestamp(), rate_window, paused_until FROM sync_channels
			WHERE property_id = $1 AND channel_id = $2 FOR UPDATE`, ch.Property, ch.Channel).Scan(&now, &sent, &paused); err != nil {
			return err
		}
		if paused != nil && paused.After(now) {
			wait = paused.Sub(now)
			return nil
		}
		var window []time.Time
		if wait, window = admitRequest(now, sent, rateLimit, f.cfg.RateWindow); wait > 0 {
			// A webhook still in flight is counted at the latest its answer
			// can come (below): the place it holds comes free a window after
			// its answer, which may be any moment now — look again then.
			wait = min(wait, f.cfg.RateWindow)
			return nil
		}
		// Webhooks go out outside the pair's lock, so another may ask for
		// its turn while this one is in flight: until its answer moves it
		// to when it came (answeredSQL), it counts as answered at the
		// latest it can be, its timeout — counted from its sending, it
		// would free its place a window later however slow its answer, and
		// the next webhook reach a PMS still counting this one.
		counted = now.Add(f.cfg.PushTimeout)
		window[len(window)-1] = counted
		_, err := tx.Exec(ctx, `UPDATE sync_channels SET rate_window = $3 WHERE property_id = $1 AND channel_id = $2`,
			ch.Property, ch.Channel, window)
		return err
	})
	return wait, counted, err
}

// pauseWebhooks records that channel ch asked keyrack to wait (HTTP 429)
// for after, or a second when it did not say: its webhooks wait until then
// (webhookTurn).
func (f *Fanout) pauseWebhooks(ctx context.Context, ch pair, after time.Duration) error {
	if after <= 0 {
		after = time.Second
	}
	_, err := f.db.Exec(ctx, `INSERT INTO sync_channels AS s (property_id, channel_id, paused_until)
		VALUES ($1, $2, clock_timestamp() + $3::interval)
		ON CONFLICT (property_id, channel_id) DO UPDATE
			SET paused_until = greatest(s.paused_until, EXCLUDED.paused_until)`, ch.Property, ch.Channel, after)
	return err
}

// RetryWebhook sends a PMS channel's feed entry by webhook again, with a
// fresh retry budget: for staff, once the receiver is fixed after its
// webhook failed for good. An entry already delivered or acknowledged is
// left as it is; one of a pull-only channel is EINVALID.
func (f *Fanout) RetryWebhook(ctx context.Context, property, channel string, id int64) error {
	p, c, err := f.pmsChannel(ctx, property, channel)
	if err != nil {
		return err
	}
	var webhook, failed bool
	err = f.db.QueryRow(ctx, `SELECT webhook, failed_at IS NOT NULL FROM feed_entries
		WHERE property_id = $1 AND channel_id = $2 AND id = $3`, p, c, id).Scan(&webhook, &failed)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return inventory.Errorf(inventory.ENOTFOUND, "feed entry %d not found on the feed of %s", id, channel)
	case err != nil:
		return err
	case !webhook:
		return inventory.Errorf(inventory.EINVALID, "channel %s has no webhook endpoint", channel)
	case !failed:
		return nil
	}
	// The archived task keeps its id in asynq: it goes first.
	w := webhookPayload{Property: p, Feed: id}
	if err := f.inspector.DeleteTask(f.queueName(classCritical), webhookTaskID(w)); err != nil &&
		!errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		return fmt.Errorf("sync: drop the archived webhook task: %w", err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE feed_entries SET failed_at = NULL, queued_at = now()
		WHERE property_id = $1 AND id = $2`, p, id); err != nil {
		return err
	}
	// If Redis does not take it now, the sweeper enqueues it later.
	_ = f.enqueueWebhook(ctx, w)
	return nil
}

// raiseWebhookFailed opens the incident of a webhook that failed for good,
// quoting the feed entry's last error (cause when it has none).
// retryable says the cause passes (the PMS was down, timed out, answered
// 5xx and the retries ran out) rather than a refusal the PMS would repeat:
// the webhook is then sent again once the PMS takes webhooks again
// (resendFailedWebhooks).
func (f *Fanout) raiseWebhookFailed(ctx context.Context, p webhookPayload, cause string, retryable bool) error {
	_, err := f.db.Exec(ctx, `
		INSERT INTO incidents (property_id, kind, reservation_id, feed_entry_id, message, details)
		SELECT e.property_id, 'webhook_failed', e.reservation_id, e.id,
			format('webhook to %s failed for good after %s attempts (revision %s of reservation %s): %s',
				c.code, e.attempts, e.revision_seq, r.external_id, coalesce(e.last_error, $3::text)),
			jsonb_build_object('channel', c.code, 'feed_id', e.id, 'revision_seq', e.revision_seq,
				'attempts', e.attempts, 'last_error', coalesce(e.last_error, $3::text), 'retryable', $4::boolean)
		FROM feed_entries e
		JOIN channels c ON c.property_id = e.property_id AND c.id = e.channel_id
		JOIN reservations r ON r.property_id = e.property_id AND r.id = e.reservation_id
		WHERE e.property_id = $1 AND e.id = $2 AND e.acked_at IS NULL
		ON CONFLICT DO NOTHING`, p.Property, p.Feed, cause, retryable)
	return err
}

// resendableSQL holds for a feed entry e whose webhook failed for good for a
// passing cause and has not been sent again after a success, its
// webhook_failed incident i open.
const resendableSQL = `i.kind = 'webhook_failed' AND i.resolved_at IS NULL
	AND i.details @> '{"retryable": true}' AND i.details->'resent_at' IS NULL
	AND e.failed_at IS NOT NULL AND e.delivered_at IS NULL AND e.acked_at IS NULL`

// resendFailedWebhooks sends again, oldest first, the webhooks of PMS
// channel ch that failed for good for a passing cause (their incident says
// retryable) and whose webhook_failed incident is still open: called once a
// webhook to the channel has got through, so a PMS down for longer than the
// retry budget (maintenance, an outage) gets what it missed meanwhile
// without staff retrying each incident. Each delivery resolves its incident.
// It returns how many it queued.
//
// Each is sent again this way once (the incident notes resent_at): a
// revision the PMS keeps failing on is not sent again, with a fresh
// budget, after every later webhook that gets through — nor, meanwhile,
// does it hold up its reservation's next revisions for an hour each time.
// What the PMS refused for good (401, 404, another 4xx, a redirect), and an
// incident staff resolved by hand, are left to staff.
//
// A revision sent again may reach the PMS after a newer revision of the
// same reservation that went out while it had failed: the receiver ignores
// a revision_seq not newer than the last it applied, and the payload's
// reservation and status are the reservation as it stands now anyway.
func (f *Fanout) resendFailedWebhooks(ctx context.Context, ch pair) (int, error) {
	rows, _ := f.db.Query(ctx, `
		SELECT e.id FROM incidents i
		JOIN feed_entries e ON e.property_id = i.property_id AND e.id = i.feed_entry_id
		WHERE i.property_id = $1 AND e.channel_id = $2 AND `+resendableSQL+`
		ORDER BY e.id LIMIT 1000`, ch.Property, ch.Channel)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		sent, err := f.resendFailedWebhook(ctx, webhookPayload{Property: ch.Property, Feed: id}, "resent_at")
		if err != nil {
			return n, err
		}
		if sent {
			n++
		}
	}
	return n, nil
}

// resendFailedWebhook sends again, with a fresh task, an entry that failed
// for good for a passing cause and has not been sent again after a success
// before (its incident open, without resent_at), noting when in the
// incident's details under mark ("resent_at", or "probed_at" for a probe,
// which does not use up that one resend); it reports whether it did.
func (f *Fanout) resendFailedWebhook(ctx context.Context, w webhookPayload, mark string) (bool, error) {
	// The archived task keeps its id in asynq: it goes first (as in
	// RetryWebhook).
	if err := f.inspector.DeleteTask(f.queueName(classCritical), webhookTaskID(w)); err != nil &&
		!errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		f.noteRedis(err)
		return false, fmt.Errorf("sync: drop the archived webhook task: %w", err)
	}
	// Checked again now: staff may have retried it or resolved its
	// incident, or another webhook's success sent it again.
	tag, err := f.db.Exec(ctx, `
		WITH resent AS (
			UPDATE feed_entries e SET failed_at = NULL, queued_at = now()
			FROM incidents i
			WHERE e.property_id = $1 AND e.id = $2 AND i.property_id = e.property_id AND i.feed_entry_id = e.id
				AND `+resendableSQL+`
			RETURNING i.id
		)
		UPDATE incidents SET details = details || jsonb_build_object($3::text, now()), updated_at = now()
		WHERE property_id = $1 AND id IN (SELECT id FROM resent)`, w.Property, w.Feed, mark)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	// If Redis does not take it now, the sweeper enqueues it later.
	return true, f.enqueueWebhook(ctx, w)
}

// probeFailedWebhooks sends again, for each PMS channel whose webhooks
// failed for good for a passing cause and none of whose webhooks is on its
// way now, the oldest of those entries, with a fresh retry budget: if it
// gets through, the rest follow (resendFailedWebhooks). A probe does not
// use up the entry's one resend after a success, so an outage of any
// length is probed, one entry at a time. Without it a PMS back from an
// outage longer than the retries got nothing until the next booking's
// webhook reached it — for a small hotel, days. It runs at most once every
// 6 × StaleAfter, and probes an entry no sooner than that after it failed
// for good: one that has just used up its retries is not sent them again
// at once (as it was when the sweep came right after).
func (f *Fanout) probeFailedWebhooks(ctx context.Context) error {
	if time.Since(f.webhookProbeAt) < 6*f.cfg.StaleAfter {
		return nil
	}
	f.webhookProbeAt = time.Now()
	rows, _ := f.db.Query(ctx, `
		SELECT DISTINCT ON (e.property_id, e.channel_id) e.property_id, e.id
		FROM incidents i
		JOIN feed_entries e ON e.property_id = i.property_id AND e.id = i.feed_entry_id
		JOIN channels c ON c.property_id = e.property_id AND c.id = e.channel_id AND c.enabled
			AND c.outbound_secret_sealed IS NOT NULL AND c.endpoint <> ''
		WHERE `+resendableSQL+` AND e.failed_at < now() - $1::interval
			AND NOT EXISTS (SELECT 1 FROM feed_entries p WHERE p.property_id = e.property_id AND p.channel_id = e.channel_id
				AND p.webhook AND p.delivered_at IS NULL AND p.failed_at IS NULL AND p.acked_at IS NULL)
		ORDER BY e.property_id, e.channel_id, e.id
		LIMIT 1000`, 6*f.cfg.StaleAfter)
	probes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhookPayload, error) {
		var p webhookPayload
		err := r.Scan(&p.Property, &p.Feed)
		return p, err
	})
	if err != nil {
		return err
	}
	for _, p := range probes {
		if _, err := f.resendFailedWebhook(ctx, p, "probed_at"); err != nil {
			return err
		}
	}
	return nil
}

// sweepWebhooks re-enqueues the webhooks of entries not delivered yet whose
// task Redis does not have (it was down, or lost it), and records those asynq
// archived without the handler noticing.
//
// It also sends by webhook the entries a PMS channel has not acknowledged
// that were made while it had no endpoint (pull-only) once it has one, as
// if it had had the endpoint all along: a revision that came while the PMS
// was being set up would otherwise reach it only on the pull feed, which a
// webhook PMS may never read. (Here rather than where the endpoint is set:
// an entry the relay was making just then still reads the old endpoint.)
// Likewise those that waited for the channel's outbound secret, once it has
// one; until then a channel's entries are left alone.
//
// A webhook whose task Redis still holds — waiting for its next attempt
// while the PMS is down, for a pause the PMS asked for, or for an older
// revision of its reservation — is looked at again only once that attempt
// is due (its queued_at is moved to it), not every StaleAfter: re-stamping
// each of them every few seconds, for as long as an outage lasts, was a
// write (and an index entry) per pending webhook every StaleAfter, and
// bought nothing — the sweeper leaves a task Redis holds alone. A task
// Redis loses meanwhile is enqueued again at most StaleAfter after it would
// have run; one woken early (wakeNextRevision) is enqueued by the wake.
func (f *Fanout) sweepWebhooks(ctx context.Context) error {
	// Read across properties, then write one entry at a time: no
	// transaction touches two properties.
	rows, _ := f.db.Query(ctx, `
		SELECT e.property_id, e.id, e.webhook FROM feed_entries e
		JOIN channels c ON c.property_id = e.property_id AND c.id = e.channel_id AND c.enabled
			AND c.outbound_secret_sealed IS NOT NULL
		WHERE (e.webhook OR c.endpoint <> '') AND e.delivered_at IS NULL AND e.failed_at IS NULL AND e.acked_at IS NULL
			AND coalesce(e.queued_at < now() - $1::interval, true)
		ORDER BY e.queued_at NULLS FIRST LIMIT 1000`, f.cfg.StaleAfter)
	type sweptEntry struct {
		webhookPayload
		webhook bool
	}
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sweptEntry, error) {
		var s sweptEntry
		err := r.Scan(&s.Property, &s.Feed, &s.webhook)
		return s, err
	})
	if err != nil {
		return err
	}
	for _, s := range todo {
		p := s.webhookPayload
		if s.webhook {
			alive, err := f.deferWebhookSweep(ctx, p)
			if err != nil {
				return err
			}
			if alive {
				continue
			}
		}
		// Checked again now: another sweeper may have just looked at it.
		tag, err := f.db.Exec(ctx, `UPDATE feed_entries e SET queued_at = now(), webhook = true
			FROM channels c
			WHERE e.property_id = $1 AND e.id = $2 AND c.property_id = e.property_id AND c.id = e.channel_id
				AND c.outbound_secret_sealed IS NOT NULL AND (e.webhook OR c.endpoint <> '') AND e.delivered_at IS NULL AND e.failed_at IS NULL AND e.acked_at IS NULL
				AND coalesce(e.queued_at < now() - $3::interval, true)`, p.Property, p.Feed, f.cfg.StaleAfter)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		info, err := f.inspector.GetTaskInfo(f.queueName(classCritical), webhookTaskID(p))
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			if err := f.enqueueWebhook(ctx, p); err != nil {
				return err
			}
		case err != nil:
			f.noteRedis(err)
			return err
		case info.State == asynq.TaskStateArchived:
			if _, err := f.db.Exec(ctx, `UPDATE feed_entries SET failed_at = now(), last_error = coalesce(last_error, $3)
				WHERE property_id = $1 AND id = $2 AND failed_at IS NULL`, p.Property, p.Feed, info.LastErr); err != nil {
				return err
			}
			// asynq archives a task either when its handler says SkipRetry
			// (a permanent refusal) or when its retries ran out, which
			// only a passing cause spends.
			if err := f.raiseWebhookFailed(ctx, p, info.LastErr, !strings.Contains(info.LastErr, asynq.SkipRetry.Error())); err != nil {
				return err
			}
		}
	}
	return nil
}

// deferWebhookSweep reports whether Redis holds the task of feed entry p's
// webhook, not archived; if so, it moves the entry's queued_at to when the
// task is due to run (now, for one running or waiting for a worker), so
// the sweeper looks at it again StaleAfter after that (sweepWebhooks).
func (f *Fanout) deferWebhookSweep(ctx context.Context, p webhookPayload) (bool, error) {
	info, err := f.inspector.GetTaskInfo(f.queueName(classCritical), webhookTaskID(p))
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return false, nil
	case err != nil:
		f.noteRedis(err)
		return false, err
	case info.State == asynq.TaskStateArchived:
		return false, nil
	}
	// A retry is never further off than RetryMax (retryDelay): a later
	// time would be a clock gone wrong, and would hide the entry for long.
	_, err = f.db.Exec(ctx, `UPDATE feed_entries SET queued_at = least(greatest(now(), $3), now() + $5::interval)
		WHERE property_id = $1 AND id = $2 AND delivered_at IS NULL AND failed_at IS NULL AND acked_at IS NULL
			AND coalesce(queued_at < now() - $4::interval, true)`,
		p.Property, p.Feed, info.NextProcessAt, f.cfg.StaleAfter, f.cfg.RetryMax)
	return true, err
}

// raiseUnacked opens an incident for each feed entry that its channel has
// not acknowledged within FeedAckTimeout — of its arrival, or of the
// channel's being enabled again if later (what reached a disabled PMS is
// sent once it is back): one per entry (so each names the reservation and
// revision the PMS lacks), resolved when it is acknowledged.
// Staff resolving one by hand is final for that entry. One transaction per
// property.
func (f *Fanout) raiseUnacked(ctx context.Context) error {
	rows, _ := f.db.Query(ctx, `SELECT DISTINCT property_id FROM feed_entries
		WHERE acked_at IS NULL AND created_at < now() - $1::interval`, f.cfg.FeedAckTimeout)
	props, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range props {
		var raised int64
		// The message says since when in the hotel's time, as its pages do.
		err := inventory.InPropertyZone(ctx, f.db, p, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `
			INSERT INTO incidents (property_id, kind, reservation_id, feed_entry_id, message, details)
			SELECT e.property_id, 'unacked_revision', e.reservation_id, e.id,
				format('%s has not acknowledged revision %s of reservation %s from %s since %s',
					c.code, e.revision_seq, r.external_id, oc.code, to_char(e.created_at, 'YYYY-MM-DD HH24:MI TZ')),
				jsonb_build_object('channel', c.code, 'feed_id', e.id, 'revision_seq', e.revision_seq,
					'origin_channel', oc.code, 'external_id', r.external_id, 'created_at', e.created_at)
			FROM feed_entries e
			JOIN channels c ON c.property_id = e.property_id AND c.id = e.channel_id AND c.enabled
			JOIN reservations r ON r.property_id = e.property_id AND r.id = e.reservation_id
			JOIN channels oc ON oc.property_id = r.property_id AND oc.id = r.channel_id
			WHERE e.property_id = $1 AND e.acked_at IS NULL AND greatest(e.created_at, c.enabled_at) < now() - $2::interval
				AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.property_id = e.property_id
					AND i.feed_entry_id = e.id AND i.kind = 'unacked_revision')
			ORDER BY e.id
			ON CONFLICT DO NOTHING`, p, f.cfg.FeedAckTimeout)
			raised = tag.RowsAffected()
			return err
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if raised > 0 {
			f.log.Warn("revisions not acknowledged by the PMS in time", "property_id", p, "count", raised)
		}
	}
	return errors.Join(errs...)
}

// Feed lists a PMS channel's revisions that it has not acknowledged, with
// feed ids greater than after, oldest first, at most limit (100 when 0,
// 1000 at most). Property and channel are codes.
func (f *Fanout) Feed(ctx context.Context, property, channel string, after int64, limit int) ([]FeedEntry, error) {
	p, c, err := f.pmsChannel(ctx, property, channel)
	if err != nil {
		return nil, err
	}
	switch {
	case limit < 0:
		return nil, inventory.Errorf(inventory.EINVALID, "limit must not be negative")
	case limit == 0:
		limit = 100
	case limit > 1000:
		limit = 1000
	}
	entries, err := f.feedEntries(ctx, `e.property_id = $1 AND e.channel_id = $2 AND e.acked_at IS NULL AND e.id > $3
		ORDER BY e.id LIMIT $4`, p, c, after, limit)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 && after > 0 {
		if err := f.checkFeedCursor(ctx, after); err != nil {
			return nil, err
		}
	}
	if entries == nil {
		entries = []FeedEntry{}
	}
	return entries, nil
}

// checkFeedCursor refuses a feed cursor beyond the last feed id this
// database has issued (ECONFLICT). A PMS can only have been given such an
// id by the database as it was before a restore from a backup: answered an
// empty feed, it would read nothing until new ids passed its cursor, and
// then skip every revision given an id below it — ids the PMS had seen
// before, now given to other revisions. A sequence never goes back but by
// a restore: after a crash, or on a promoted standby, it is ahead, if
// anything, of the ids it gave.
func (f *Fanout) checkFeedCursor(ctx context.Context, after int64) error {
	var last int64
	if err := f.db.QueryRow(ctx, `SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('feed_entries', 'id')::regclass), 0)`).
		Scan(&last); err != nil {
		return err
	}
	if after <= last {
		return nil
	}
	f.log.Warn("a PMS read its feed after a feed id keyrack has not issued: was the database restored from a backup?",
		"after", after, "last_feed_id", last)
	return inventory.Errorf(inventory.ECONFLICT, "after=%d is beyond this feed: the last feed id this keyrack has issued is %d. "+
		"keyrack's database has probably been restored from a backup, so it holds only the revisions it had then: "+
		"read the feed again from after=0 and apply each revision's reservation as it stands now (revisions you have already "+
		"applied come again; those after the backup are lost to keyrack and are sent again only if their channel sends them again)",
		after, last)
}

// Ack records that a PMS channel has the revision of feed entry id. Acking
// again is a no-op; an id not on any of the property's feeds is ENOTFOUND,
// and one on another channel's feed ECONFLICT. It resolves the entry's
// open incidents (not acknowledged in time, webhook failed).
//
// The webhook of the reservation's next revision, which may be waiting for
// this one (errOlderFirst), no longer waits for it: it is woken, as when
// this one is delivered, rather than left to the end of a wait that
// followed this one's retries — a PMS that reads its feed while its
// endpoint keeps failing on one revision would otherwise get the next one
// only minutes later.
func (f *Fanout) Ack(ctx context.Context, property, channel string, id int64) error {
	p, c, err := f.pmsChannel(ctx, property, channel)
	if err != nil {
		return err
	}
	var first bool
	err = pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
		var owner int64
		err := tx.QueryRow(ctx, `SELECT channel_id, acked_at IS NULL FROM feed_entries
			WHERE property_id = $1 AND id = $2 FOR UPDATE`, p, id).Scan(&owner, &first)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return inventory.Errorf(inventory.ENOTFOUND, "feed entry %d not found", id)
		case err != nil:
			return err
		case owner != c:
			return inventory.Errorf(inventory.ECONFLICT, "feed entry %d is not on the feed of channel %s", id, channel)
		case !first:
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE feed_entries SET acked_at = now() WHERE property_id = $1 AND id = $2`, p, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE incidents SET resolved_at = now(), resolved_by = $3, updated_at = now()
			WHERE property_id = $1 AND feed_entry_id = $2 AND resolved_at IS NULL`, p, id, "ack:"+channel)
		return err
	})
	if err == nil && first {
		// In the background: the wake may wait up to 2 s for the next
		// revision's task to finish a look, or for an unreachable Redis,
		// and the PMS's acknowledgement is done once it is committed.
		go func() {
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			f.wakeNextRevision(wctx, webhookPayload{Property: p, Feed: id})
		}()
	}
	return err
}

// RecentFeed is how many of a PMS channel's latest feed entries staff see
// (SentRevisions) and its status looks at (ChannelStatus.LastWebhook).
const RecentFeed = 50

// SentRevision is a reservation revision sent to a PMS channel, as staff
// follow it: when it was put on the channel's feed, how its webhook went and
// whether the PMS acknowledged it.
type SentRevision struct {
	FeedID        int64
	Created       time.Time
	ReservationID int64  // keyrack's
	ExternalID    string // the origin channel's
	Origin        string // the channel the reservation came from
	RevisionSeq   int
	Kind          inventory.RevisionKind
	// Webhook: sent by webhook too (the channel had an endpoint).
	Webhook       bool
	Attempts      int
	LastAttemptAt *time.Time
	DeliveredAt   *time.Time // the receiver answered 2xx
	FailedAt      *time.Time // the webhook was given up
	AckedAt       *time.Time // the PMS acknowledged it
	LastError     string     // of the last failed attempt, until one succeeds
}

// SentRevisions lists the RecentFeed latest revisions put on a PMS
// channel's feed, acknowledged or not, newest first.
func (f *Fanout) SentRevisions(ctx context.Context, property, channel string) ([]SentRevision, error) {
	p, c, err := f.pmsChannel(ctx, property, channel)
	if err != nil {
		return nil, err
	}
	rows, _ := f.db.Query(ctx, `
		SELECT e.id, e.created_at, e.reservation_id, r.external_id, oc.code, e.revision_seq, rv.kind,
			e.webhook, e.attempts, e.last_attempt_at, e.delivered_at, e.failed_at, e.acked_at, coalesce(e.last_error, '')
		FROM (SELECT * FROM feed_entries WHERE property_id = $1 AND channel_id = $2 ORDER BY id DESC LIMIT $3) AS e
		JOIN reservations r ON r.property_id = e.property_id AND r.id = e.reservation_id
		JOIN channels oc ON oc.property_id = r.property_id AND oc.id = r.channel_id
		JOIN reservation_revisions rv ON rv.property_id = e.property_id AND rv.reservation_id = e.reservation_id
			AND rv.seq = e.revision_seq
		ORDER BY e.id DESC`, p, c, RecentFeed)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (SentRevision, error) {
		var s SentRevision
		err := row.Scan(&s.FeedID, &s.Created, &s.ReservationID, &s.ExternalID, &s.Origin, &s.RevisionSeq, &s.Kind,
			&s.Webhook, &s.Attempts, &s.LastAttemptAt, &s.DeliveredAt, &s.FailedAt, &s.AckedAt, &s.LastError)
		return s, err
	})
}

// pmsChannel resolves the codes of a property and one of its PMS channels.
func (f *Fanout) pmsChannel(ctx context.Context, property, channel string) (p, c int64, err error) {
	var kind *string
	var cid *int64
	err = f.db.QueryRow(ctx, `SELECT p.id, c.id, c.kind FROM properties p
		LEFT JOIN channels c ON c.property_id = p.id AND c.code = $2
		WHERE p.code = $1`, property, channel).Scan(&p, &cid, &kind)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, 0, inventory.Errorf(inventory.ENOTFOUND, "property %s not found", property)
	case err != nil:
		return 0, 0, err
	case cid == nil:
		return 0, 0, inventory.Errorf(inventory.ENOTFOUND, "channel %s not found", channel)
	case *kind != string(inventory.ChannelPMS):
		return 0, 0, inventory.Errorf(inventory.EINVALID, "channel %s is not a PMS channel", channel)
	}
	return p, *cid, nil
}

// feedEntries reads feed entries with their revision and the reservation's
// current state; where filters and orders entries e.
func (f *Fanout) feedEntries(ctx context.Context, where string, args ...any) ([]FeedEntry, error) {
	rows, _ := f.db.Query(ctx, `
		SELECT e.id, p.code, c.code, oc.code, e.created_at, r.id, r.external_id,
			rv.seq, rv.kind, rv.received_at, rv.revision,
			r.status, r.parked, r.arrival, r.departure, r.stays, r.guest, r.total::text, r.currency,
			r.revisions, r.created_at, r.updated_at,
			e.webhook, e.delivered_at, e.attempts, coalesce(e.last_error, '')
		FROM feed_entries e
		JOIN properties p ON p.id = e.property_id
		JOIN channels c ON c.property_id = e.property_id AND c.id = e.channel_id
		JOIN reservations r ON r.property_id = e.property_id AND r.id = e.reservation_id
		JOIN channels oc ON oc.property_id = r.property_id AND oc.id = r.channel_id
		JOIN reservation_revisions rv ON rv.property_id = e.property_id AND rv.reservation_id = e.reservation_id
			AND rv.seq = e.revision_seq
		WHERE `+where, args...)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (FeedEntry, error) {
		var e FeedEntry
		var rev inventory.Revision
		var arrival, departure *inventory.Date
		var total, currency *string
		res := &e.Reservation
		err := row.Scan(&e.FeedID, &e.Property, &e.Channel, &e.Origin, &e.Created, &e.ReservationID, &e.ExternalID,
			&e.RevisionSeq, &e.Kind, &e.ReceivedAt, &rev,
			&res.Status, &res.Parked, &arrival, &departure, &res.Stays, &res.Guest, &total, &currency,
			&res.Revisions, &res.CreatedAt, &res.UpdatedAt,
			&e.Webhook, &e.DeliveredAt, &e.Attempts, &e.LastError)
		if err != nil {
			return e, err
		}
		res.ID, res.Property, res.Channel, res.ExternalID = e.ReservationID, e.Property, e.Origin, e.ExternalID
		if arrival != nil && departure != nil {
			res.Arrival, res.Departure = *arrival, *departure
		}
		if total != nil {
			res.Total = *total
		}
		if currency != nil {
			res.Currency = *currency
		}
		if res.Stays == nil {
			res.Stays = []inventory.RoomStay{}
		}
		e.Status = res.Status
		e.Stays, e.Guest, e.Total, e.Currency = rev.Stays, rev.Guest, rev.Total, rev.Currency
		if e.Stays == nil {
			e.Stays = []inventory.RoomStay{}
		}
		return e, nil
	})
}
