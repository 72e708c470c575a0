package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/inventory"
)

// Pull mode (Booking.com style): keyrack polls an ota_pull channel for the
// reservations it holds for the hotel: at pull_url, and at pull_modify_url
// too for a channel that serves modifications and cancellations on a queue
// of their own (Booking.com's OTA_HotelResModifyNotif), each queue fetched
// and acknowledged at its own URL. While it leads, the elected scheduler
// looks every PullCheckInterval for channels whose poll is due (pulled_at
// older than pull_interval_s), records the attempt and enqueues one task per
// channel and slot. The task fetches the pending reservations (GET pull_url),
// applies them like pushed ones (ApplyOTA) and then acknowledges (POST
// pull_url, with the RS answering the RQ fetched) only the records that
// were committed: a record that failed is
// not acknowledged, so the channel serves it again at the next poll, and a
// record served again after a lost acknowledgement is applied once (ApplyOTA
// is idempotent by content). Every fetched message is kept with its outcome
// (inbound_messages, direction pull), and the channel's poll state with the
// last error in sync_channels. A failed poll is not retried by asynq: the
// next poll is the retry.

// taskPull is the asynq task "poll channel C of property P".
const taskPull = "ota:pull"

// maxPullBody is the largest fetched message taken, after decompression:
// the channel returns every open reservation at once.
const maxPullBody = 32 << 20

// pullLockSQL is the advisory lock a poll holds, so that two polls of one
// channel never overlap.
const pullLockSQL = `hashtextextended(current_schema() || '/keyrack/sync/pull/' || $1::bigint::text || '/' || $2::bigint::text, 0)`

// pullPayload is a poll task's payload: the pair and the moment the poll
// was asked for (sync_channels.pulled_at, in microseconds), which names
// its task: one per decision to poll. A name per poll interval instead
// made a poll asked for again within the interval — by staff correcting
// the channel (inventory's pollSoon), by a poll ending to find its channel
// changed — collide with the task of the poll still running (whose task
// Redis keeps until just after it ends) or archived (failed, or its
// worker killed), and be taken as enqueued: the channel went unpolled for
// the rest of the interval, an hour for a channel polled hourly.
type pullPayload struct {
	pair
	Slot int64 `json:"slot"`
}

func pullTaskID(p pullPayload) string {
	return fmt.Sprintf("pull:%d:%d:%d", p.Property, p.Channel, p.Slot)
}

// schedulePulls runs the scheduling of polls, while the session lead holds
// the lead, until ctx ends or the returned stop is called; stop waits for
// it to finish.
func (f *Fanout) schedulePulls(ctx context.Context, lead uint32) (stop func()) {
	return f.everyInBackground(ctx, f.cfg.PullCheckInterval, "scheduling channel polls", f.whileLeading(lead, func(ctx context.Context) (bool, error) {
		return false, f.enqueueDuePulls(ctx)
	}))
}

// enqueueDuePulls enqueues a poll of every enabled ota_pull channel with a
// pull URL whose poll is due. Without a Store there is nothing to apply
// pulled reservations with, so nothing is polled.
func (f *Fanout) enqueueDuePulls(ctx context.Context) error {
	if f.cfg.Store == nil {
		return nil
	}
	rows, _ := f.db.Query(ctx, `
		SELECT c.property_id, c.id, c.pull_interval_s FROM channels c
		LEFT JOIN sync_channels s ON s.property_id = c.property_id AND s.channel_id = c.id
		WHERE c.enabled AND c.kind = 'ota_pull' AND c.pull_url <> ''
			AND coalesce(s.pulled_at, '-infinity') <= now() - c.pull_interval_s * interval '1 second'
		ORDER BY s.pulled_at NULLS FIRST LIMIT 1000`)
	type due struct {
		pair
		interval int
	}
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var d due
		err := r.Scan(&d.Property, &d.Channel, &d.interval)
		return d, err
	})
	if err != nil {
		return err
	}
	for _, d := range todo {
		if err := f.enqueuePull(ctx, d.pair, d.interval); err != nil {
			if f.redisDown.Load() {
				f.pullsFailingSince.CompareAndSwap(0, time.Now().UnixNano())
			}
			return err
		}
	}
	f.pullsFailingSince.Store(0)
	return nil
}

