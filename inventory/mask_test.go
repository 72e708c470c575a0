package inventory

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"github.com/keyrack/keyrack/fixtures/samples"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type maskTestCase struct {
	name, in, want string
}

func maskTestRun(t *testing.T, cases []maskTestCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := MaskCardString(tc.in)
			require.Equal(t, tc.want, got)
			require.Equal(t, got, MaskCardString(got), "masking must be idempotent")
		})
	}
}

func TestMaskCardDataPANAnywhere(t *testing.T) {
	maskTestRun(t, []maskTestCase{
		{"visa 16", "4111111111111111", "XXXXXXXXXXXX1111"},
		{"in text", "paid with 4111111111111111.", "paid with XXXXXXXXXXXX1111."},
		{"spaces", "card 4111 1111 1111 1111 exp 12/27", "card XXXX XXXX XXXX 1111 exp 12/27"},
		{"dashes", "4111-1111-1111-1111", "XXXX-XXXX-XXXX-1111"},
		{"mixed separators", "5555 5555-5555 4444", "XXXX XXXX-XXXX 4444"},
		{"amex 4-6-5", "3782 822463 10005", "XXXX XXXXXX X0005"},
		{"amex plain", "378282246310005", "XXXXXXXXXXX0005"},
		{"13 digits", "4222222222222", "XXXXXXXXX2222"},
		{"19 digits", "6011000000000000001", "XXXXXXXXXXXXXXX0001"},
		{"glued to letters", "ref:CC4111111111111111X", "ref:CCXXXXXXXXXXXX1111X"},
		{"next to a date", "2026-11-22 4111 1111 1111 1111", "2026-11-22 XXXX XXXX XXXX 1111"},
		{"in XML text", "<Text>card 4111111111111111</Text>", "<Text>card XXXXXXXXXXXX1111</Text>"},
		{"in XML attribute", `<Foo Ref="5555555555554444"/>`, `<Foo Ref="XXXXXXXXXXXX4444"/>`},
		{"in a JSON string", `{"note":"card 4111 1111 1111 1111"}`, `{"note":"card XXXX XXXX XXXX 1111"}`},
		{"JSON bare number becomes a string", `{"ref": 4111111111111111, "n": [5555555555554444]}`, `{"ref": "XXXXXXXXXXXX1111", "n": ["XXXXXXXXXXXX4444"]}`},
		{"iCal", "DESCRIPTION:Guarantee 4111111111111111\r\n", "DESCRIPTION:Guarantee XXXXXXXXXXXX1111\r\n"},
		{"two cards", "4111111111111111,5555555555554444", "XXXXXXXXXXXX1111,XXXXXXXXXXXX4444"},

		// Left alone.
		{"Luhn-invalid", "4111111111111112", "4111111111111112"},
		{"12 digits", "411111111113", "411111111113"},
		{"20 digits", "41111111111111110000", "41111111111111110000"},
		{"double space breaks the run", "4111  1111 1111 1111", "4111  1111 1111 1111"},
		{"date", "2026-11-22", "2026-11-22"},
		{"two dates (Luhn-valid digits)", "2026-11-22 2026-11-26", "2026-11-22 2026-11-26"},
		{"room list (Luhn-valid digits)", "rooms 109 110 111 112 113", "rooms 109 110 111 112 113"},
		{"phone", `<Telephone PhoneNumber="7245554321"/> +1 724-555-4321 999-999-9999`, `<Telephone PhoneNumber="7245554321"/> +1 724-555-4321 999-999-9999`},
		{"reservation ids", `ResID_Value="82329987" RES-12345678`, `ResID_Value="82329987" RES-12345678`},
		{"timestamp", "2017-09-19T17:50:41.059", "2017-09-19T17:50:41.059"},
		{"already masked", "XXXXXXXXXXXX1111", "XXXXXXXXXXXX1111"},
	})
}

