package web

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
)

// DefaultOTAMaxBody is the largest OTA message taken, after decompression:
// room for a batch of a thousand reservations.
const DefaultOTAMaxBody = 16 << 20

// maxUnauthenticatedKept is how much of a message from a sender that could
// not be authenticated is kept for staff to see.
const maxUnauthenticatedKept = 16 << 10

// otaKinds are the channel kinds that push OTA XML to /ota/{channel}.
var otaKinds = []inventory.ChannelKind{inventory.ChannelOTAPush, inventory.ChannelGDS}

func (s *Server) routeOTA(e *gin.Engine) {
	e.POST("/ota/:channel", s.otaPush)
}

// otaMethods answers a request at the OTA endpoint of another method than
// POST: 405 with Allow (a GET probe or a browser checking the URL was told
// 404, as though the endpoint did not exist) and OTA Errors saying how to
// send. Nothing is read or stored. Like adminMethods it runs before any
// route's chain.
func otaMethods(c *gin.Context) {
	ch, ok := strings.CutPrefix(c.Request.URL.Path, "/ota/")
	if !ok || ch == "" || strings.Contains(ch, "/") || c.Request.Method == http.MethodPost {
		return
	}
	c.Header("Allow", http.MethodPost)
	reply := otaxml.ErrorReply(nil, []*otaxml.Error{otaxml.Errorf(otaxml.TypeProtocol, 0,
		"keyrack takes OTA messages here by POST (raw XML or a SOAP envelope), not by %s", c.Request.Method)}, time.Now())
	c.Data(http.StatusMethodNotAllowed, otaxml.Raw.ContentType(), reply)
	c.Abort()
}