// enqueuePull records the attempt to poll p and enqueues its task, in one
// transaction: if Redis does not take the task, the poll stays due. The
// attempt is recorded only if the poll is still due, under the row's
// lock, so two schedulers (a brief overlap of leaders) or two ticks enqueue
// it once.
func (f *Fanout) enqueuePull(ctx context.Context, p pair, interval int) error {
	return pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
		var at time.Time
		err := tx.QueryRow(ctx, `
			INSERT INTO sync_channels (property_id, channel_id, pulled_at) VALUES ($1, $2, now())
			ON CONFLICT (property_id, channel_id) DO UPDATE SET pulled_at = now()
			WHERE coalesce(sync_channels.pulled_at, '-infinity') <= now() - $3::int * interval '1 second'
			RETURNING pulled_at`, p.Property, p.Channel, interval).Scan(&at)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // not due any more: polled meanwhile
		}
		if err != nil {
			return err
		}
		pl := pullPayload{pair: p, Slot: at.UnixMicro()}
		payload, err := json.Marshal(pl)
		if err != nil {
			return err
		}
		ectx, cancel := context.WithTimeout(ctx, enqueueTimeout)
		defer cancel()
		_, err = f.client.EnqueueContext(ectx, asynq.NewTask(taskPull, payload),
			asynq.Queue(f.queueName(classCritical)),
			asynq.TaskID(pullTaskID(pl)),
			asynq.MaxRetry(0),
			// Up to four requests: a fetch and an acknowledgement per queue.
			asynq.Timeout(4*f.cfg.PushTimeout+time.Minute))
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			err = nil
		}
		f.noteRedis(err)
		return err
	})
}

// handlePullTask is the asynq handler of taskPull.
func (f *Fanout) handlePullTask(ctx context.Context, t *asynq.Task) error {
	var p pullPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("sync: unreadable poll task: %v: %w", err, asynq.SkipRetry)
	}
	return f.pull(ctx, p.pair)
}

