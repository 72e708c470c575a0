package inventory

import "testing"

// TestMaskCardDataMasksEveryDocumentedName checks each field name the comment
// at the top of mask.go promises to mask (and each card it promises to leave
// alone) one by one, with a value the Luhn pass would not catch: dropping a
// single name from the lists must make a case fail.
func TestMaskCardDataMasksEveryDocumentedName(t *testing.T) {
	var cases []maskTestCase
	// Card numbers: a Luhn-invalid value is masked because of the name alone.
	for _, name := range []string{
		"CardNumber", "card_number", "cardNumber", "PAN", "PrimaryAccountNumber", "cc_number", "ccNumber",
		"cc_num", "cc_no", "cc_nr", "CardNum", "card_no", "CardNr", "guestCardNo",
	} {
		cases = append(cases,
			maskTestCase{"PAN attribute " + name, `<c ` + name + `="9999999999999999"/>`, `<c ` + name + `="XXXXXXXXXXXX9999"/>`},
			maskTestCase{"PAN JSON " + name, `{"` + name + `": "9999 9999 9999 9999"}`, `{"` + name + `": "XXXX XXXX XXXX 9999"}`},
		)
	}
	// Cards that are not payment cards.
	for _, name := range []string{
		"LoyaltyCardNumber", "MembershipCardNumber", "member_card_no", "FrequentFlyerCardNumber", "IDCardNumber",
		"identity_card_number", "NationalCardNo", "KeyCardNumber", "room_key_card_no", "maskedCardNumber",
	} {
		cases = append(cases, maskTestCase{"not a payment card " + name, `<c ` + name + `="9999999999999999"/>`, `<c ` + name + `="9999999999999999"/>`})
	}
	// Secrets: security codes, stripe data, 3-D Secure values, credentials.
	for _, name := range []string{
		"SeriesCode", "series_code", "CVV", "CVV2", "CVC", "CVC2", "card_cvc2", "CVN", "CVN2", "CSC", "SecurityCode",
		"CardSecurityCode", "security_code", "CardVerificationCode", "CardVerificationValue",
		"Track1", "Track2", "Track3", "TrackData", "Track1Data", "track_2_data", "Track3Data", "MagneticStripe", "MagStripe",
		"CAVV", "AuthenticationValue", "XID", "UCAF", "AAV", "threeDSXid", "ThreeDSecureXID", "3ds_xid", "TDSXid",
		"Password", "MessagePassword", "passwd", "client_secret",
	} {
		cases = append(cases,
			maskTestCase{"secret attribute " + name, `<c ` + name + `="123"/>`, `<c ` + name + `="***"/>`},
			maskTestCase{"secret JSON " + name, `{"` + name + `": 123}`, `{"` + name + `": "***"}`},
		)
	}
	// Two-word plain-text names.
	for _, tc := range []struct{ name, value, want string }{
		{"Card Number", "9999 9999 9999 9999", "XXXX XXXX XXXX 9999"},
		{"Card Num", "9999 9999 9999 9999", "XXXX XXXX XXXX 9999"},
		{"Card No", "9999 9999 9999 9999", "XXXX XXXX XXXX 9999"},
		{"Card Nr", "9999 9999 9999 9999", "XXXX XXXX XXXX 9999"},
		{"Security Code", "123", "***"},
		{"Verification Value", "123", "***"},
		{"Magnetic Stripe", "9999=2712", "***"},
		{"Track Data", "9999=2712", "***"},
	} {
		cases = append(cases, maskTestCase{"plain text " + tc.name, tc.name + ": " + tc.value + ", ok", tc.name + ": " + tc.want + ", ok"})
	}
	maskTestRun(t, cases)
}