// otaPush takes an OTA message a channel pushes: raw XML, SOAP 1.1 or SOAP
// 1.2 (GDS/HTNG). The sender is authenticated as the channel named in the
// path, the way that channel is configured to (HTTP Basic, WS-Security
// UsernameToken or RequestorID and MessagePassword); the hotel code picks
// the property among those the channel account serves. Every record is
// applied for that channel, and the reply is the matching RS with per-record
// results. OTA failures are answered as OTA Errors with HTTP 200 (401 when
// authentication fails, 413 when the body is too large); the raw message and
// its outcome are stored either way.
func (s *Server) otaPush(c *gin.Context) {
	ctx := c.Request.Context()
	now := time.Now()
	rec := inventory.InboundMessage{Channel: c.Param("channel"), Direction: "push", Remote: c.ClientIP()}
	limit := s.otaMaxBody
	body, err := otaxml.ReadMessage(http.MaxBytesReader(c.Writer, c.Request.Body, limit), c.Request.Header, limit)
	if err != nil {
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) || errors.Is(err, otaxml.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		s.otaAnswer(c, &rec, nil, status, "failed", []*otaxml.Error{asOTAError(err)}, now)
		return
	}
	rec.Raw = string(otaxml.AsUTF8(body))
	m, perr := otaxml.Parse(body)
	if m != nil {
		rec.Message, rec.EchoToken = m.Name, m.EchoToken
	}
	creds := credentialsOf(c.Request, m)
	// Each user name presented is counted as failing before its secret is
	// checked, and uncounted if the secret proves right: guesses sent at
	// once are limited like guesses sent in turn.
	attempts := otaAttempts(rec.Channel, creds)
	if wait, byClient := s.otaFails.reserve(rec.Remote, attempts, s.now()); wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		why := "from this address with this user name"
		if byClient {
			why = fmt.Sprintf("from this address with more than %d user names", otaClientNames-1)
		}
		s.otaAnswer(c, &rec, m, http.StatusTooManyRequests, "unauthenticated",
			[]*otaxml.Error{otaxml.Errorf(otaxml.TypeAuthentication, otaxml.CodeAuthorization,
				"too many failed authentications for channel %s %s: try again in %s",
				rec.Channel, why, wait.Round(time.Second))}, now)
		return
	}
	chs, err := s.store.InboundChannels(ctx, rec.Channel, creds.users(), otaKinds...)
	if err != nil {
		s.otaFails.release(rec.Remote, attempts) // not checked
		s.log.Error("ota: channels could not be read", "channel", rec.Channel, "err", err)
		s.otaAnswer(c, &rec, m, http.StatusServiceUnavailable, "failed",
			[]*otaxml.Error{otaxml.Errorf(otaxml.TypeProcessing, otaxml.CodeSystemError, "temporary failure at keyrack; please send the message again")}, now)
		return
	}
	checked := chs
	chs = s.authenticateOTA(creds, chs)
	if len(chs) > 0 {
		s.otaFails.release(rec.Remote, uncounted(attempts, checked, chs))
	}
	if len(chs) == 0 {
		rec.Raw = inventory.MaskAndCut(rec.Raw, maxUnauthenticatedKept)
		if m == nil || m.Envelope == otaxml.Raw {
			c.Header("WWW-Authenticate", `Basic realm="keyrack OTA", charset="UTF-8"`)
		}
		why := otaxml.Errorf(otaxml.TypeAuthentication, otaxml.CodeAuthorization,
			"authentication failed for channel %s: check the credentials configured for it", rec.Channel)
		if m != nil && m.UsernameToken != nil && m.UsernameToken.Digest {
			why = otaxml.Errorf(otaxml.TypeAuthentication, otaxml.CodeAuthorization,
				"authentication failed for channel %s: its WS-Security password is a PasswordDigest, which keyrack cannot check "+
					"(it keeps only a hash of the channel's secret); send it as PasswordText, over HTTPS", rec.Channel)
		}
		s.otaAnswer(c, &rec, m, http.StatusUnauthorized, "unauthenticated", []*otaxml.Error{why}, now)
		return
	}
	rec.Property = chs[0].Property
	if perr != nil {
		s.otaAnswer(c, &rec, m, http.StatusOK, "failed", []*otaxml.Error{asOTAError(perr)}, now)
		return
	}
	if !m.IsReservation() {
		s.otaAnswer(c, &rec, m, http.StatusOK, "failed", []*otaxml.Error{otaxml.Errorf(otaxml.TypeNoImplementation, otaxml.CodeUnableToProcess,
			"keyrack takes reservations here (OTA_HotelResNotifRQ, OTA_HotelResModifyNotifRQ, OTA_CancelRQ, OTA_HotelResRQ), not %s", m.Name)}, now)
		return
	}
	results := s.applyOTA(c, m, chs, body, now)
	rec.Raw = sync.KeptMessage(rec.Raw, results)
	rec.Records = len(results)
	rec.Outcome, rec.Detail = sync.OTAOutcome(results)
	reply := otaxml.Reply(m, results, now)
	rec.Reply, rec.HTTPStatus = string(reply), http.StatusOK
	s.keepInbound(c, rec)
	c.Data(http.StatusOK, m.Envelope.ContentType(), reply)
}

// uncounted are the attempts of a request that authenticated (chs, of the
// checked channels) not to count as failures: those that proved right, and
// those no channel was checked with. One checked and wrong stays counted:
// the right secret for one account does not carry guesses at another's.
func uncounted(attempts []otaAttempt, checked, chs []inventory.InboundChannel) []otaAttempt {
	var out []otaAttempt
	for _, a := range attempts {
		right := slices.ContainsFunc(chs, func(ch inventory.InboundChannel) bool { return ch.EffectiveAuth() == a.kind })
		tried := slices.ContainsFunc(checked, func(ch inventory.InboundChannel) bool {
			return ch.EffectiveAuth() == a.kind && ch.InboundUser == a.user
		})
		if right || !tried {
			out = append(out, a)
		}
	}
	return out
}

// presented is what a request presents as credentials, by the way a channel
// may be configured to take them (Channel.EffectiveAuth): HTTP Basic, a
// WS-Security UsernameToken, or the POS RequestorID and MessagePassword.
type presented map[string]credential

type credential struct{ user, secret string }

