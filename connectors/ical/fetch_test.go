package ical

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
)

var feedBody = []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n")

// localFetcher may reach httptest servers, which listen on 127.0.0.1.
func localFetcher() *Fetcher { return &Fetcher{AllowPrivate: true, Timeout: 5 * time.Second} }

func TestFetchConditionalGet(t *testing.T) {
	const etag = `"v1"`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", "Mon, 30 Nov 2026 03:00:00 GMT")
		w.Write(feedBody)
	}))
	defer srv.Close()
	f := localFetcher()
	first, err := f.Fetch(context.Background(), srv.URL+"/feed.ics", Conditional{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != 200 || first.NotModified || !bytes.Equal(first.Body, feedBody) || first.ETag != etag {
		t.Fatalf("first fetch %+v", first)
	}
	again, err := f.Fetch(context.Background(), srv.URL+"/feed.ics", Conditional{ETag: first.ETag, LastModified: first.LastModified})
	if err != nil {
		t.Fatal(err)
	}
	if !again.NotModified || again.Status != 304 || len(again.Body) != 0 || again.ETag != etag {
		t.Errorf("conditional fetch %+v, want a 304 keeping the ETag", again)
	}
}

func TestFetchGzip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Error("gzip not accepted")
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(feedBody)
		zw.Close()
	}))
	defer srv.Close()
	resp, err := localFetcher().Fetch(context.Background(), srv.URL, Conditional{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Body, feedBody) {
		t.Errorf("body %q", resp.Body)
	}
}

func TestFetchTooLarge(t *testing.T) {
	big := bytes.Repeat([]byte("X"), 2000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length: the cap must hold while reading
		}
		w.Write(big)
	}))
	defer srv.Close()
	f := localFetcher()
	f.MaxBody = 1000
	for _, path := range []string{"/sized", "/chunked"} {
		_, err := f.Fetch(context.Background(), srv.URL+path, Conditional{})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "larger than 1000 bytes") {
			t.Errorf("%s: error %v, want ErrTooLarge saying larger than 1000 bytes", path, err)
		}
	}
	// A gzip bomb is capped on the decompressed size.
	bomb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(bytes.Repeat([]byte("A"), 1<<20))
		zw.Close()
	}))
	defer bomb.Close()
	if _, err := f.Fetch(context.Background(), bomb.URL, Conditional{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("gzip bomb: %v, want ErrTooLarge", err)
	}
}

func TestFetchErrorStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("<html>down</html>"))
	}))
	defer srv.Close()
	resp, err := localFetcher().Fetch(context.Background(), srv.URL+"/feed.ics?token=secret", Conditional{})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 503 {
		t.Fatalf("error %v, want a StatusError 503", err)
	}
	if resp.Status != 503 || string(resp.Body) != "<html>down</html>" {
		t.Errorf("response %+v", resp)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the feed token: %v", err)
	}
}

func TestFetchRedirects(t *testing.T) {
	var hops atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		hops.Add(1)
		if r.URL.Path == "/loop" {
			http.Redirect(w, r, "/loop", http.StatusFound)
			return
		}
		if n < 3 {
			http.Redirect(w, r, "/"+strconv.Itoa(n+1), http.StatusFound)
			return
		}
		w.Write(feedBody)
	}))
	defer srv.Close()
	f := localFetcher()
	resp, err := f.Fetch(context.Background(), srv.URL+"/0", Conditional{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinalURL != srv.URL+"/3" {
		t.Errorf("FinalURL %s", resp.FinalURL)
	}
	hops.Store(0)
	if _, err := f.Fetch(context.Background(), srv.URL+"/loop", Conditional{}); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("redirect loop: %v", err)
	}
	if n := hops.Load(); n != 6 {
		t.Errorf("redirect loop made %d requests, want 6 (1 + MaxRedirects)", n)
	}
	if _, err := f.Fetch(context.Background(), "webcal"+strings.TrimPrefix(srv.URL, "http")+"/3", Conditional{}); err == nil || !strings.Contains(err.Error(), "https") {
		// The test server speaks plain HTTP: the HTTPS attempt shows the
		// webcal link was read as https.
		t.Errorf("webcal URL: %v", err)
	}
	if _, err := f.Fetch(context.Background(), "ftp://example.com/feed.ics", Conditional{}); err == nil || !strings.Contains(err.Error(), "http or https") {
		t.Errorf("ftp URL: %v", err)
	}
}

func TestFetchRefusesPrivateAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(feedBody) }))
	defer srv.Close()
	_, err := (&Fetcher{}).Fetch(context.Background(), srv.URL, Conditional{})
	var pe *PrivateAddressError
	if !errors.As(err, &pe) {
		t.Fatalf("fetch from 127.0.0.1: %v, want a PrivateAddressError", err)
	}
	if !strings.Contains(err.Error(), "private") || !strings.Contains(err.Error(), "KEYRACK_ICAL_ALLOW_PRIVATE") {
		t.Errorf("error does not say the address is private and how to allow it: %v", err)
	}
	if _, err := (&Fetcher{AllowPrivate: true}).Fetch(context.Background(), srv.URL, Conditional{}); err != nil {
		t.Errorf("AllowPrivate: %v", err)
	}
}

func TestFetchRefusesRedirectToPrivateAddress(t *testing.T) {
	inner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the private server was reached")
	}))
	defer inner.Close()
	outer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL+"/admin", http.StatusFound)
	}))
	defer outer.Close()
	public := netip.MustParseAddrPort(strings.TrimPrefix(outer.URL, "http://"))
	// The outer server stands for a public host; the inner one for the
	// deployment's network, reached only through the redirect.
	f := &Fetcher{publicForTest: func(ap netip.AddrPort) bool { return ap == public }}
	_, err := f.Fetch(context.Background(), outer.URL, Conditional{})
	var pe *PrivateAddressError
	if !errors.As(err, &pe) {
		t.Fatalf("redirect to a private address: %v, want a PrivateAddressError", err)
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("BEGIN:VCALENDAR\r\n"))
		w.(http.Flusher).Flush()
		select { // a feed that stalls mid-body
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	f := &Fetcher{AllowPrivate: true, Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err := f.Fetch(context.Background(), srv.URL, Conditional{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled feed: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Fetch returned after %v", d)
	}
}

func TestRedactHidesTokens(t *testing.T) {
	u, _ := url.Parse("https://user:pw@www.airbnb.com/calendar/ical/123.ics?s=abcdef")
	if got := connectors.RedactURL(u); strings.Contains(got, "abcdef") || strings.Contains(got, "pw") {
		t.Errorf("redact = %s", got)
	}
}

// A feed URL's secret must not show in the error of a failed fetch (the
// error is kept as the feed's last_error, shown on the channel page and the
// alerts page, and logged) — in its query (Airbnb's ?s=…) or its path
// (Google's …/private-<secret>/basic.ics), for a connection that fails or
// times out, a private address, an error status or a redirect: the feed is
// named by its scheme and host only.
func TestAFailedFetchDoesNotShowTheFeedsToken(t *testing.T) {
	const secrets = "/calendar/ical/host%40gmail.com/private-sekrit-path/basic.ics?s=sekrit-token"
	shows := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		for _, s := range []string{"sekrit-token", "sekrit-path", "gmail"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: the error shows the feed's secret %s: %v", what, s, err)
			}
		}
	}
	// A port nothing listens on: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = localFetcher().Fetch(context.Background(), "http://"+addr+secrets, Conditional{})
	shows("connection refused", err)
	if !strings.Contains(err.Error(), "http://"+addr+"/…") {
		t.Errorf("the error does not name the feed's host: %v", err)
	}
	// A platform that does not answer in time.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Second) }))
	defer slow.Close()
	f := &Fetcher{AllowPrivate: true, Timeout: 200 * time.Millisecond}
	_, err = f.Fetch(context.Background(), slow.URL+secrets, Conditional{})
	shows("timeout", err)
	// A feed on a private address (refused by the default fetcher).
	_, err = (&Fetcher{Timeout: time.Second}).Fetch(context.Background(), "http://"+addr+secrets, Conditional{})
	shows("private address", err)
	// A feed gone (404), and one redirecting for ever.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/loop") {
			http.Redirect(w, r, r.URL.Path+"x?"+r.URL.RawQuery, http.StatusFound)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	_, err = localFetcher().Fetch(context.Background(), srv.URL+secrets, Conditional{})
	shows("404", err)
	_, err = localFetcher().Fetch(context.Background(), srv.URL+"/loop"+secrets, Conditional{})
	shows("redirects", err)
}
