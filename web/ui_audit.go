package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyrack/keyrack/inventory"
)

// auditRow is an audit entry worded for staff: what was done, by whom,
// its details as labelled values (nested ones flattened, times in the
// property's zone), and the entry as recorded, for whoever needs it.
type auditRow struct {
	inventory.AuditEntry
	What    string
	Who     string
	Details []auditDetail
	Raw     string
}

// auditDetail is one labelled value of an audit entry's details.
type auditDetail struct{ Label, Value string }

// auditActions word the audit log's actions staff read.
var auditActions = map[string]string{
	"reservation.new":              "New booking",
	"reservation.modify":           "Changed",
	"reservation.cancel":           "Cancelled",
	"reservation.erase_guest_data": "Guest data erased",
}

// auditLabels word the keys of audit entries' details.
var auditLabels = map[string]string{
	"external_id":     "Reservation id at the channel",
	"mode":            "Taken as",
	"overbooked":      "Nights overbooked",
	"parked":          "Parked (a room not mapped)",
	"revisions":       "Revisions",
	"messages":        "Channel messages",
	"kept_answers":    "Answers kept for the channels",
	"calendar_events": "Calendar events",
	"retention":       "Kept for (retention)",
}

// auditModes word how a booking was taken (inventory.Mode).
var auditModes = map[string]string{
	string(inventory.MustAccept): "confirmed by the channel: kept even past the limit",
	string(inventory.MayReject):  "only if the rooms were free",
}

// auditRows words entries for a page writing times in loc.
func auditRows(entries []inventory.AuditEntry, loc *time.Location) []auditRow {
	rows := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		r := auditRow{AuditEntry: e, What: auditActions[e.Action], Who: auditActor(e.Actor)}
		if r.What == "" {
			r.What = upperFirst(strings.NewReplacer(".", " ", "_", " ").Replace(e.Action))
		}
		r.Details = flattenDetails(nil, "", e.Details, loc)
		raw, err := json.MarshalIndent(e.Details, "", "  ")
		if err != nil {
			raw = []byte(fmt.Sprint(e.Details))
		}
		r.Raw = e.Action + " by " + e.Actor + "\n" + string(raw)
		rows = append(rows, r)
	}
	return rows
}

// auditActor words who made a change ("staff:anna", "channel:expedia").
func auditActor(a string) string {
	kind, name, _ := strings.Cut(a, ":")
	switch {
	case a == "system":
		return "keyrack itself"
	case name == "":
		return a
	case kind == "staff":
		return name
	case kind == "channel":
		return "channel " + name
	case kind == "api":
		return "API key “" + name + "”"
	}
	return a
}

// flattenDetails appends the labelled values of v, under label, to out:
// a nested object's values each under "label — key", a list of plain
// values as one, a list of objects one by one.
func flattenDetails(out []auditDetail, label string, v any, loc *time.Location) []auditDetail {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = flattenDetails(out, joinLabel(label, detailLabel(k)), auditValue(k, v[k]), loc)
		}
		return out
	case []any:
		plain := true
		for _, x := range v {
			switch x.(type) {
			case map[string]any, []any:
				plain = false
			}
		}
		if plain {
			vals := make([]string, len(v))
			for i, x := range v {
				vals[i] = detailValue(x, loc)
			}
			return append(out, auditDetail{label, cmp.Or(strings.Join(vals, ", "), "none")})
		}
		for i, x := range v {
			out = flattenDetails(out, joinLabel(label, strconv.Itoa(i+1)), x, loc)
		}
		return out
	}
	return append(out, auditDetail{label, detailValue(v, loc)})
}

// auditValue words the values of keys known by their meaning.
func auditValue(key string, v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	switch key {
	case "mode":
		if w, ok := auditModes[s]; ok {
			return w
		}
	case "retention":
		if n, ok := strings.CutSuffix(s, "d"); ok {
			if _, err := strconv.Atoi(n); err == nil {
				return n + " days"
			}
		}
	}
	return v
}

func joinLabel(parent, label string) string {
	if parent == "" {
		return label
	}
	return parent + " — " + strings.ToLower(label[:1]) + label[1:]
}

// detailLabel words a key of details: as known, else its words.
func detailLabel(k string) string {
	if l, ok := auditLabels[k]; ok {
		return l
	}
	return upperFirst(strings.ReplaceAll(k, "_", " "))
}

// detailValue writes a plain value of details: a moment in loc, yes or no,
// a number as written.
func detailValue(v any, loc *time.Location) string {
	switch v := v.(type) {
	case nil:
		return "—"
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return staffTime(t, loc)
		}
		return cmp.Or(v, "—")
	}
	return fmt.Sprint(v)
}
