package inventory_test

import (
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// An overbooking factor is digits with at most two decimals after a
// point: a sign anywhere in it, or anything else, is refused, not read as
// another number ("1.+5" was 1.05); out of range, the message gives the
// range.
func TestAnOverbookingFactorIsADecimalWithinItsRange(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]inventory.Factor{"1": 100, "1.1": 110, "1.10": 110, " 2.05 ": 205, "0.01": 1, "9.99": 999, "01.50": 150} {
		f, err := inventory.ParseFactor(in)
		require.NoError(t, err, "%q", in)
		require.Equal(t, want, f, "%q", in)
	}
	for _, in := range []string{"1.+5", "+1.5", "-1.5", "1.-5", "1.5e0", "1,5", "1.", ".5", "", "1.234", "1. 5", "0x1", "１.５"} {
		_, err := inventory.ParseFactor(in)
		require.Error(t, err, "%q", in)
		require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "%q", in)
		require.Contains(t, err.Error(), "at most two decimals", "%q", in)
	}
	for _, in := range []string{"0", "0.00", "10", "12.5", "99999999999999999999"} {
		_, err := inventory.ParseFactor(in)
		require.Error(t, err, "%q", in)
		require.Contains(t, err.Error(), "between 0.01 and 9.99", "%q", in)
	}
}