func credentialsOf(r *http.Request, m *otaxml.Message) presented {
	p := presented{}
	if user, secret, ok := r.BasicAuth(); ok {
		p["basic"] = credential{user, secret}
	}
	// A PasswordDigest cannot be checked (nor counted as a guess: it is new
	// in every message); the 401 says so.
	if m != nil && m.UsernameToken != nil && !m.UsernameToken.Digest {
		p["wsse"] = credential{m.UsernameToken.Username, m.UsernameToken.Password}
	}
	if m != nil && m.Requestor.MessagePassword != "" {
		p["message_password"] = credential{m.Requestor.ID, m.Requestor.MessagePassword}
	}
	return p
}

// users is every user name presented, for looking up the channels.
func (p presented) users() []string {
	users := []string{}
	for _, c := range p {
		users = append(users, c.user)
	}
	return users
}

// authenticateOTA keeps the channels whose inbound credentials the request
// presents, in the way each one is configured to present them.
func (s *Server) authenticateOTA(creds presented, chs []inventory.InboundChannel) []inventory.InboundChannel {
	var out []inventory.InboundChannel
	for _, ch := range chs {
		if c, ok := creds[ch.EffectiveAuth()]; ok && ch.Authenticates(s.secrets, c.user, c.secret) {
			out = append(out, ch)
		}
	}
	return out
}