func TestMaskCardDataNamedCardNumber(t *testing.T) {
	maskTestRun(t, []maskTestCase{
		// Luhn-invalid values are masked because of the name.
		{"attribute", `<PaymentCard CardType="1" CardNumber="9999999999999999" ExpireDate="0514"/>`, `<PaymentCard CardType="1" CardNumber="XXXXXXXXXXXX9999" ExpireDate="0514"/>`},
		{"attribute 12 chars keeps 4", `<PaymentCard CardNumber="999999999999"/>`, `<PaymentCard CardNumber="XXXXXXXX9999"/>`},
		{"attribute short masks all", `<PaymentCard CardNumber="99999999999"/>`, `<PaymentCard CardNumber="XXXXXXXXXXX"/>`},
		{"attribute single quotes", `<PaymentCard CardNumber='9999 9999 9999 9999'/>`, `<PaymentCard CardNumber='XXXX XXXX XXXX 9999'/>`},
		{"attribute spaces around =", "<PaymentCard\r\n  CardNumber = \"9999999999999999\"/>", "<PaymentCard\r\n  CardNumber = \"XXXXXXXXXXXX9999\"/>"},
		{"attribute case-insensitive", `<pc cardnumber="9999999999999999" PAN="1234567890123"/>`, `<pc cardnumber="XXXXXXXXXXXX9999" PAN="XXXXXXXXX0123"/>`},
		{"attribute letters", `<PaymentCard CardNumber="tok_ab12cd34ef56"/>`, `<PaymentCard CardNumber="XXX_XXXXXX34XX56"/>`},
		{"attribute entity", `<PaymentCard CardNumber="&#52;999999999999999"/>`, `<PaymentCard CardNumber="XXXXXXXXXXXX9999"/>`},
		{"empty attribute", `<PaymentCard CardNumber=""/>`, `<PaymentCard CardNumber=""/>`},
		{"element", `<CardNumber>9999999999999999</CardNumber>`, `<CardNumber>XXXXXXXXXXXX9999</CardNumber>`},
		{"element with white space", "<CardNumber>\n  9999999999999999\n</CardNumber>", "<CardNumber>\n  XXXXXXXXXXXX9999\n</CardNumber>"},
		{"element CDATA", `<CardNumber><![CDATA[9999999999999999]]></CardNumber>`, `<CardNumber><![CDATA[XXXXXXXXXXXX9999]]></CardNumber>`},
		{"element PAN", `<PAN>9999999999999999</PAN>`, `<PAN>XXXXXXXXXXXX9999</PAN>`},
		{
			"OTA PlainText",
			`<PaymentCard CardCode="VI"><CardNumber Mask="xxxx9999"><PlainText>9999999999999999</PlainText></CardNumber></PaymentCard>`,
			`<PaymentCard CardCode="VI"><CardNumber Mask="xxxx9999"><PlainText>XXXXXXXXXXXX9999</PlainText></CardNumber></PaymentCard>`,
		},
		{
			"OTA PlainText with namespace, comment and sibling",
			"<ota:CardNumber>\r\n\t<!-- clear -->\r\n\t<ota:EncryptedValue>AAAA1234</ota:EncryptedValue>\r\n\t<ota:PlainText><![CDATA[9999 9999 9999 9999]]></ota:PlainText>\r\n</ota:CardNumber>",
			"<ota:CardNumber>\r\n\t<!-- clear -->\r\n\t<ota:EncryptedValue>AAAA1234</ota:EncryptedValue>\r\n\t<ota:PlainText><![CDATA[XXXX XXXX XXXX 9999]]></ota:PlainText>\r\n</ota:CardNumber>",
		},
		{"JSON string", `{"card_number": "9999999999999999"}`, `{"card_number": "XXXXXXXXXXXX9999"}`},
		{"JSON camel case", `{"cardNumber":"9999-9999-9999-9999","x":1}`, `{"cardNumber":"XXXX-XXXX-XXXX-9999","x":1}`},
		{"JSON bare number", `{"CardNumber": 9999999999999999}`, `{"CardNumber": "XXXXXXXXXXXX9999"}`},
		{"JSON pan", `{"pan":"9999999999999999"}`, `{"pan":"XXXXXXXXXXXX9999"}`},
		{"JSON nested", `{"CardNumber": {"PlainText": "9999999999999999", "n": [1234]}}`, `{"CardNumber": {"PlainText": "XXXXXXXXXXXX9999", "n": ["XXXX"]}}`},
		{"JSON escape", `{"cardNumber":"\u0039999999999999999"}`, `{"cardNumber":"XXXXXXXXXXXX9999"}`},
		{"plain text", "card_number=9999999999999999&x=1", "card_number=XXXXXXXXXXXX9999&x=1"},
		{"plain text two words", "Card Number: 9999 9999 9999 9999, 2026-11-22", "Card Number: XXXX XXXX XXXX 9999, 2026-11-22"},

		// Not card numbers.
		{"loyalty card", `<Loyalty LoyaltyCardNumber="9999999999999999"/>`, `<Loyalty LoyaltyCardNumber="9999999999999999"/>`},
		{"masked card number", `{"maskedCardNumber": "9999 99** **** 9999"}`, `{"maskedCardNumber": "9999 99** **** 9999"}`},
		{"pan inside a word", `<CompanyName>Japan Company 99999999999999</CompanyName>`, `<CompanyName>Japan Company 99999999999999</CompanyName>`},
		{"name as a value", `{"field": "CardNumber", "value": "9999"}`, `{"field": "CardNumber", "value": "9999"}`},
		{"end tag only", `</CardNumber>`, `</CardNumber>`},
	})
}

