package inventory

import (
	"errors"
	"fmt"
)

// Application error codes. The web layer maps them to HTTP statuses and OTA
// error codes, so internal errors never leak to callers.
const (
	ECONFLICT = "conflict"  // the change does not fit (e.g. no availability)
	EINVALID  = "invalid"   // bad input
	ENOTFOUND = "not_found" // an addressed thing does not exist
	EINTERNAL = "internal"
)

// Error is an application error with a code and a message meant for users.
type Error struct {
	Code    string
	Message string
	// Short lists the nights that were short, for a ECONFLICT on a booking.
	Short []Shortage
	// Field names the field of the request at fault in an EINVALID error,
	// when the store can tell (a channel's code its protocol cannot carry):
	// the API names it, as it names the fields it checks itself.
	Field string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// invalidField is an EINVALID error naming the request's field at fault.
func invalidField(field, format string, args ...any) *Error {
	e := Errorf(EINVALID, format, args...)
	e.Field = field
	return e
}

// ErrorCode is the code of err, or EINTERNAL for an error that is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage is the user-facing message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
