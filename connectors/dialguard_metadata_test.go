package connectors

import (
	"errors"
	"net/netip"
	"testing"
)

// A channel endpoint or PMS webhook may be on the hotel's own network, but
// the metadata services clouds run outside the link-local ranges — in the
// unique-local, CGNAT and IETF ranges the local-network mode otherwise
// allows — are refused as 169.254.169.254 is: whoever sets an endpoint
// chooses where keyrack connects, and part of the answer reaches the
// channel's incidents. Plain, IPv4-mapped and NAT64 alike.
func TestAnEndpointIsRefusedEveryCloudsMetadataAddress(t *testing.T) {
	g := DialGuard{LocalNetworkOK: true, What: "channel endpoints"}
	refused := func(addr string) bool {
		err := g.Control("tcp", addr, nil)
		var pe *PrivateAddressError
		return errors.As(err, &pe)
	}
	for _, s := range []string{
		"fd00:ec2::254",   // EC2 instance metadata (IPv6)
		"fd00:ec2::23",    // EKS Pod Identity agent (IPv6): credentials
		"fd20:ce::254",    // Google Cloud metadata server (IPv6)
		"100.100.100.200", // Alibaba Cloud ECS metadata: RAM role credentials
		"192.0.0.192",     // Oracle Cloud Classic metadata
	} {
		a := netip.MustParseAddr(s)
		forms := []netip.Addr{a}
		if a.Is4() {
			b := a.As4()
			forms = append(forms, netip.AddrFrom16(a.As16()),
				netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 12: b[0], 13: b[1], 14: b[2], 15: b[3]}))
		}
		for _, f := range forms {
			if !refused(netip.AddrPortFrom(f, 80).String()) {
				t.Errorf("%s (%s): an endpoint may connect to it", f, s)
			}
		}
	}
	// Their neighbours stay allowed: a hotel's network (or a VPN such as
	// Tailscale's, in CGNAT space) may use them.
	for _, s := range []string{"fd00:ec2::1", "fd20:ce::1", "100.100.100.1", "100.101.2.3", "192.0.0.1"} {
		if refused(netip.AddrPortFrom(netip.MustParseAddr(s), 80).String()) {
			t.Errorf("%s: a local-network endpoint is refused", s)
		}
	}
}
