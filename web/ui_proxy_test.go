package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// sessionCookieOf is the Set-Cookie of the session in an answer ("" when
// none).
func sessionCookieOf(p page) string {
	for _, c := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "keyrack_session=") {
			return c
		}
	}
	return ""
}

// keyrack serves plain HTTP: an HTTPS site is a TLS-terminating reverse
// proxy in front of it (KEYRACK_TRUSTED_PROXIES) saying X-Forwarded-Proto:
// https. Behind it staff log in and submit forms (the browser's Origin is
// https://host), the session cookie is Secure, and a revealed export URL is
// the https one the platform must fetch.
func TestStaffLogInAndWorkBehindAnHTTPSReverseProxy(t *testing.T) {
	t.Parallel()
	e := newUI(t, func(c *web.Config) { c.TrustedProxies = []string{"127.0.0.1", "::1"} })
	e.seedHotel("P", 2)
	_, err := e.st.CreateChannel(context.Background(), "P", inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	site := "https://" + strings.TrimPrefix(e.ts.URL, "http://")
	viaProxy := func(from string) []string {
		return []string{"Origin", site, "Referer", site + from, "X-Forwarded-Proto", "https", "X-Forwarded-For", "203.0.113.5"}
	}

	p := e.post("/admin/login", "/admin/login", url.Values{"username": {"anna"}, "password": {uiPassword}, "next": {"/admin/"}},
		viaProxy("/admin/login")...)
	require.Equal(t, http.StatusSeeOther, p.Status, "login over HTTPS behind the proxy: %s", p.Body)
	require.Contains(t, sessionCookieOf(p), "; Secure", "the session cookie of an HTTPS login")

	const from = "/admin/p/P/channels/airbnb"
	p = e.post(from, from+"/export-tokens", url.Values{"room_type": {"DBL-STD"}}, viaProxy(from)...)
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	m := regexp.MustCompile(`<code id="revealed-secret">([^<]+)</code>`).FindStringSubmatch(p.Body)
	require.NotNil(t, m)
	require.True(t, strings.HasPrefix(m[1], site+"/ical/"), "the export URL staff paste into the platform: %s", m[1])

	// A form without an Origin is checked by its Referer, which must be
	// the HTTPS site's.
	p = e.post(from, "/admin/logout", nil, "Origin", "", "Referer", e.ts.URL+from, "X-Forwarded-Proto", "https")
	require.Equal(t, http.StatusForbidden, p.Status, "an http Referer on the HTTPS site: %s", p.Body)
}

// X-Forwarded-Proto from anyone but a configured proxy changes nothing:
// the request is plain HTTP, its cookie not Secure, and a form claiming to
// come from the https site is refused as from another origin.
func TestAnHTTPSClaimFromAnUntrustedAddressIsIgnored(t *testing.T) {
	t.Parallel()
	e := newUI(t, func(c *web.Config) { c.TrustedProxies = []string{"10.0.0.0/8"} })
	e.seedHotel("P", 2)
	p := e.post("/admin/login", "/admin/login", url.Values{"username": {"anna"}, "password": {uiPassword}, "next": {"/admin/"}},
		"X-Forwarded-Proto", "https")
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.NotEmpty(t, sessionCookieOf(p))
	require.NotContains(t, sessionCookieOf(p), "Secure")

	site := "https://" + strings.TrimPrefix(e.ts.URL, "http://")
	p = e.post("/admin/login", "/admin/logout", nil, "Origin", site, "Referer", site+"/admin/login", "X-Forwarded-Proto", "https")
	require.Equal(t, http.StatusForbidden, p.Status, p.Body)
}