// pull polls a channel once, unless a poll of it runs already. What fails
// on the channel's side is recorded, not returned: the next poll retries.
func (f *Fanout) pull(ctx context.Context, p pair) error {
	if f.cfg.Store == nil {
		return nil
	}
	conn, err := f.db.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	defer conn.Release()
	// A channel that staff changed during the poll (its pull URLs, hotel
	// code, envelope or credentials: what this poll did not use) is polled
	// again at once: the poll the change asked for (inventory's pollSoon)
	// found this one running. Made due once this poll's lock is released
	// (deferred before it, so run after): made due before, the next poll
	// could come while the lock was still held, and find this one running
	// too.
	var changed bool
	defer func() {
		if !changed {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := f.db.Exec(ctx, `UPDATE sync_channels SET pulled_at = NULL WHERE property_id = $1 AND channel_id = $2`,
			p.Property, p.Channel); err != nil {
			f.log.Warn("could not make the poll of a channel changed during its poll due; it comes at its interval", "err", err)
		}
	}()
	var mine bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+pullLockSQL+`)`, p.Property, p.Channel).Scan(&mine); err != nil || !mine {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+pullLockSQL+`)`, p.Property, p.Channel); err != nil {
			_ = conn.Conn().Close(ctx)
		}
	}()
	var ch channelRow
	var pullURL, modifyURL string
	err = conn.QueryRow(ctx, `
		SELECT p.code, c.code, c.kind, c.enabled, c.hotel_code, c.outbound_username, c.outbound_secret_sealed,
			c.envelope, c.pull_url, c.pull_modify_url
		FROM channels c JOIN properties p ON p.id = c.property_id
		WHERE c.property_id = $1 AND c.id = $2`, p.Property, p.Channel).
		Scan(&ch.Property, &ch.Code, &ch.Kind, &ch.Enabled, &ch.HotelCode, &ch.Username, &ch.SecretSeal, &ch.Envelope, &pullURL, &modifyURL)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil // deleted
	case err != nil:
		return fmt.Errorf("sync: %w", err)
	case !ch.Enabled || ch.Kind != inventory.ChannelOTAPull || pullURL == "":
		return nil // changed since the poll was scheduled
	}
	// When the previous poll that got the channel's message began: what the
	// channel serves now was sold since (OTAChannel.LastFetch). This poll's
	// own start is recorded as the next one's.
	var lastFetch *time.Time
	var started time.Time
	if err := conn.QueryRow(ctx, `SELECT (SELECT pull_ok_at FROM sync_channels WHERE property_id = $1 AND channel_id = $2), clock_timestamp()`,
		p.Property, p.Channel).Scan(&lastFetch, &started); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	och := OTAChannel{Property: ch.Property, Code: ch.Code, HotelCode: ch.HotelCode, Pulled: true}
	if lastFetch != nil {
		och.LastFetch = *lastFetch
	}
	taken, problem := f.pullOnce(ctx, ch, och, pullURL)
	if modifyURL != "" {
		// After the new bookings: a booking and its change pending together
		// are applied in that order.
		modified, mproblem := f.pullOnce(ctx, ch, och, modifyURL)
		for i := range modified.Refused {
			modified.Refused[i].Queue = "modification"
		}
		taken.Records += modified.Records
		taken.Refused = append(taken.Refused, modified.Refused...)
		problem = joinPullProblems(problem, mproblem)
	}
	fetched := !errors.Is(problem, errFetch) // every queue's message got
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var msg *string
	if problem != nil {
		s := problem.Error()
		msg = &s
		f.log.Warn("poll of an OTA channel failed", "channel", ch.Property+"/"+ch.Code, "err", problem)
	}
	// A poll that got the channel's message is ok even if some of it could
	// not be applied (pull_error then says what); pull_ok_at is when it began.
	// pull_failing_since is when the polls began to get nothing (raiseStalePulls).
	// Whether staff changed the channel meanwhile (see changed above).
	err = conn.QueryRow(bctx, `UPDATE sync_channels SET
			pull_ok_at = CASE WHEN $3 THEN $5 ELSE pull_ok_at END,
			pull_failing_since = CASE WHEN $3 THEN NULL ELSE coalesce(pull_failing_since, $5) END,
			pull_error = $4, pull_error_at = CASE WHEN $4::text IS NULL THEN NULL ELSE now() END
		WHERE property_id = $1 AND channel_id = $2
		RETURNING EXISTS (SELECT 1 FROM channels c WHERE c.property_id = $1 AND c.id = $2
			AND (c.pull_url, c.pull_modify_url, c.hotel_code, c.envelope, c.outbound_username, c.outbound_secret_sealed)
				IS DISTINCT FROM ($6::text, $7::text, $8::text, $9::text, $10::text, $11::bytea))`,
		p.Property, p.Channel, fetched, msg, started,
		pullURL, modifyURL, ch.HotelCode, ch.Envelope, ch.Username, ch.SecretSeal).Scan(&changed)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return notePullRefused(bctx, conn, p, ch.Code, taken, fetched)
}

// pullTaken is what became of the reservation records a poll fetched.
type pullTaken struct {
	Records int             // records served
	Refused []refusedRecord // those not taken, so not acknowledged
}

// refusedRecord is a pulled reservation record keyrack did not take (a
// per-record error of ApplyOTA): not acknowledged, so the channel serves it
// again at each poll, while the guest's booking is confirmed there.
type refusedRecord struct {
	ID     string `json:"id,omitempty"`    // the channel's reservation id, when the record has one
	Record int    `json:"record"`          // its 1-based place in the message
	Queue  string `json:"queue,omitempty"` // "modification" when served on the modification queue
	Reason string `json:"reason"`
}

// The bounds of a pull_refused incident: the records its message names
// and the length of each reason there, and the records its details list and
// the length of each reason there. A channel may serve thousands of records
// refused for one wrong setting; the count says how many.
const (
	refusedInMessage     = 5
	refusedReasonMessage = 200
	refusedInDetails     = 50
	refusedReasonDetails = 500
)

