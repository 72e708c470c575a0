package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README promises that a validation error names its field
// (errors[].field and .pointer): the codes an OTA XML channel cannot carry
// (a room code over 16 characters, a rate code over 64, a hotel code over
// 16, spaces around a code), a pull_modify_url without a pull_url and a time
// zone the database reads otherwise than keyrack (CET) were
// answered 400 with a detail alone, so a PMS or a set-up tool showing
// errors by field had nothing to point at.
func TestACodeTheChannelCannotCarryIsRefusedNamingItsField(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	p := "/api/v1/properties/P"
	e.router = nil // these requests are invalid on purpose
	e.must(http.StatusCreated, "POST", p+"/channels", map[string]any{"code": "bdc", "kind": "ota_pull"})
	for _, c := range []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"room code too long", "PUT", p + "/channels/expedia/mappings",
			map[string]any{"channel_room": strings.Repeat("R", 17), "room_type": "DBL-STD"}, "channel_room"},
		{"room code with a space", "PUT", p + "/channels/expedia/mappings",
			map[string]any{"channel_room": "DBL ", "room_type": "DBL-STD"}, "channel_room"},
		{"rate code too long", "PUT", p + "/channels/expedia/mappings",
			map[string]any{"channel_room": "DBL", "channel_rate": strings.Repeat("B", 65), "room_type": "DBL-STD", "rate_plan": "BAR"}, "channel_rate"},
		{"hotel code too long", "PATCH", p + "/channels/expedia", map[string]any{"hotel_code": strings.Repeat("H", 17)}, "hotel_code"},
		{"hotel code too long, new channel", "POST", p + "/channels",
			map[string]any{"code": "gds1", "kind": "gds", "hotel_code": strings.Repeat("H", 17)}, "hotel_code"},
		{"modification queue without pull_url", "PATCH", p + "/channels/bdc",
			map[string]any{"pull_modify_url": "https://supply.example/modifications"}, "pull_modify_url"},
		{"time zone the database reads otherwise", "POST", "/api/v1/properties",
			map[string]any{"code": "Q", "name": "Hotel Q", "time_zone": "CET", "currency": "EUR"}, "time_zone"},
	} {
		pr := problemOf(t, e.do(c.method, c.path, e.admin, c.body), http.StatusBadRequest)
		errs, _ := pr["errors"].([]any)
		require.Len(t, errs, 1, "%s: %v", c.name, pr)
		fe := errs[0].(map[string]any)
		require.Equal(t, c.field, fe["field"], c.name)
		require.Equal(t, "/"+c.field, fe["pointer"], c.name)
		require.NotEmpty(t, fe["detail"], c.name)
	}
}
