package main

import (
	"errors"
	"testing"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/inventory"
)

// keyrack serve pushes to OTA endpoints through the guarded endpoint
// client: an endpoint set to a cloud metadata service is refused.
func TestServePushesThroughTheGuardedEndpointClient(t *testing.T) {
	for _, kind := range []inventory.ChannelKind{inventory.ChannelOTAPush, inventory.ChannelOTAPull, inventory.ChannelGDS} {
		c, ok := NewMain().Connectors[kind].(*otaxml.Connector)
		if !ok || c.Client == nil {
			t.Fatalf("%s: connector %#v has no client of its own", kind, NewMain().Connectors[kind])
		}
		_, err := c.Client.Get("http://169.254.169.254/latest/meta-data/")
		var pe *connectors.PrivateAddressError
		if !errors.As(err, &pe) {
			t.Errorf("%s: a push to the metadata service: %v, want it refused", kind, err)
		}
	}
}