// notePullRefused keeps the channel's pull_refused incident in step with a
// poll: opened (or updated, one open per channel) when the poll refused
// records, naming them; resolved when the poll got every queue's message
// and refused none. A poll that got nothing from a queue and refused
// nothing elsewhere leaves it as it is: what that queue holds is not known.
// A channel no longer polled (disabled, its pull URL cleared) gets none:
// RaiseStalePulls resolves its open one.
func notePullRefused(ctx context.Context, conn *pgxpool.Conn, p pair, channel string, taken pullTaken, fetched bool) error {
	if len(taken.Refused) == 0 {
		if !fetched {
			return nil
		}
		_, err := conn.Exec(ctx, `UPDATE incidents SET resolved_at = now(), resolved_by = 'system:pull', updated_at = now()
			WHERE property_id = $1 AND channel_id = $2 AND kind = 'pull_refused' AND resolved_at IS NULL`,
			p.Property, p.Channel)
		return err
	}
	message, details := pullRefusedIncident(channel, taken)
	_, err := conn.Exec(ctx, `
		INSERT INTO incidents (property_id, kind, channel_id, message, details)
		SELECT c.property_id, 'pull_refused', c.id, $3, $4 FROM channels c
		WHERE c.property_id = $1 AND c.id = $2 AND c.enabled AND c.kind = 'ota_pull' AND c.pull_url <> ''
		ON CONFLICT (property_id, channel_id) WHERE kind = 'pull_refused' AND resolved_at IS NULL
		DO UPDATE SET message = excluded.message, details = excluded.details, updated_at = now()`,
		p.Property, p.Channel, message, details)
	return err
}

// pullRefusedIncident words a pull_refused incident: what was refused and
// why, what it means and what to do, bounded in length.
func pullRefusedIncident(channel string, taken pullTaken) (string, map[string]any) {
	n := len(taken.Refused)
	listed := make([]refusedRecord, 0, min(n, refusedInDetails))
	var named []string
	for i, r := range taken.Refused {
		if i < refusedInMessage {
			named = append(named, r.label()+": "+clip(r.Reason, refusedReasonMessage))
		}
		if i < refusedInDetails {
			r.Reason = clip(r.Reason, refusedReasonDetails)
			listed = append(listed, r)
		}
	}
	if n > refusedInMessage {
		named = append(named, fmt.Sprintf("and %d more", n-refusedInMessage))
	}
	which := fmt.Sprintf("%d of the %d reservations", n, taken.Records)
	switch {
	case n == 1 && taken.Records == 1:
		which = "the reservation"
	case n == taken.Records:
		which = fmt.Sprintf("all %d reservations", n)
	}
	message := fmt.Sprintf("keyrack refused %s %s served at its last poll, so did not acknowledge them (%s). "+
		"They are confirmed at %s, not in keyrack: the other channels still sell these rooms, and %s serves them again at each poll. "+
		"If keyrack's setting is wrong (the channel's hotel code), correct it on the channel's page: the next poll takes them. "+
		"Otherwise ask %s to correct or cancel them (a test booking must not be sent to the live hotel), "+
		"and meanwhile close the rooms they took on the grid so they are not sold twice.",
		which, channel, strings.Join(named, "; "), channel, channel, channel)
	return message, map[string]any{"channel": channel, "served": taken.Records, "refused": n, "records": listed}
}

// label names a refused record for staff: by the channel's id, or its
// place in the message when it has none.
func (r refusedRecord) label() string {
	s := fmt.Sprintf("record %d", r.Record)
	if r.ID != "" {
		s = "reservation " + r.ID
	}
	if r.Queue != "" {
		s += " (" + r.Queue + " queue)"
	}
	return s
}

// clip cuts s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// maxPullProblems is how many refused records a poll's error names.
const maxPullProblems = 10

// errFetch marks a poll that got no message from the channel.
var errFetch = errors.New("fetch failed")

// joinPullProblems is what went wrong with a poll of a channel's two
// queues, the new bookings' (first) and the modifications' (second): a poll
// that got nothing from either queue got no message (errFetch), since what
// that queue holds is not reaching keyrack.
func joinPullProblems(first, modify error) error {
	if modify == nil {
		return first
	}
	modify = fmt.Errorf("modification queue: %w", modify)
	if first == nil {
		return modify
	}
	return fmt.Errorf("%w; %w", first, modify)
}

