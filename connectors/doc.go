// Package connectors holds one subpackage per channel protocol (OTA XML,
// iCal, the PMS API): each parses, encodes and authenticates that protocol's
// messages and maps them to inventory types, without business rules of its
// own. The connector interface the fan-out delivers through lives here too.
//
// The protocol packages arrive with the issues that build them; see the
// project's README for what exists today.
package connectors
