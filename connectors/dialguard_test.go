package connectors

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// A guarded request to a URL someone set does not reach the deployment's
// own network (a cloud's metadata service, an admin page on loopback): it
// is refused before connecting, and the refusal says the address is
// private and which setting allows it. With the setting on it connects.
func TestAGuardedRequestToAPrivateAddressIsRefusedAndSaysWhy(t *testing.T) {
	reached := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	defer srv.Close()
	get := func(g DialGuard) error {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/latest/meta-data/", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := (&http.Client{Transport: g.Transport()}).Do(req)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	err := get(DialGuard{What: "pull URLs", Setting: "KEYRACK_PULL_ALLOW_PRIVATE"})
	var pe *PrivateAddressError
	if !errors.As(err, &pe) {
		t.Fatalf("request to %s: %v, want a PrivateAddressError", srv.URL, err)
	}
	if reached {
		t.Error("the private server was reached")
	}
	for _, w := range []string{"private", "KEYRACK_PULL_ALLOW_PRIVATE=1", "pull URLs", "127.0.0.1"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the refusal does not say %q: %v", w, err)
		}
	}
	if err := get(DialGuard{AllowPrivate: true}); err != nil || !reached {
		t.Errorf("allowed: %v, reached %v", err, reached)
	}
}

func TestPrivateAddressesAreRecognised(t *testing.T) {
	private := []string{"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
		"0.0.0.0", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"224.0.0.1", "ff02::1", "255.255.255.255", "64:ff9b::a9fe:a9fe", "2002:c0a8:0101::1"}
	public := []string{"8.8.8.8", "1.1.1.1", "2a00:1450:4007:80e::200e", "::ffff:8.8.8.8", "100.128.0.1"}
	for _, s := range private {
		if !IsPrivate(netip.MustParseAddr(s)) {
			t.Errorf("%s is not treated as private", s)
		}
	}
	for _, s := range public {
		if IsPrivate(netip.MustParseAddr(s)) {
			t.Errorf("%s is treated as private", s)
		}
	}
}

// TestEveryNonPublicRangeIsPrivate names one address of every range the guard
// refuses beyond what netip classifies itself, plain and IPv4-mapped: dropping
// a range, or the unmapping, must fail here.
func TestEveryNonPublicRangeIsPrivate(t *testing.T) {
	for _, s := range []string{
		"0.1.2.3", "100.64.0.1", "100.127.255.254", "192.0.0.170", "198.18.0.1", "198.19.255.255", "240.0.0.1",
		"fec0::1", "100::1", "2001:db8::1",
	} {
		a := netip.MustParseAddr(s)
		if !IsPrivate(a) {
			t.Errorf("%s is not treated as private", s)
		}
		if a.Is4() {
			mapped := netip.AddrFrom16(a.As16())
			if !IsPrivate(mapped) {
				t.Errorf("%s (IPv4-mapped %s) is not treated as private", mapped, s)
			}
			nat := netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 10: 0, 11: 0, 12: a.As4()[0], 13: a.As4()[1], 14: a.As4()[2], 15: a.As4()[3]})
			if !IsPrivate(nat) {
				t.Errorf("%s (NAT64 %s) is not treated as private", nat, s)
			}
		}
	}
}

// Channel endpoints and PMS webhooks may be on the hotel's own network
// (loopback, private, unique-local), but never at a link-local address,
// where cloud metadata services answer with the host's credentials.
func TestAnEndpointMayBeOnTheLocalNetworkButNotLinkLocal(t *testing.T) {
	g := DialGuard{LocalNetworkOK: true, What: "channel endpoints"}
	for addr, refused := range map[string]bool{
		"169.254.169.254:80":          true,
		"[fe80::1]:80":                true,
		"[fd00:ec2::254]:80":          true, // EC2's metadata service over IPv6
		"[::ffff:169.254.169.254]:80": true,
		"[64:ff9b::a9fe:a9fe]:80":     true, // NAT64 of 169.254.169.254
		"[2002:a9fe:a9fe::1]:80":      true, // 6to4 of it
		"0.0.0.0:80":                  true,
		"[::]:80":                     true,
		"224.0.0.1:80":                true,
		"127.0.0.1:8080":              false,
		"10.1.2.3:443":                false,
		"192.168.1.20:443":            false,
		"172.16.0.9:443":              false,
		"[fd12:3456::1]:443":          false,
		"[::1]:443":                   false,
		"93.184.216.34:443":           false,
	} {
		err := g.Control("tcp", addr, nil)
		var pe *PrivateAddressError
		if refused != errors.As(err, &pe) {
			t.Errorf("%s: %v, want refused %v", addr, err, refused)
		} else if refused && !strings.Contains(err.Error(), "link-local") {
			t.Errorf("%s: the refusal does not say why: %v", addr, err)
		}
	}
	// The client of pushes and webhooks is guarded so, and reaches a server on loopback.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res, err := EndpointClient().Get(srv.URL)
	if err != nil {
		t.Fatalf("loopback: %v", err)
	}
	res.Body.Close()
	_, err = EndpointClient().Get("http://169.254.169.254/latest/meta-data/")
	var pe *PrivateAddressError
	if !errors.As(err, &pe) {
		t.Errorf("metadata service: %v, want a PrivateAddressError", err)
	}
}