// pullOnce fetches the channel's pending reservations, applies them,
// acknowledges the ones committed and keeps the message. It returns the
// records served and those refused, and what went wrong, wrapping errFetch
// when no message was got.
func (f *Fanout) pullOnce(ctx context.Context, ch channelRow, och OTAChannel, pullURL string) (taken pullTaken, _ error) {
	target, err := (&delivery{f: f, ch: ch}).target()
	if err != nil {
		return taken, fmt.Errorf("%w: %w", errFetch, err)
	}
	env, err := otaxml.ParseEnvelope(target.Envelope)
	if err != nil {
		return taken, fmt.Errorf("%w: %w", errFetch, err)
	}
	rec := inventory.InboundMessage{Property: ch.Property, Channel: ch.Code, Direction: "pull", Remote: pullURL, Outcome: "failed"}
	defer func() {
		if rec.Raw == "" && rec.HTTPStatus == 0 {
			return // nothing came back
		}
		if _, err := f.cfg.Store.RecordInbound(context.WithoutCancel(ctx), rec); err != nil {
			f.log.Error("a pulled message could not be stored", "channel", ch.Property+"/"+ch.Code, "err", err)
		}
	}()
	client := pullClient(f.cfg.PullAllowPrivate)
	body, status, err := pullRequest(ctx, client, http.MethodGet, pullURL, target, env, nil, f.cfg.PushTimeout)
	rec.Raw, rec.HTTPStatus = string(body), status
	if err != nil {
		rec.Detail = err.Error()
		return taken, fmt.Errorf("%w: %w", errFetch, err)
	}
	m, perr := otaxml.Parse(body)
	if m != nil {
		rec.Message, rec.EchoToken = m.Name, m.EchoToken
	}
	switch {
	case perr != nil:
		err = fetchError(body, perr)
	case !m.IsReservation():
		err = fmt.Errorf("the channel sent %s, not reservations", m.Name)
	}
	if err != nil {
		rec.Detail = err.Error()
		return taken, fmt.Errorf("%w: %w", errFetch, err)
	}

	results := ApplyOTA(ctx, f.cfg.Store, och, m, body)
	rec.Raw = KeptMessage(rec.Raw, results)
	rec.Records = len(results)
	rec.Outcome, rec.Detail = OTAOutcome(results)
	var problems []string
	failed := 0
	taken.Records = len(results)
	for _, r := range results {
		if r.Err != nil {
			failed++
			problems = append(problems, fmt.Sprintf("reservation %s: %s", r.Record.ID, r.Err.Msg))
			taken.Refused = append(taken.Refused, refusedRecord{ID: r.Record.ID, Record: r.Record.Record, Reason: r.Err.Msg})
		}
	}
	if failed > 0 {
		// The channel's poll error names the first few (the pull_refused
		// incident lists more): a message of hundreds of refused records
		// was written whole into the channel's state at every poll.
		if len(problems) > maxPullProblems {
			problems = append(problems[:maxPullProblems], fmt.Sprintf("and %d more", len(problems)-maxPullProblems))
		}
		problems = []string{fmt.Sprintf("%d of %d reservations not applied, so not acknowledged (they come again at the next poll): %s",
			failed, len(results), strings.Join(problems, "; "))}
	}
	// Only records committed are acknowledged: a record is never acked
	// before it is kept. A message without reservations (nothing pending)
	// has nothing to acknowledge.
	if failed < len(results) {
		// The answer to what was fetched: a modification queue takes an
		// OTA_HotelResModifyNotifRS, and refuses an OTA_HotelResNotifRS.
		ack := otaxml.EncodeAck(otaxml.Out{Envelope: env, HotelCode: ch.HotelCode, EchoToken: m.EchoToken, TimeStamp: time.Now(),
			Username: target.Username, Password: target.Secret}, m.Name, results)
		rec.Reply = string(ack)
		answer, _, err := pullRequest(ctx, client, http.MethodPost, pullURL, target, env, ack, f.cfg.PushTimeout)
		if err == nil {
			if rs, perr := otaxml.ParseResponse(answer); perr == nil && len(rs.Errors) > 0 {
				err = otaErrors(rs.Errors)
			}
		}
		if err != nil {
			problems = append(problems, "acknowledgement failed (the reservations come again and are applied once): "+err.Error())
			rec.Detail = strings.TrimSpace(rec.Detail + "\nacknowledgement failed: " + err.Error())
		}
	}
	if len(problems) > 0 {
		return taken, errors.New(strings.Join(problems, "; "))
	}
	return taken, nil
}