func TestMaskCardDataSecrets(t *testing.T) {
	maskTestRun(t, []maskTestCase{
		{"SeriesCode attribute", `<PaymentCard CardNumber="9999999999999999" SeriesCode="123" CardType="MC"/>`, `<PaymentCard CardNumber="XXXXXXXXXXXX9999" SeriesCode="***" CardType="MC"/>`},
		{"security code attributes", `<C CVV="123" CVC='456' CVV2="7890" CardSecurityCode="123" SecurityCode="12"/>`, `<C CVV="***" CVC='***' CVV2="***" CardSecurityCode="***" SecurityCode="***"/>`},
		{"lower case attribute", `<c seriescode="123" cvv = '123'/>`, `<c seriescode="***" cvv = '***'/>`},
		{"empty attribute", `<c SeriesCode=""/>`, `<c SeriesCode=""/>`},
		{"element", `<CVV>123</CVV><CVC> 456 </CVC><SecurityCode><![CDATA[789]]></SecurityCode>`, `<CVV>***</CVV><CVC> *** </CVC><SecurityCode><![CDATA[***]]></SecurityCode>`},
		{"SeriesCode PlainText", "<SeriesCode>\n <PlainText>123</PlainText>\n</SeriesCode>", "<SeriesCode>\n <PlainText>***</PlainText>\n</SeriesCode>"},
		{"JSON fields", `{"cvv":"123","cvc":"456","cvv2":"789","security_code":"12","securityCode":"3456","series_code":"1"}`, `{"cvv":"***","cvc":"***","cvv2":"***","security_code":"***","securityCode":"***","series_code":"***"}`},
		{"JSON case-insensitive", `{"CVV": "123", "Cvc": "456"}`, `{"CVV": "***", "Cvc": "***"}`},
		{"JSON bare numbers", `{"cvv": 123, "cvc":456}`, `{"cvv": "***", "cvc":"***"}`},
		{"JSON nested card", `{"card": {"number": "4111111111111111", "cvc": "123", "exp_month": 12}}`, `{"card": {"number": "XXXXXXXXXXXX1111", "cvc": "***", "exp_month": 12}}`},
		{"JSON null", `{"cvv": null}`, `{"cvv": null}`},
		{"plain text", "cvv=123&card_cvc=4567", "cvv=***&card_cvc=***"},
		{"plain text two words", "Security code: 123.", "Security code: ***."},
		{"python repr", `{'cvv': 123, 'number': '4111111111111111'}`, `{'cvv': '***', 'number': 'XXXXXXXXXXXX1111'}`},

		// Magnetic stripe.
		{
			"track attributes",
			`<MagneticStripe Track1="%B4111111111111111^DOE/JOHN^2712101000000000000?" Track2=";4111111111111111=27121010000000000000?"/>`,
			`<MagneticStripe Track1="***" Track2="***"/>`,
		},
		{"track elements", `<Track1>B4111111111111111^DOE^27121010</Track1><Track2>4111111111111111=2712101</Track2>`, `<Track1>***</Track1><Track2>***</Track2>`},
		{"magnetic stripe element", `<MagneticStripe>;4111111111111111=2712101?</MagneticStripe>`, `<MagneticStripe>***</MagneticStripe>`},
		{"track JSON", `{"track2": ";4111111111111111=2712101?", "track_1": "%B4111^X^27?"}`, `{"track2": "***", "track_1": "***"}`},

		// 3-D Secure.
		{
			"3DS attributes",
			`<Results ECI="05" CAVV="AAABBEg0VhI0VniQEjRWAAAAAAA=" XID="MDAwMDAwMDAwMDAwMDAwMzIyNzY=" AuthenticationValue="jJ81HADVRtXfCBATEp01CJUAAAA="/>`,
			`<Results ECI="05" CAVV="***" XID="***" AuthenticationValue="***"/>`,
		},
		{"3DS JSON", `{"eci":"05","cavv":"AAABBEg0VhI0VniQEjRWAAAAAAA=","threeDSecureAuthenticationValue":"jJ81HADVRtX=","xid":"MDAw"}`, `{"eci":"05","cavv":"***","threeDSecureAuthenticationValue":"***","xid":"***"}`},
		{"3DS element", `<Cavv>AAABBEg0VhI0VniQEjRWAAAAAAA=</Cavv>`, `<Cavv>***</Cavv>`},

		// Credentials a channel sends in the message: stored, they would let
		// anyone who reads it act as the channel.
		{
			"WS-Security password",
			`<wsse:UsernameToken><wsse:Username>gds-user</wsse:Username><wsse:Password Type="…#PasswordText">gds-secret</wsse:Password></wsse:UsernameToken>`,
			`<wsse:UsernameToken><wsse:Username>gds-user</wsse:Username><wsse:Password Type="…#PasswordText">***</wsse:Password></wsse:UsernameToken>`,
		},
		{"POS MessagePassword", `<RequestorID ID="user" MessagePassword="ek^4$327F21"/>`, `<RequestorID ID="user" MessagePassword="***"/>`},
		{"JSON credentials", `{"inbound_username":"u","inbound_secret":"s3cret","password":"pw","passwd":"x"}`, `{"inbound_username":"u","inbound_secret":"***","password":"***","passwd":"***"}`},
		{"plain text password", "password=hunter2&user=anna", "password=***&user=anna"},

		// JSON inside JSON, XML inside JSON.
		{"escaped JSON", `{"payload":"{\"cvv\":\"123\",\"cardNumber\":\"9999999999999999\"}"}`, `{"payload":"{\"cvv\":\"***\",\"cardNumber\":\"XXXXXXXXXXXX9999\"}"}`},
		{"escaped JSON number", `{"payload":"{\"cvv\":123}"}`, `{"payload":"{\"cvv\":\"***\"}"}`},
		{"XML in JSON", `{"raw":"<PaymentCard CardNumber=\"9999999999999999\" SeriesCode=\"123\"/>\n<CVV>456</CVV>"}`, `{"raw":"<PaymentCard CardNumber=\"XXXXXXXXXXXX9999\" SeriesCode=\"***\"/>\n<CVV>***</CVV>"}`},
		{"XML in JSON escaped white space", `{"raw":"<SeriesCode>\n  <PlainText>123</PlainText>\n</SeriesCode>"}`, `{"raw":"<SeriesCode>\n  <PlainText>***</PlainText>\n</SeriesCode>"}`},

		// Left alone.
		{"CardCode and CardType", `<PaymentCard CardCode="MC" CardType="1" ExpireDate="1212" CardHolderRPH="1"/>`, `<PaymentCard CardCode="MC" CardType="1" ExpireDate="1212" CardHolderRPH="1"/>`},
		{"prose", "Please bring the card used for the booking.", "Please bring the card used for the booking."},
		{"XML element not closed", "the <CVV> element holds 3 digits", "the <CVV> element holds 3 digits"},
		{"value spanning JSON strings", `{"a":"<CVV>","b":"1</x>"}`, `{"a":"<CVV>","b":"1</x>"}`},
	})
}

