package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyrack/keyrack/inventory"
)

// Connector delivers availability to the channels of one protocol. The
// fan-out (package sync) decides what to send and when; a connector only
// encodes it for the channel, sends it and reports what the channel accepted.
type Connector interface {
	// Push sends u to the channel. A nil error means the channel answered;
	// Ack lists the items it refused. Errors say whether trying again can
	// help: see Retryable, RateLimited and Permanent.
	Push(ctx context.Context, ch Channel, u Update) (Ack, error)
}

// Registry picks the connector for a channel by its kind. A kind with no
// connector (yet) is not pushed to.
type Registry map[inventory.ChannelKind]Connector

// Lookup returns the connector for kind, or nil.
func (r Registry) Lookup(kind inventory.ChannelKind) Connector { return r[kind] }

// Channel is what a connector needs to reach a channel for one property.
type Channel struct {
	Property  string // the property's code
	Code      string // the channel's code
	Kind      inventory.ChannelKind
	HotelCode string // the channel's code for the property
	Endpoint  string
	// Username and Secret are what keyrack presents to the channel; the
	// secret is opened just before the push and must never be logged.
	Username string
	Secret   string
	// Envelope and Message are the protocol's options for this channel; ""
	// takes the protocol's default. OTA XML: Envelope "raw", "soap11" or
	// "soap12"; Message "avail" (OTA_HotelAvailNotifRQ), "avail_limit"
	// (the same with BookingLimit only) or "invcount"
	// (OTA_HotelInvCountNotifRQ).
	Envelope string
	Message  string
	// RequestTimeout bounds each request of a push (0: only the push's
	// context does): a push that goes out as several messages gives each
	// its own time, so a large one is not cut short for being large.
	RequestTimeout time.Duration
	// Pace, when set, is called before each request of a push after the
	// first, and must return before it is sent: the caller keeps the
	// channel's rate limit there, one request at a time, waiting as it
	// needs (an error ends the push).
	Pace func(context.Context) error
}

// Request runs one request of a push: after ch.Pace for every request but
// the first (n is 0 for the first), under ch.RequestTimeout.
func (ch Channel) Request(ctx context.Context, n int, send func(context.Context) error) error {
	if n > 0 && ch.Pace != nil {
		if err := ch.Pace(ctx); err != nil {
			return err
		}
	}
	if ch.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ch.RequestTimeout)
		defer cancel()
	}
	return send(ctx)
}

// String names the channel without its credentials.
func (c Channel) String() string { return c.Property + "/" + c.Code }

// Update is the availability to send: the current value of each of the
// channel's rooms over date ranges, consecutive nights with equal values
// merged into one range.
type Update struct {
	Items []Availability
	// Full is set for a full resync: the update repeats values the channel
	// has acknowledged already.
	Full bool
}

// Availability is what the channel may sell of one of its rooms on the
// nights [From, To).
type Availability struct {
	Room string // the channel's room code
	// Rate is the channel's rate code the item names, for a channel that
	// keeps availability per room and rate; "" names the room only.
	Rate      string
	From      inventory.Date
	To        inventory.Date // exclusive
	Available int
}

// Ack is the channel's answer to an update that it received.
type Ack struct {
	// Rejected lists the items the channel refused (e.g. a room code it does
	// not know); every other item was accepted.
	Rejected []Rejection
	// Warnings are what the channel said was not processed without naming
	// an item (its text): the push counts as taken, and staff are told.
	Warnings []string
}

// Rejection is an item the channel refused.
type Rejection struct {
	Item   int // index into Update.Items
	Reason string
}

// Kind says whether a failed push can succeed later.
type Kind int

const (
	// KindRetryable: a timeout, a refused connection, a 5xx; try again after a backoff.
	KindRetryable Kind = iota
	// KindRateLimited: the channel asked us to slow down (HTTP 429);
	// try again after RetryAfter.
	KindRateLimited
	// KindPermanent: the channel will refuse the same request again (bad
	// credentials, a malformed request); staff must fix something first.
	KindPermanent
)

func (k Kind) String() string {
	switch k {
	case KindRateLimited:
		return "rate limited"
	case KindPermanent:
		return "permanent"
	}
	return "retryable"
}

// Error is a failed push.
type Error struct {
	Kind Kind
	// RetryAfter is how long the channel asked us to wait (0 when it did not say).
	RetryAfter time.Duration
	// Status is the HTTP status the channel answered, 0 when it did not answer.
	Status int
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable wraps err as a failure that may pass on a later attempt.
func Retryable(err error) error { return &Error{Kind: KindRetryable, Err: err} }

// RateLimited wraps err as the channel asking to wait retryAfter (0: unknown).
func RateLimited(retryAfter time.Duration, err error) error {
	return &Error{Kind: KindRateLimited, RetryAfter: retryAfter, Err: err}
}

// Permanent wraps err as a failure that will repeat until someone fixes it.
func Permanent(err error) error { return &Error{Kind: KindPermanent, Err: err} }

// KindOf classifies err; an error that is not an *Error is retryable, since
// most unexpected failures (networks, timeouts) are passing ones.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindRetryable
}

