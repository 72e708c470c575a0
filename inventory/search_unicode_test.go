package inventory_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// Guests' names are stored as the channel sent them, in every script: a
// name is searchable by what staff type, whether the channel wrote é as
// one character (U+00E9) or as e and a combining accent (U+0301, as macOS
// and some OTAs send it), and whatever the case.
func TestASearchFindsAGuestWhateverTheNormalisationOfTheirName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHotel(t, "Europe/Lisbon", []int{50}, inventory.FactorOne, 1)
	long := strings.Repeat("Ελευθερία ", 40) + "محمد"
	names := map[string]string{
		"DEC": "Jose\u0301 Garci\u0301a", // decomposed
		"CMP": "JOSÉ GARCÍA",             // composed, capitals
		"GR":  "Ελευθέριος Παπαδόπουλος", //
		"AR":  "محمد عبد الله",           // right to left
		"ZH":  "王小明",                     //
		"EMO": "Zoë 🏖️ 👨‍👩‍👧",            // emoji with ZWJ
		"LNG": long,                      // 400+ characters
	}
	for id, name := range names {
		rev := h.booking("C0", id, inventory.New, "R0", "2026-12-01", 2, 1, "")
		rev.Guest = inventory.Guest{Name: name}
		_, err := h.st.ApplyRevision(ctx, rev)
		require.NoError(t, err)
	}
	// Stored as sent.
	all, _, err := h.st.SearchReservations(ctx, "H1", inventory.ReservationQuery{})
	require.NoError(t, err)
	for _, r := range all {
		require.Equal(t, names[r.ExternalID], r.Guest.Name, "booking %s", r.ExternalID)
	}
	found := func(q string) []string {
		got, _, err := h.st.SearchReservations(ctx, "H1", inventory.ReservationQuery{Guest: q})
		require.NoError(t, err)
		ids := []string{}
		for _, r := range got {
			ids = append(ids, r.ExternalID)
		}
		return ids
	}
	require.ElementsMatch(t, []string{"GR"}, found("παπαδόπουλος"))
	require.ElementsMatch(t, []string{"AR"}, found("عبد"))
	require.ElementsMatch(t, []string{"ZH"}, found("小明"))
	require.ElementsMatch(t, []string{"EMO"}, found("👨‍👩‍👧"))
	require.ElementsMatch(t, []string{"AR", "LNG"}, found("محمد"))
	// Staff type é as one character (every keyboard does).
	require.ElementsMatch(t, []string{"DEC", "CMP"}, found("josé"), "composed search for josé")
	// Pasted from a decomposed source.
	require.ElementsMatch(t, []string{"DEC", "CMP"}, found("jose\u0301"), "decomposed search for josé")
}