func TestMaskCardDataKeepsDocumentsWellFormed(t *testing.T) {
	x := `<?xml version="1.0"?>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" xmlns:o="urn:o">
  <PaymentCard CardCode="VI" CardNumber="4111 1111 1111 1111" SeriesCode='123' ExpireDate="1227">
    <CardHolderName>A &amp; B</CardHolderName>
    <o:CardNumber><o:PlainText>4111111111111111</o:PlainText></o:CardNumber>
    <SeriesCode><PlainText>123</PlainText></SeriesCode>
    <CVV>&#49;23</CVV>
    <MagneticStripe Track1="%B4111111111111111^DOE/JOHN^2712?"/>
    <ThreeDomainSecurity><Results CAVV="AAABBEg0VhI0VniQEjRWAAAAAAA=" XID="MDAw"/></ThreeDomainSecurity>
  </PaymentCard>
  <!-- guest said: card 4111-1111-1111-1111, cvv=123 -->
  <Text><![CDATA[card 4111111111111111 & SeriesCode: 123]]></Text>
</OTA_HotelResNotifRQ>`
	got := MaskCardString(x)
	for _, leak := range []string{"4111 1111 1111 1111", "4111111111111111", "4111-1111-1111-1111", "123<", `'123'`, "&#49;", "AAAB", "MDAw"} {
		require.NotContains(t, got, leak)
	}
	require.Contains(t, got, `CardNumber="XXXX XXXX XXXX 1111" SeriesCode='***'`)
	require.Contains(t, got, `<CardHolderName>A &amp; B</CardHolderName>`)
	require.NoError(t, maskTestWalkXML([]byte(got)))
	maskTestSameXMLShape(t, []byte(x), []byte(got))

	j := `{"booking": {"id": "RES-12345678", "arrival": "2026-11-22", "phone": "+1 724-555-4321",
  "payment": {"card_number": "4111 1111 1111 1111", "cvv": 123, "expiry": "12/27",
    "card": {"cardNumber": 4111111111111111, "securityCode": "1\"23"}, "threeDS": {"cavv": "AAAB", "eci": "05"}},
  "notes": ["paid 5555555555554444", 5555555555554444, 12.5, -4111111111111111],
  "raw": "<PaymentCard CardNumber=\"9999999999999999\" SeriesCode=\"123\"/>"}}`
	require.True(t, json.Valid([]byte(j)))
	got = MaskCardString(j)
	require.True(t, json.Valid([]byte(got)), got)
	for _, leak := range []string{"4111", "5555555555554444", "9999999999999999", ": 123", `1\"23`, `\"123\"`, "AAAB"} {
		require.NotContains(t, got, leak)
	}
	for _, kept := range []string{`"RES-12345678"`, `"2026-11-22"`, `"+1 724-555-4321"`, `"12/27"`, `"05"`, "12.5"} {
		require.Contains(t, got, kept)
	}
	require.Contains(t, got, `"notes": ["paid XXXXXXXXXXXX4444", "XXXXXXXXXXXX4444", 12.5, "-XXXXXXXXXXXX1111"]`)
}

