// Package ical speaks the iCalendar availability feeds that holiday-rental
// platforms exchange (Airbnb, Booking.com, Vrbo, Google, iCloud, …): it
// exports a room type's unavailable nights as a feed, parses the feeds the
// platforms publish into inventory.CalendarEvent values, and fetches those
// feeds over HTTP without letting a feed URL reach the deployment's private
// network.
//
// Parsing is tolerant of what real feeds do (LF or bare CR line ends, broken
// escapes, Windows zone names, VTIMEZONEs placed after the events) but never
// mistakes a broken fetch for an empty calendar: an empty body, an HTML page
// or a truncated download is an error, because the importer treats a valid
// feed's missing events as cancellations.
package ical
