package sync_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// The test binary doubles as a worker process, so a test can kill a worker
// with SIGKILL: with KEYRACK_SYNC_TEST_WORKER set it runs a worker until it
// is signalled, instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("KEYRACK_SYNC_TEST_WORKER") != "" {
		if err := runWorkerProcess(); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runWorkerProcess() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := pgxpool.ParseConfig(os.Getenv("KEYRACK_SYNC_TEST_DB"))
	if err != nil {
		return err
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = os.Getenv("KEYRACK_SYNC_TEST_SCHEMA")
	cfg.MaxConns = 16
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	q, err := sync.OpenQueue(os.Getenv("KEYRACK_SYNC_TEST_REDIS"))
	if err != nil {
		return err
	}
	defer q.Close()
	sec, err := inventory.NewSecrets(testSecret)
	if err != nil {
		return err
	}
	c := testConfig(db, sec, os.Getenv("KEYRACK_SYNC_TEST_PREFIX"))
	c.Queue = q
	f, err := sync.New(c)
	if err != nil {
		return err
	}
	return f.RunWorker(ctx)
}

// startWorkerProcess runs a worker for the hotel in a process of its own,
// killed (if still running) when the test ends.
func (h *hotel) startWorkerProcess() *exec.Cmd {
	h.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"KEYRACK_SYNC_TEST_WORKER=1",
		"KEYRACK_SYNC_TEST_DB="+inventorytest.DatabaseURL(),
		"KEYRACK_SYNC_TEST_SCHEMA="+h.st.DB().Config().ConnConfig.RuntimeParams["search_path"],
		"KEYRACK_SYNC_TEST_REDIS="+h.redisURL,
		"KEYRACK_SYNC_TEST_PREFIX="+h.prefix,
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(h.t, cmd.Start())
	h.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}