func TestMaskCardDataCopies(t *testing.T) {
	in := []byte(`<PaymentCard CardNumber="4111111111111111" SeriesCode="123"/>`)
	orig := bytes.Clone(in)
	out := MaskCardData(in)
	require.Equal(t, orig, in, "input must not be modified")
	require.Equal(t, `<PaymentCard CardNumber="XXXXXXXXXXXX1111" SeriesCode="***"/>`, string(out))

	clean := []byte("nothing to mask")
	out = MaskCardData(clean)
	require.Equal(t, clean, out)
	out[0] = 'N'
	require.Equal(t, byte('n'), clean[0], "result must be a new slice")

	require.Nil(t, MaskCardData(nil))
	require.Equal(t, []byte{}, MaskCardData([]byte{}))
	require.Equal(t, "", MaskCardString(""))
}

// maskOTASamplesDir holds real third-party OTA messages (never edit them).
var maskOTASamplesDir = samples.Dir("ota")

// maskOTASampleChanges lists, per sample holding card data, every change masking
// must make; masking must leave everything else byte for byte.
var maskOTASampleChanges = map[string][][2]string{
	"opentravel_OTA_CancelRS_hotel.xml": {
		{`CardNumber="999999999999"`, `CardNumber="XXXXXXXX9999"`},
	},
	"opentravel_OTA_HotelResModifyNotifRQ_modify.xml": {
		{`CardNumber="4111111111111202"`, `CardNumber="XXXXXXXXXXXX1202"`},
	},
	"opentravel_OTA_HotelResNotifRQ_new.xml": {
		{`CardNumber="4111111111111202"`, `CardNumber="XXXXXXXXXXXX1202"`},
	},
	"opentravel_OTA_HotelResNotifRQ2_messagepassword.xml": {
		{`MessagePassword="ek^4$327F21"`, `MessagePassword="***"`},
		{`CardNumber="9999999999999999"`, `CardNumber="XXXXXXXXXXXX9999"`},
		{`SeriesCode="123"`, `SeriesCode="***"`},
		{`SeriesCode="222"`, `SeriesCode="***"`},
		{`SeriesCode="333"`, `SeriesCode="***"`},
	},
	"weekendesk_OTA_HotelResRQ_booking-notification.xml": {
		{`MessagePassword="password"`, `MessagePassword="***"`},
		{`CardNumber="1111222233334444"`, `CardNumber="XXXXXXXXXXXX4444"`},
		{`SeriesCode="123"`, `SeriesCode="***"`},
	},
	"weekendesk_OTA_CancelRQ.xml": {
		{`MessagePassword="password"`, `MessagePassword="***"`},
	},
}