// RetryAfterOf is the wait a channel asked for, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// HTTPError classifies a channel's HTTP answer: nil for 2xx; 429 (and 503
// with Retry-After) rate limited; 408, 425 and 5xx retryable; any other
// status permanent. body is a short excerpt of the answer, for the error text.
func HTTPError(resp *http.Response, body string, now time.Time) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	if code >= 300 && code < 400 {
		return redirected(resp)
	}
	err := fmt.Errorf("channel answered %s", resp.Status)
	if body = strings.TrimSpace(body); body != "" {
		if len(body) > 200 {
			body = body[:200] + "…"
		}
		err = fmt.Errorf("%w: %s", err, body)
	}
	after := ParseRetryAfter(resp.Header.Get("Retry-After"), now)
	switch {
	case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable && after > 0:
		return &Error{Kind: KindRateLimited, RetryAfter: after, Status: code, Err: err}
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code >= 500:
		return &Error{Kind: KindRetryable, RetryAfter: after, Status: code, Err: err}
	}
	return &Error{Kind: KindPermanent, Status: code, Err: err}
}

// RequestFailed classifies the error of an HTTP client's request that got
// no answer, its URL redacted (RedactURLError): retryable (a timeout, a
// refused connection, a reset: the channel may answer later), except a
// connection the client's DialGuard refused, which every retry would meet
// again — permanent.
func RequestFailed(err error) error {
	err = RedactURLError(err)
	var refused *PrivateAddressError
	if errors.As(err, &refused) {
		return Permanent(err)
	}
	return Retryable(err)
}

// RedactURLError takes the query and user information out of the URL that
// an HTTP client's error names (Post "https://…?token=…": dial tcp …): a
// channel's URL may carry its secret, and such errors are kept as the
// channel's last error, shown to staff, raised in incidents and logged.
func RedactURLError(err error) error {
	return renameURLInError(err, func(u *url.URL) (string, bool) { return RedactURL(u), true }, "(the channel's URL)")
}

// HostOnlyURLError names the URL in an HTTP client's error by its scheme
// and host only (HostOnlyURL), for URLs whose path may carry a secret.
func HostOnlyURLError(err error) error {
	return renameURLInError(err, func(u *url.URL) (string, bool) { return HostOnlyURL(u), u.Host != "" }, "(the URL)")
}

// renameURLInError replaces the URL an HTTP client's error names with
// name(u), or with fallback when it does not parse or name refuses it.
func renameURLInError(err error, name func(*url.URL) (string, bool), fallback string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		ue.URL = fallback
		if perr == nil {
			if n, ok := name(u); ok {
				ue.URL = n
			}
		}
	}
	return err
}

// HostOnlyURL names u by its scheme and host only, scheme://host/…: to
// show and log a URL whose path may carry a secret, as calendar
// platforms' private feeds do (Google's …/private-<secret>/basic.ics, Vrbo).
func HostOnlyURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host + "/…"
}

// RedactURL is u without its user information and query, which may carry
// a secret: to show and log.
func RedactURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = "…"
	}
	return c.String()
}

// NoRedirects is a copy of client (http.DefaultClient when nil), sharing its
// transport and connections, that does not follow redirects: Go follows a
// 301, 302 or 303 with a GET without the body — and with the credentials —,
// and a 2xx to that GET would count as the channel having taken what it
// never saw. The redirect comes back as the answer (HTTPError: permanent).
func NoRedirects(client *http.Client) *http.Client {
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// redirected is the failure of a request answered with a redirect: the
// channel did not take what was sent, and asking again gets the same answer
// until staff set the channel's endpoint to the URL the channel takes it
// at — the one it redirects to, if it says.
func redirected(resp *http.Response) error {
	err := fmt.Errorf("the endpoint answered %s, a redirect with no Location; keyrack does not follow redirects", resp.Status)
	if loc, lerr := resp.Location(); lerr == nil {
		err = fmt.Errorf("the endpoint redirects to %s (%s); keyrack does not follow redirects: set the channel's endpoint to the URL it takes requests at",
			loc.Redacted(), resp.Status)
	}
	return &Error{Kind: KindPermanent, Status: resp.StatusCode, Err: err}
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). It returns 0 when v is empty or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
