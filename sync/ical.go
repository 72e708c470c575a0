package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/keyrack/keyrack/connectors/ical"
	"github.com/keyrack/keyrack/inventory"
)

// iCal import: every worker process looks every ICalCheckInterval for
// feeds whose poll is due and claims them (inventory.DueICalFeeds: each
// feed is claimed by one process, and its next poll moves a poll interval
// ahead with jitter). Each claimed feed is fetched with a conditional GET
// through the SSRF-safe fetcher, parsed, and only a valid calendar is
// applied (inventory.ImportCalendar): a non-2xx answer, an HTML page, an
// empty or truncated body, or a parse failure changes no booking and is
// recorded on the feed. The elected scheduler flags feeds without a good
// fetch for ICalStaleAfter as stale (an incident, resolved by the next good
// fetch).

// icalBatch is how many due feeds a worker claims at once.
const icalBatch = 16

// runICalImport polls due feeds until ctx ends.
func (f *Fanout) runICalImport(ctx context.Context) {
	f.every(ctx, f.cfg.ICalCheckInterval, "polling iCal feeds", func(ctx context.Context) (bool, error) {
		n, err := f.ImportDueICalFeeds(ctx)
		return n == icalBatch, err
	})
}

// ImportDueICalFeeds claims the feeds whose poll is due (up to a batch),
// fetches and imports them, ICalConcurrency at a time, and returns how many
// it claimed. Feeds that fail are recorded as failed fetches; only a
// failure to reach keyrack's own database is returned.
func (f *Fanout) ImportDueICalFeeds(ctx context.Context) (int, error) {
	if f.cfg.Store == nil || f.cfg.Secrets == nil {
		return 0, nil
	}
	due, err := f.cfg.Store.DueICalFeeds(ctx, f.cfg.Secrets, icalBatch)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, f.cfg.ICalConcurrency)
	var wg gosync.WaitGroup
	var mu gosync.Mutex
	var errs []error
	for _, d := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f.importICalFeed(ctx, d); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(due), errors.Join(errs...)
}

// importICalFeed polls one feed and records how it went.
func (f *Fanout) importICalFeed(ctx context.Context, d inventory.ICalFeedDue) error {
	rec := f.pollICalFeed(ctx, d)
	if rec.Err != "" {
		f.log.Warn("ical: feed fetch failed; nothing changed", "property", d.Property, "channel", d.Channel,
			"room_type", d.RoomType, "feed", d.ID, "status", rec.Status, "err", rec.Err)
	}
	// Recorded even when ctx ended: the outcome is what staff look at.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := f.cfg.Store.RecordICalFetch(rctx, d.ICalFeedRef, rec); err != nil {
		return fmt.Errorf("ical: record the fetch of feed %d of %s: %w", d.ID, d.Property, err)
	}
	return nil
}

// pollICalFeed fetches, parses and imports one feed, and says how it went.
func (f *Fanout) pollICalFeed(ctx context.Context, d inventory.ICalFeedDue) inventory.ICalFetch {
	rec := inventory.ICalFetch{At: time.Now()}
	resp, err := f.cfg.ICalFetcher.Fetch(ctx, d.URL, ical.Conditional{ETag: d.ETag, LastModified: d.LastModified})
	rec.Status = resp.Status
	if err != nil {
		rec.Err = err.Error()
		return rec
	}
	if resp.NotModified {
		rec.NotModified = true
		return rec
	}
	loc, err := time.LoadLocation(d.TimeZone)
	if err != nil {
		rec.Err = fmt.Sprintf("the property's time zone %q: %v", d.TimeZone, err)
		return rec
	}
	// Every event blocks, as on the platforms themselves: Google writes
	// all-day events as TRANSPARENT unless the host picks "busy".
	feed, err := ical.Parse(resp.Body, ical.ParseOptions{Location: loc, IncludeTransparent: true})
	if err != nil {
		rec.Err = "not a usable calendar: " + err.Error()
		return rec
	}
	res, err := f.cfg.Store.ImportCalendar(ctx, d.ICalFeedRef, feed.Events, feed.Unreadable, rec.At)
	if err != nil {
		rec.Err = "the calendar could not be applied: " + err.Error()
		return rec
	}
	rec.ETag, rec.LastModified, rec.Events = resp.ETag, resp.LastModified, len(feed.Events)
	rec.Warnings = append(feed.Warnings, res.Warnings...)
	if len(rec.Warnings) > 0 {
		f.log.Info("ical: feed imported with warnings", "property", d.Property, "channel", d.Channel, "feed", d.ID,
			"warnings", strings.Join(rec.Warnings, "; "))
	}
	f.log.Debug("ical: feed imported", "property", d.Property, "channel", d.Channel, "feed", d.ID,
		"new", res.New, "modified", res.Modified, "cancelled", res.Cancelled, "renumbered", res.Renumbered)
	return rec
}

// raiseStaleFeeds flags the feeds without a good fetch for ICalStaleAfter.
func (f *Fanout) raiseStaleFeeds(ctx context.Context) error {
	if f.cfg.Store == nil {
		return nil
	}
	_, err := f.cfg.Store.RaiseStaleFeeds(ctx, f.cfg.ICalStaleAfter)
	return err
}

// raiseStaleExports flags the export calendars no platform has fetched for
// ICalExportStaleAfter, and clears the flags of those fetched since.
func (f *Fanout) raiseStaleExports(ctx context.Context) error {
	if f.cfg.Store == nil {
		return nil
	}
	_, err := f.cfg.Store.RaiseStaleExports(ctx, f.cfg.ICalExportStaleAfter)
	return err
}