// maskCredentialValue matches a credential's masked value in a sample, so
// the byte-level check below can set it aside.
var maskCredentialValue = regexp.MustCompile(`MessagePassword="[^"]*"`)

func TestMaskCardDataOTASamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(maskOTASamplesDir, "*.xml"))
	require.NoError(t, err)
	if len(files) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("no OTA samples in %s", maskOTASamplesDir)
		}
		t.Skipf("no OTA samples in %s (set CI to make this an error)", maskOTASamplesDir)
	}
	seen := map[string]bool{}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(file)
			require.NoError(t, err)
			orig := bytes.Clone(in)
			got := MaskCardData(in)
			require.Equal(t, orig, in, "input must not be modified")

			maskTestNoCardData(t, got)
			require.NoError(t, maskTestWalkXML(in), "the sample itself must be well-formed")
			require.NoError(t, maskTestWalkXML(got), "masked sample must still be well-formed XML")
			maskTestSameXMLShape(t, in, got)
			require.Equal(t, string(got), string(MaskCardData(got)), "masking must be idempotent")

			// Only masked values change: digits become X or *, nothing else
			// (credentials, set aside here, become *** whatever their length).
			inCards := maskCredentialValue.ReplaceAll(in, []byte(`MessagePassword=""`))
			gotCards := maskCredentialValue.ReplaceAll(got, []byte(`MessagePassword=""`))
			require.Len(t, gotCards, len(inCards))
			for i := range inCards {
				if inCards[i] != gotCards[i] {
					require.True(t, maskTestIsDigit(inCards[i]) && (gotCards[i] == 'X' || gotCards[i] == '*'), "byte %d: %q became %q", i, inCards[i], gotCards[i])
				}
			}

			// And exactly the known card values change.
			want := string(in)
			changes, known := maskOTASampleChanges[name]
			for _, c := range changes {
				require.Contains(t, want, c[0])
				want = strings.ReplaceAll(want, c[0], c[1])
			}
			if known || !bytes.Equal(in, got) {
				seen[name] = true
				require.True(t, known, "%s: unexpected change, add it to maskOTASampleChanges", name)
			}
			require.Equal(t, want, string(got))
		})
	}
	for name := range maskOTASampleChanges {
		require.True(t, seen[name], "sample %s not found", name)
	}
}

