package ical

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	gosync "sync"
	"time"

	"github.com/keyrack/keyrack/connectors"
)

// Fetcher downloads feeds from the platforms' URLs, which hosts paste into
// keyrack: anyone who can add a feed chooses where keyrack connects, so
// unless AllowPrivate is set it refuses addresses inside the deployment's
// network, checked on the address actually dialled (after DNS, and after
// every redirect). Set the fields before the first Fetch; a Fetcher is safe
// for concurrent use and reuses connections.
type Fetcher struct {
	// AllowPrivate lets feeds live on loopback, private, link-local and
	// CGNAT addresses (a PMS on the hotel's own network).
	AllowPrivate bool
	// MaxBody caps the body, decompressed; 5 MiB when zero.
	MaxBody int64
	// Timeout bounds the whole fetch, body included; 30 s when zero.
	Timeout time.Duration
	// MaxRedirects bounds the redirects followed; 5 when zero, none when
	// negative.
	MaxRedirects int
	// UserAgent is sent with every request; a keyrack one when empty.
	UserAgent string

	// publicForTest, when set, lets tests treat a loopback address as
	// public, so redirects from a "public" test server can be checked.
	publicForTest func(netip.AddrPort) bool

	once   gosync.Once
	client *http.Client
}

// Conditional carries the validators of the last good fetch.
type Conditional struct {
	ETag, LastModified string
}

// Response is what the feed's server answered.
type Response struct {
	Status int
	Body   []byte
	// ETag and LastModified are the validators to send next time (on a
	// 304 without them, those that were sent).
	ETag, LastModified string
	// NotModified is a 304: the feed is as last fetched, Body is empty.
	NotModified bool
	// FinalURL is the URL after redirects.
	FinalURL string
}

// ErrTooLarge is returned (wrapped) for a feed larger than MaxBody.
var ErrTooLarge = errors.New("ical: feed too large")

// StatusError is a non-2xx answer other than 304.
type StatusError struct {
	Code int
	URL  string // the feed, scheme://host/… (HostOnlyURL)
}

// Error names the status and the feed by its host only: the feed's secret
// may be in its query or its path.
func (e *StatusError) Error() string {
	return fmt.Sprintf("ical: %s answered %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// PrivateAddressError is a refused connection to a private address.
type PrivateAddressError = connectors.PrivateAddressError

const (
	defaultMaxBody      = 5 << 20
	defaultTimeout      = 30 * time.Second
	defaultMaxRedirects = 5
	errorBodyLimit      = 64 << 10
)

func (f *Fetcher) maxBody() int64 {
	if f.MaxBody > 0 {
		return f.MaxBody
	}
	return defaultMaxBody
}

func (f *Fetcher) init() {
	guard := connectors.DialGuard{AllowPrivate: f.AllowPrivate, What: "feeds", Setting: "KEYRACK_ICAL_ALLOW_PRIVATE", Public: f.publicForTest}
	transport := guard.Transport()
	maxRedirects := f.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = defaultMaxRedirects
	}
	f.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("ical: more than %d redirects", max(maxRedirects, 0))
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("ical: redirect to a %q URL refused", req.URL.Scheme)
			}
			return nil
		},
	}
}

// Fetch downloads a feed, conditionally when cond carries validators. A 304
// is NotModified with no error; any other non-2xx status is a *StatusError
// with Response.Status set. A 2xx body is returned as it came: Parse
// decides whether it is a calendar. webcal:// URLs are fetched over HTTPS.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, cond Conditional) (Response, error) {
	f.once.Do(f.init)
	u, err := url.Parse(rawURL)
	if err != nil {
		return Response{}, fmt.Errorf("ical: feed URL: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
	case "webcal", "webcals":
		// Calendar apps hand out webcal:// links for subscriptions (iCloud,
		// Google): the same URL over HTTPS, which is how they fetch it.
		u.Scheme = "https"
	default:
		return Response{}, fmt.Errorf("ical: feed URL must be http or https, not %q", u.Scheme)
	}
	if u.Host == "" {
		return Response{}, fmt.Errorf("ical: feed URL %q has no host", rawURL)
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Response{}, fmt.Errorf("ical: feed request: %w", err)
	}
	ua := f.UserAgent
	if ua == "" {
		ua = "keyrack-ical/1 (+https://github.com/keyrack/keyrack)"
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "text/calendar, text/plain;q=0.9, */*;q=0.5")
	if cond.ETag != "" {
		req.Header.Set("If-None-Match", cond.ETag)
	}
	if cond.LastModified != "" {
		req.Header.Set("If-Modified-Since", cond.LastModified)
	}
	// Accept-Encoding is left to the transport, which then decompresses
	// gzip itself; the cap below applies to the decompressed bytes.
	resp, err := f.client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("ical: fetch %s: %w", connectors.HostOnlyURL(u), connectors.HostOnlyURLError(err))
	}
	defer resp.Body.Close()

	out := Response{
		Status:       resp.StatusCode,
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		FinalURL:     resp.Request.URL.String(),
	}
	if resp.StatusCode == http.StatusNotModified {
		out.NotModified = true
		if out.ETag == "" {
			out.ETag = cond.ETag
		}
		if out.LastModified == "" {
			out.LastModified = cond.LastModified
		}
		return out, nil
	}
	limit := f.maxBody()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Keep the start of an error page for the operator.
		out.Body, _ = io.ReadAll(io.LimitReader(resp.Body, min(limit, errorBodyLimit)))
		return out, &StatusError{Code: resp.StatusCode, URL: connectors.HostOnlyURL(resp.Request.URL)}
	}
	if resp.ContentLength > limit {
		return out, fmt.Errorf("ical: fetch %s: feed is larger than %d bytes: %w", connectors.HostOnlyURL(u), limit, ErrTooLarge)
	}
	body, err := readCapped(resp.Body, limit)
	if err != nil {
		return out, fmt.Errorf("ical: fetch %s: %w", connectors.HostOnlyURL(u), err)
	}
	// Some servers send a .ics.gz without Content-Encoding.
	if bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = readCapped(zr, limit)
			if err != nil {
				return out, fmt.Errorf("ical: fetch %s: gzip body: %w", connectors.HostOnlyURL(u), err)
			}
		}
	}
	out.Body = body
	return out, nil
}

func readCapped(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("feed is larger than %d bytes: %w", limit, ErrTooLarge)
	}
	return body, nil
}