// pullClients are the polls' HTTP clients: [0] refuses private addresses,
// [1] (PullAllowPrivate) allows them. Whoever sets a pull URL (an API key
// of the property) chooses where keyrack connects, and reads the answer
// back as the channel's message: a pull URL on the deployment's network (a
// cloud's metadata service, an admin page) must not be fetched. Neither
// follows redirects (connectors.NoRedirects).
var pullClients = [2]*http.Client{pullClientFor(false), pullClientFor(true)}

func pullClientFor(allowPrivate bool) *http.Client {
	guard := connectors.DialGuard{AllowPrivate: allowPrivate, What: "pull URLs", Setting: "KEYRACK_PULL_ALLOW_PRIVATE"}
	return connectors.NoRedirects(&http.Client{Transport: guard.Transport()})
}

func pullClient(allowPrivate bool) *http.Client {
	if allowPrivate {
		return pullClients[1]
	}
	return pullClients[0]
}

// pullRequest makes one request to a pull URL with the channel's
// credentials as HTTP Basic, and reads the answer; a non-2xx answer is an
// error.
func pullRequest(ctx context.Context, client *http.Client, method, url string, target connectors.Channel, env otaxml.Envelope, body []byte, timeout time.Duration) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", env.ContentType())
	}
	if target.Username != "" || target.Secret != "" {
		req.SetBasicAuth(target.Username, target.Secret)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", method, target, connectors.RedactURLError(err))
	}
	defer res.Body.Close()
	out, err := otaxml.ReadMessage(res.Body, res.Header, maxPullBody)
	if err != nil {
		return out, res.StatusCode, fmt.Errorf("%s %s: read the answer: %w", method, target, err)
	}
	if res.StatusCode/100 != 2 {
		return out, res.StatusCode, fmt.Errorf("%s %s: HTTP %d: %.200s", method, target, res.StatusCode, out)
	}
	return out, res.StatusCode, nil
}

// fetchError says why a fetched message cannot be read: the channel's OTA
// Errors when it answered with them, else the parser's error.
func fetchError(body []byte, perr error) error {
	if rs, err := otaxml.ParseResponse(body); err == nil && len(rs.Errors) > 0 {
		return otaErrors(rs.Errors)
	}
	return perr
}

// otaErrors is the OTA Errors a channel answered, as one error.
func otaErrors(es []otaxml.Error) error {
	msgs := make([]string, len(es))
	for i := range es {
		msgs[i] = es[i].Error()
	}
	return errors.New("the channel answered " + strings.Join(msgs, "; "))
}

// OTAOutcome says what became of a message's reservation records, as kept
// with the message (inventory.InboundMessage): the outcome (ok; partial
// when some records were not applied; failed when none was) and every
// error and warning, for staff.
func OTAOutcome(results []otaxml.Result) (outcome, detail string) {
	var b strings.Builder
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			b.WriteString("record " + r.Err.RecordID + " (" + r.Record.ID + "): " + r.Err.Error() + "\n")
		}
		for _, w := range r.Warnings {
			b.WriteString("record " + r.Record.ID + " warning: " + w.Error() + "\n")
		}
	}
	outcome = "ok"
	switch {
	case failed > 0 && failed == len(results):
		outcome = "failed"
	case failed > 0:
		outcome = "partial"
	}
	return outcome, strings.TrimSpace(b.String())
}