var (
	maskTestSeriesCodeRE = regexp.MustCompile(`(?i)SeriesCode\s*=\s*["']\s*\d`)
	maskTestCardNumberRE = regexp.MustCompile(`(?i)CardNumber\s*=\s*(?:"([^"]*)"|'([^']*)')`)
	maskTestDigitRunRE   = regexp.MustCompile(`\d(?:[ -]?\d)*`)
)

// maskTestNoCardData checks masked output: no Luhn-valid run of 13 to 19
// digits (whole runs, or any 13 to 19 consecutive digits inside a run), no
// SeriesCode with digits, no CardNumber attribute showing more than 4 digits.
func maskTestNoCardData(t *testing.T, b []byte) {
	t.Helper()
	for _, run := range maskTestDigitRunRE.FindAll(b, -1) {
		digits := bytes.Map(func(r rune) rune {
			if r == ' ' || r == '-' {
				return -1
			}
			return r
		}, run)
		if len(digits) >= 13 && len(digits) <= 19 {
			require.False(t, maskTestLuhn(digits), "Luhn-valid digit run %q left", run)
		}
	}
	require.Nil(t, maskTestSeriesCodeRE.Find(b), "SeriesCode with digits left")
	for _, m := range maskTestCardNumberRE.FindAllSubmatch(b, -1) {
		v := append(m[1], m[2]...)
		n := 0
		for _, c := range v {
			if maskTestIsDigit(c) {
				n++
			}
		}
		require.LessOrEqual(t, n, 4, "CardNumber value %q shows more than 4 digits", v)
	}
}

func maskTestIsDigit(c byte) bool { return '0' <= c && c <= '9' }