// applyOTA applies each record for the property its hotel code names among
// the authenticated channels (the only one, when the record names none) and
// returns the results in record order.
func (s *Server) applyOTA(c *gin.Context, m *otaxml.Message, chs []inventory.InboundChannel, body []byte, received time.Time) []otaxml.Result {
	results := make([]otaxml.Result, len(m.Reservations))
	type group struct {
		ch  inventory.InboundChannel
		idx []int
		sub otaxml.Message
	}
	var groups []*group
	byProperty := map[string]*group{}
	for i, r := range m.Reservations {
		ch, ok := pickHotel(chs, r.HotelCode)
		if !ok && r.HotelCode == "" && r.ID != "" {
			var err *otaxml.Error
			if ch, ok, err = s.holderOf(c, chs, r.ID); err != nil {
				results[i] = otaxml.Result{Record: r, Err: err}
				continue
			}
		}
		if !ok {
			results[i] = otaxml.Result{Record: r, Err: unknownHotel(r, len(chs))}
			continue
		}
		g := byProperty[ch.Property]
		if g == nil {
			g = &group{ch: ch, sub: *m}
			g.sub.Reservations = nil
			byProperty[ch.Property] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
		g.sub.Reservations = append(g.sub.Reservations, r)
	}
	for _, g := range groups {
		out := sync.ApplyOTA(c.Request.Context(), s.store,
			sync.OTAChannel{Property: g.ch.Property, Code: g.ch.Code, HotelCode: g.ch.HotelCode, ReceivedAt: received}, &g.sub, body)
		for j, i := range g.idx {
			results[i] = out[j]
		}
	}
	return results
}

// pickHotel finds the channel of the property with this hotel code; a
// record without a hotel code belongs to the channel's only property, and
// so does any record when that property's channel has no hotel code set
// (as sync.ApplyOTA takes it).
func pickHotel(chs []inventory.InboundChannel, hotel string) (inventory.InboundChannel, bool) {
	if hotel == "" || len(chs) == 1 && chs[0].HotelCode == "" {
		return chs[0], len(chs) == 1
	}
	for _, ch := range chs {
		if ch.HotelCode == hotel {
			return ch, true
		}
	}
	return inventory.InboundChannel{}, false
}

// holderOf is the channel, among an account's channels in several
// properties, that holds the channel's reservation id: a record naming no
// hotel code — an OTA_CancelRQ has no place for one — belongs to the
// property that has the reservation. ok is false when none or more than
// one does.
func (s *Server) holderOf(c *gin.Context, chs []inventory.InboundChannel, id string) (_ inventory.InboundChannel, ok bool, _ *otaxml.Error) {
	var found []inventory.InboundChannel
	for _, ch := range chs {
		_, err := s.store.Reservation(c.Request.Context(), ch.Property, ch.Code, id)
		switch {
		case err == nil:
			found = append(found, ch)
		case inventory.ErrorCode(err) != inventory.ENOTFOUND:
			s.log.Error("ota: the reservation could not be looked up", "channel", ch.Code, "property", ch.Property, "err", err)
			return inventory.InboundChannel{}, false, otaxml.Errorf(otaxml.TypeProcessing, otaxml.CodeSystemError,
				"temporary failure at keyrack; please send the message again")
		}
	}
	if len(found) != 1 {
		return inventory.InboundChannel{}, false, nil
	}
	return found[0], true, nil
}

func unknownHotel(r otaxml.Reservation, properties int) *otaxml.Error {
	if r.HotelCode == "" && r.ID != "" {
		return otaxml.Errorf(otaxml.TypeRequiredMissing, otaxml.CodeRequiredMissing,
			"the reservation names no hotel code, and of the %d hotels this channel account serves, not exactly one holds reservation %s",
			properties, r.ID)
	}
	if r.HotelCode == "" {
		return otaxml.Errorf(otaxml.TypeRequiredMissing, otaxml.CodeRequiredMissing,
			"the reservation names no hotel code, and this channel account serves %d hotels", properties)
	}
	return otaxml.Errorf(otaxml.TypeBizRule, otaxml.CodeInvalidHotel, "hotel code %q is unknown for this channel", r.HotelCode)
}

// otaAnswer replies with OTA Errors and stores the message with that outcome.
func (s *Server) otaAnswer(c *gin.Context, rec *inventory.InboundMessage, m *otaxml.Message, status int, outcome string, errs []*otaxml.Error, now time.Time) {
	reply := otaxml.ErrorReply(m, errs, now)
	var details []string
	for _, e := range errs {
		details = append(details, e.Error())
	}
	rec.Outcome, rec.HTTPStatus, rec.Detail, rec.Reply = outcome, status, strings.Join(details, "\n"), string(reply)
	s.keepInbound(c, *rec)
	env := otaxml.Raw
	if m != nil {
		env = m.Envelope
	}
	c.Data(status, env.ContentType(), reply)
}

// keepInbound stores the raw message; failing to is logged, not fatal: the
// bookings themselves are kept with their revisions.
func (s *Server) keepInbound(c *gin.Context, rec inventory.InboundMessage) {
	id, err := s.store.RecordInbound(c.Request.Context(), rec)
	switch {
	case err != nil:
		s.log.Error("ota: the inbound message could not be stored", "channel", rec.Channel, "err", err)
	case id == 0 && rec.Outcome == "unauthenticated":
		s.unkept.note(s.log, rec.Remote, time.Now())
	}
}

// unkeptLog sums up the unauthenticated messages not kept
// (inventory.UnauthenticatedPerSender): one warning a minute at most, so
// that a flood fills neither the database nor the log.
type unkeptLog struct {
	mu     gosync.Mutex
	n      int
	logged time.Time
}

func (u *unkeptLog) note(log *slog.Logger, remote string, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.n++
	if now.Sub(u.logged) < time.Minute {
		return
	}
	log.Warn("ota: unauthenticated requests arrive faster than keyrack keeps them; the others are answered 401 and not stored",
		"not_stored", u.n, "latest_from", remote, "kept_per_sender", inventory.UnauthenticatedPerSender,
		"kept_in_all", inventory.UnauthenticatedPerWindow, "per", inventory.UnauthenticatedWindow)
	u.n, u.logged = 0, now
}

// asOTAError is err as an OTA error: the parser's own, or a protocol error.
func asOTAError(err error) *otaxml.Error {
	var oe *otaxml.Error
	if errors.As(err, &oe) {
		return oe
	}
	return otaxml.Errorf(otaxml.TypeProtocol, otaxml.CodeUnableToProcess, "%s", err.Error())
}

// listInboundMessages lists the latest raw messages the channel sent
// (?limit=, 100 by default), newest first, card data masked.
func (s *Server) listInboundMessages(c *gin.Context) {
	prop := apiProperty(c).Code
	if _, ok := s.channelExists(c, prop, c.Param("channel")); !ok {
		return
	}
	limit := 100
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			invalid(c, newFieldError("limit", "must be a number from 1 to 1000"))
			return
		}
		limit = n
	}
	ms, err := s.store.InboundMessages(c.Request.Context(), prop, c.Param("channel"), limit)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	if ms == nil {
		ms = []inventory.InboundMessage{}
	}
	c.JSON(http.StatusOK, ms)
}
