package otaxml

import (
	"strconv"

	"github.com/beevik/etree"
	"github.com/keyrack/keyrack/inventory"
)

// ParseResponse reads an RS (raw or in a SOAP envelope). Card data is
// masked in the texts it gives (its error, the RS's Errors and Warnings):
// they are stored and shown to staff.
func ParseResponse(body []byte) (*Response, error) {
	r, perr := parseResponse(body)
	if perr != nil {
		maskError(perr)
		return r, perr
	}
	return r, nil
}

func parseResponse(body []byte) (*Response, *Error) {
	root, perr := readTree(body)
	if perr != nil {
		return nil, perr
	}
	r := &Response{}
	if root.Tag == "Envelope" {
		r.RelatesTo = text(path(root, "Header", "RelatesTo"))
		if f := path(root, "Body", "Fault"); f != nil {
			msg := first(text(child(f, "faultstring")), text(path(f, "Reason", "Text")), "no reason given")
			return r, Errorf(TypeProtocol, 0, "SOAP Fault: %s", shown(msg, 300))
		}
	}
	var h Header
	ota, perr := unwrap(root, &h)
	if perr != nil {
		return r, perr
	}
	r.Name, r.EchoToken = h.Name, attr(ota, "EchoToken")
	r.Success = child(ota, "Success") != nil
	r.Warnings = readIssues(child(ota, "Warnings"), "Warning")
	r.Errors = readIssues(child(ota, "Errors"), "Error")
	collectIDs(ota, &r.IDs)
	if !r.Success && len(r.Errors) == 0 {
		return r, Errorf(TypeProtocol, 0, "%s has neither Success nor Errors", r.Name)
	}
	return r, nil
}

func readIssues(list *etree.Element, tag string) []Error {
	var out []Error
	for _, e := range children(list, tag) {
		typ, _ := strconv.Atoi(attr(e, "Type"))
		code, _ := strconv.Atoi(attr(e, "Code"))
		out = append(out, Error{
			Type: typ, Code: code, Msg: inventory.MaskCardString(first(text(e), attr(e, "ShortText"))),
			RecordID: attr(e, "RecordID"), Status: attr(e, "Status"),
		})
	}
	return out
}

// collectIDs lists every UniqueID and HotelReservationID under e, in
// document order.
func collectIDs(e *etree.Element, ids *[]ResID) {
	for _, c := range e.ChildElements() {
		switch c.Tag {
		case "UniqueID":
			if v := attr(c, "ID"); v != "" {
				*ids = append(*ids, ResID{Type: attr(c, "Type"), Value: v, Source: attr(c, "ID_Context")})
			}
		case "HotelReservationID":
			if v := attr(c, "ResID_Value"); v != "" {
				*ids = append(*ids, ResID{Type: attr(c, "ResID_Type"), Value: v, Source: attr(c, "ResID_Source")})
			}
		}
		collectIDs(c, ids)
	}
}