func maskTestLuhn(digits []byte) bool {
	sum := 0
	for i := range digits {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// maskTestWalkXML decodes every token of an XML document.
func maskTestWalkXML(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// maskTestSameXMLShape checks that masking changed nothing but values: the
// same tokens, element and attribute names in the same order.
func maskTestSameXMLShape(t *testing.T, a, b []byte) {
	t.Helper()
	da, db := xml.NewDecoder(bytes.NewReader(a)), xml.NewDecoder(bytes.NewReader(b))
	for {
		ta, erra := da.RawToken()
		tb, errb := db.RawToken()
		if errors.Is(erra, io.EOF) {
			require.ErrorIs(t, errb, io.EOF)
			return
		}
		require.NoError(t, erra)
		require.NoError(t, errb)
		switch x := ta.(type) {
		case xml.StartElement:
			y, ok := tb.(xml.StartElement)
			require.True(t, ok, "%#v became %#v", ta, tb)
			require.Equal(t, x.Name, y.Name)
			require.Len(t, y.Attr, len(x.Attr))
			for i := range x.Attr {
				require.Equal(t, x.Attr[i].Name, y.Attr[i].Name)
			}
		case xml.EndElement:
			require.Equal(t, x, tb)
		case xml.CharData:
			_, ok := tb.(xml.CharData)
			require.True(t, ok, "%#v became %#v", ta, tb)
		case xml.Comment:
			_, ok := tb.(xml.Comment)
			require.True(t, ok, "%#v became %#v", ta, tb)
		default:
			require.Equal(t, xml.CopyToken(ta), xml.CopyToken(tb))
		}
	}
}

func FuzzMaskCardData(f *testing.F) {
	for _, s := range []string{
		`<PaymentCard CardNumber="4111111111111111" SeriesCode="123"><CardNumber><PlainText>4111</PlainText></CardNumber></PaymentCard>`,
		`{"cvv": 123, "card": {"number": 4111111111111111}, "n": "4111 1111 1111 1111"}`,
		`{"raw":"<CVV>1</CVV> <a SeriesCode=\"1\"/>", "x": "{\"cvv\":\"1\"}"}`,
		"card number: 4111-1111-1111-1111 cvv=123 2026-11-22 2026-11-26",
		"<SeriesCode>\r\n<!-- x --><PlainText><![CDATA[123]]></PlainText></SeriesCode>",
		"3782 822463 10005 6011000000000000001 4111 1111 1111 1111 1111",
		// Found by fuzzing.
		"<SeriesCode>00000000000<00000><",
		"CArdNr=\"\\\u0240\"",
		"11111110111111",
		`"CvC":0CvC":0`,
		"CArdNr=\"&\u0473;\"",
		"CArdNr=\"000000000000&00000000\u03d6000;\"",
		`"CvC":{""""CvC":0`,
		`CArdNr="&&&&&0;;;;;"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		got := MaskCardData(in)
		if !bytes.Equal(orig, in) {
			t.Fatal("input modified")
		}
		if again := MaskCardData(got); !bytes.Equal(again, got) {
			t.Fatalf("not idempotent:\n%q\n%q\n%q", in, got, again)
		}
		// A JSON document (object or array) stays valid; a lone number is
		// taken for plain text.
		if trim := bytes.TrimLeft(in, " \t\r\n"); len(trim) > 0 && (trim[0] == '{' || trim[0] == '[') && json.Valid(in) && !json.Valid(got) {
			t.Fatalf("broke JSON:\n%q\n%q", in, got)
		}
		if maskTestWalkXML(in) == nil && maskTestWalkXML(got) != nil {
			t.Fatalf("broke XML: %v\n%q\n%q", maskTestWalkXML(got), in, got)
		}
		// No Luhn-valid unbroken 13-19 digit run is left.
		for _, run := range regexp.MustCompile(`\d+`).FindAll(got, -1) {
			if len(run) >= 13 && len(run) <= 19 && maskTestLuhn(run) {
				t.Fatalf("card number left: %q\n%q\n%q", run, in, got)
			}
		}
	})
}

func BenchmarkMaskCardData(b *testing.B) {
	for _, name := range []string{
		"opentravel_OTA_HotelResNotifRQ2_messagepassword.xml",   // 3 cards
		"weekendesk_OTA_HotelAvailNotifRQ_multiple-updates.xml", // no card
	} {
		in, err := os.ReadFile(filepath.Join(maskOTASamplesDir, name))
		if err != nil {
			b.Skip(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				MaskCardData(in)
			}
		})
	}
}

// A message kept only in part shows no card number's digits, wherever the
// cut falls: masking comes before the cut, and a cut ending in digits drops
// them (the first 16 digits of a 20-digit reference are a valid card number).
func TestACutMessageKeepsNoCardDigits(t *testing.T) {
	for _, msg := range []string{
		`<PaymentCard CardNumber="4111111111111111" SeriesCode="737"/>`,
		"guest note: pay with 4111111111111111 please",
		"guest note: pay with 4111 1111 1111 1111 please",
		"reference 41111111111111110000 kept",
	} {
		for n := 0; n < len(msg); n++ {
			got := MaskAndCut(msg, n)
			if !strings.HasPrefix(msg, "reference") {
				require.NotRegexp(t, `41111|1111 1111|737`, got, "%q cut at %d", msg, n)
			}
			require.Equal(t, got, MaskCardString(got), "%q cut at %d shows a card number", msg, n)
			require.Contains(t, got, "cut: the message had")
			require.LessOrEqual(t, len(got), n+len("\n[… cut: the message had 00 bytes]"))
		}
		require.Equal(t, MaskCardString(msg), MaskAndCut(msg, len(msg)), "not cut")
	}
	require.Equal(t, "Jos\n[… cut: the message had 5 bytes]", MaskAndCut("José", 4), "no character is split")
}
