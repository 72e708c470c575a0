package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// The same-machine reference for booking throughput: plain pgbench running
// one booking per transaction, in plain SQL, writing the rows a booking
// through keyrack writes. The booking benchmark (inventory's
// BenchmarkPgbenchBooking) and `keyrack bench` both run it.

// PgbenchScript is the pgbench script of one booking: take a room on three
// nights of one pool within its limit, insert the reservation, its
// revision, the audit entry and the two outbox rows. Its variables (-D) are
// prop, channel, first_pool (ids), pools and days (how many to pick from),
// start (the first arrival, YYYY-MM-DD) and actor.
const PgbenchScript = `\set pool random(0, :pools - 1)
\set day random(0, :days - 1)
BEGIN;
UPDATE nights SET sold = sold + 1, version = version + 1, updated_at = now()
  WHERE property_id = :prop::bigint AND pool_id = :pool::bigint + :first_pool::bigint
    AND night >= :start::date + :day::int AND night < :start::date + :day::int + 3 AND sold < lim;
INSERT INTO reservations (property_id, channel_id, external_id, status, arrival, departure, stays, guest, total, currency, held, revisions)
  VALUES (:prop::bigint, :channel::bigint, gen_random_uuid()::text, 'confirmed', :start::date + :day::int, :start::date + :day::int + 3,
    '[{"room_type": "R1","arrival": "2027-01-01","departure": "2027-01-04","rooms": 1}]', '{"name": "Bench Guest"}', 300.00, 'EUR',
    '[{"pool_id": 1,"night": "2027-01-01","units": 1},{"pool_id": 1,"night": "2027-01-02","units": 1},{"pool_id": 1,"night": "2027-01-03","units": 1}]', 1)
  RETURNING id AS res \gset
INSERT INTO reservation_revisions (property_id, reservation_id, seq, kind, content_hash, revision, content_type, actor, outcome)
  VALUES (:prop::bigint, :res::bigint, 1, 'new', sha256(:res::text::bytea),
    '{"property": "BENCH","channel": "C0","external_id": "1","kind": "new","stays": [{"room_type": "R1","arrival": "2027-01-01","departure": "2027-01-04","rooms": 1}],"guest": {"name": "Bench Guest"},"total": "300.00","currency": "EUR"}',
    '', :actor, '{"reservation_id": 1,"revision": 1,"status": "confirmed"}');
INSERT INTO audit_log (property_id, actor, origin, action, subject, details)
  VALUES (:prop::bigint, :actor, 'C0', 'reservation.new', 'reservation ' || :res, '{"channel": "C0","revision": 1,"status": "confirmed"}');
INSERT INTO outbox (property_id, topic, pool_id, from_night, to_night, origin_channel_id)
  VALUES (:prop::bigint, 'availability', :pool::bigint + :first_pool::bigint, :start::date + :day::int, :start::date + :day::int + 3, :channel::bigint);
INSERT INTO outbox (property_id, topic, reservation_id, revision_seq, origin_channel_id)
  VALUES (:prop::bigint, 'reservation', :res::bigint, 1, :channel::bigint);
END;
`

// Pgbench is one run of PgbenchScript.
type Pgbench struct {
	// ConnString is a libpq connection string or URI of the database.
	ConnString string
	// Clients run the script concurrently (-c), in Jobs threads (-j).
	Clients, Jobs int
	// Transactions per client (-t), or else Duration (-T, whole seconds).
	Transactions int
	Duration     time.Duration
	// Property, Channel and FirstPool are ids: bookings go to pools
	// FirstPool .. FirstPool+Pools-1 of Property, arriving on one of Days
	// days from Start, for three nights, every night of which must exist.
	Property, Channel, FirstPool int64
	Pools, Days                  int
	Start                        Date
	// Actor is the audit actor written (channel:C0 when empty).
	Actor string
}

// ErrNoPgbench is returned when pgbench is not installed. Debian ships it
// with the server package of each PostgreSQL version; postgresql-client
// installs /usr/bin/pgbench only as a link to pg_wrapper, which finds no
// pgbench to run.
var ErrNoPgbench = errors.New("pgbench is not installed (Debian: it comes with the server package, apt-get install postgresql-15 on Debian 12, postgresql-NN for PostgreSQL NN; postgresql-client installs only a pg_wrapper link to it)")

// PgbenchPath returns the pgbench that runs, or an error wrapping
// ErrNoPgbench: a pgbench on the PATH that fails to tell its version (as
// Debian's pg_wrapper does without the server package) is not one.
func PgbenchPath(ctx context.Context) (string, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return "", ErrNoPgbench
	}
	if out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: %s does not run (%v): %s", ErrNoPgbench, bin, err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// Run runs pgbench (-n, prepared statements) and returns its transactions
// per second (without the initial connection time) and its output.
func (p Pgbench) Run(ctx context.Context) (float64, []byte, error) {
	bin, err := PgbenchPath(ctx)
	if err != nil {
		return 0, nil, err
	}
	dir, err := os.MkdirTemp("", "keyrack-pgbench-")
	if err != nil {
		return 0, nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "booking.sql")
	if err := os.WriteFile(script, []byte(PgbenchScript), 0o644); err != nil {
		return 0, nil, err
	}
	actor := p.Actor
	if actor == "" {
		actor = "channel:C0"
	}
	args := []string{"-n", "-M", "prepared", "-c", strconv.Itoa(max(1, p.Clients)), "-j", strconv.Itoa(max(1, min(p.Jobs, p.Clients))), "-f", script}
	if p.Transactions > 0 {
		args = append(args, "-t", strconv.Itoa(p.Transactions))
	} else {
		args = append(args, "-T", strconv.Itoa(max(1, int(p.Duration.Round(time.Second)/time.Second))))
	}
	for _, v := range []string{
		fmt.Sprint("prop=", p.Property), fmt.Sprint("channel=", p.Channel), fmt.Sprint("first_pool=", p.FirstPool),
		fmt.Sprint("pools=", p.Pools), fmt.Sprint("days=", p.Days), "start=" + p.Start.String(), "actor=" + actor,
	} {
		args = append(args, "-D", v)
	}
	out, err := exec.CommandContext(ctx, bin, append(args, p.ConnString)...).CombinedOutput()
	if err != nil {
		return 0, out, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`).FindSubmatch(out)
	if m == nil {
		return 0, out, fmt.Errorf("pgbench: no tps in its output: %s", out)
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	return tps, out, err
}
