package connectors

import (
	"errors"
	"testing"
)

// The rest of what IsLinkLocal names: "this network" past 0.0.0.0, every
// multicast scope (not only link-local), and a 6to4 address read at its
// own place (2002:AABB:CCDD::/48 carries AA.BB.CC.DD, whatever its
// interface id says).
func TestAnEndpointIsRefusedEveryLinkLocalKind(t *testing.T) {
	g := DialGuard{LocalNetworkOK: true, What: "channel endpoints"}
	for addr, refused := range map[string]bool{
		"0.1.2.3:80":                   true,
		"239.1.2.3:80":                 true,  // organisation-local multicast
		"[ff05::2]:80":                 true,  // site-local multicast
		"[2002:a9fe:a9fe::a01:203]:80": true,  // 6to4 of 169.254.169.254, interface id 10.1.2.3
		"[2002:a01:203::a9fe:a9fe]:80": false, // 6to4 of 10.1.2.3: the local network
	} {
		err := g.Control("tcp", addr, nil)
		var pe *PrivateAddressError
		if refused != errors.As(err, &pe) {
			t.Errorf("%s: %v, want refused %v", addr, err, refused)
		}
	}
}