// RaiseStalePulls opens a stale-pull incident for every enabled pull-mode
// channel whose polls have got nothing from it for PullStaleAfter (and for
// at least two of its poll intervals) while it is being polled, and
// resolves the open ones whose channel was polled well since, disabled or
// given no pull URL — and the pull_refused ones of a channel disabled or
// given no pull URL, which no poll will resolve. It returns
// how many channels are stale now. A channel keyrack cannot poll sends it
// no bookings: the rooms it sold stay for sale on the others. The elected
// scheduler runs it with its periodic work.
//
// A channel not polled (disabled, or without a pull URL) ends its run of
// failed polls: polled again, it is judged by its polls from then on, not
// stale the moment the first of them is asked for, or fails once, because
// its polls failed before the pause.
func (f *Fanout) RaiseStalePulls(ctx context.Context) (int, error) {
	var stale int
	var raise []int64
	err := f.db.QueryRow(ctx, `
		WITH paused AS (
			UPDATE sync_channels s SET pull_failing_since = NULL
			FROM channels c
			WHERE c.property_id = s.property_id AND c.id = s.channel_id AND s.pull_failing_since IS NOT NULL
				AND NOT (c.enabled AND c.kind = 'ota_pull' AND c.pull_url <> '')
		), stale AS (`+stalePullsSQL+`), resolved AS (
			UPDATE incidents i SET resolved_at = now(), resolved_by = 'system:pull', updated_at = now()
			WHERE i.kind = 'stale_pull' AND i.resolved_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM stale WHERE stale.property_id = i.property_id AND stale.id = i.channel_id)
		), unpolled AS (
			-- A channel no longer polled has no poll to resolve its
			-- refused records' incident (notePullRefused).
			UPDATE incidents i SET resolved_at = now(), resolved_by = 'system:pull', updated_at = now()
			FROM channels c
			WHERE i.kind = 'pull_refused' AND i.resolved_at IS NULL
				AND c.property_id = i.property_id AND c.id = i.channel_id
				AND NOT (c.enabled AND c.kind = 'ota_pull' AND c.pull_url <> '')
		)
		SELECT count(*), coalesce(array_agg(DISTINCT s.property_id) FILTER (WHERE NOT EXISTS (SELECT 1 FROM incidents i
			WHERE i.property_id = s.property_id AND i.channel_id = s.id AND i.kind = 'stale_pull' AND i.resolved_at IS NULL)), '{}')
		FROM stale s`, f.cfg.PullStaleAfter, nil).Scan(&stale, &raise)
	if err == nil {
		// In each property's zone: the message says since when as its pages do.
		err = inventory.ExecInPropertyZones(ctx, f.db, raise, `
				WITH stale AS (`+stalePullsSQL+`)
				INSERT INTO incidents (property_id, kind, channel_id, message, details)
				SELECT property_id, 'stale_pull', id,
					format('keyrack has got nothing from %s since %s: its bookings are not reaching keyrack, and what it sold is still for sale on the other channels (%s)',
						code, to_char(pull_failing_since, 'YYYY-MM-DD HH24:MI TZ'), coalesce(pull_error, 'no error recorded')),
					jsonb_build_object('channel', code, 'failing_since', pull_failing_since, 'last_ok_at', pull_ok_at, 'last_error', pull_error)
				FROM stale
				ON CONFLICT DO NOTHING`, f.cfg.PullStaleAfter)
	}
	return stale, err
}

// stalePullsSQL selects the stale pull-mode channels (see RaiseStalePulls):
// $1 is PullStaleAfter, $2 a property, or NULL for every one.
const stalePullsSQL = `
	SELECT c.property_id, c.id, c.code, s.pull_failing_since, s.pull_ok_at, s.pull_error
	FROM channels c
	JOIN sync_channels s ON s.property_id = c.property_id AND s.channel_id = c.id
	WHERE c.enabled AND c.kind = 'ota_pull' AND c.pull_url <> ''
		AND s.pull_failing_since < now() - greatest($1::interval, 2 * c.pull_interval_s * interval '1 second')
		-- and its polls asked for lately: a channel whose polls are
		-- not even enqueued (Redis down) is Overdue's to report.
		AND s.pulled_at > now() - (2 * c.pull_interval_s + 120) * interval '1 second'
		AND ($2::bigint IS NULL OR c.property_id = $2)`

func (f *Fanout) raiseStalePulls(ctx context.Context) error {
	_, err := f.RaiseStalePulls(ctx)
	return err
}
