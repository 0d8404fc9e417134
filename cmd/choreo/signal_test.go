//go:build linux || darwin

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterruptEndsLint builds choreo, starts `choreo lint` on a named pipe
// that never delivers a catalog, and interrupts it as Ctrl+C would: the
// command must end by the signal. (Only `choreo dev` catches the signal,
// to shut down cleanly.)
func TestInterruptEndsLint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "choreo")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)

	fifo := filepath.Join(dir, "catalog.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	cmd := exec.Command(bin, "lint", "-catalog", fifo)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Opening the write end without blocking succeeds once choreo has the
	// pipe open for reading: it is then past its start-up, waiting for
	// the catalog. The write end stays open, so choreo keeps waiting.
	var w *os.File
	deadline := time.Now().Add(30 * time.Second)
	for w == nil {
		f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		switch {
		case err == nil:
			w = f
		case !errors.Is(err, syscall.ENXIO):
			require.NoError(t, err)
		case time.Now().After(deadline):
			t.Fatal("choreo lint did not open the catalog pipe within 30s")
		default:
			select {
			case err := <-exited:
				t.Fatalf("choreo lint exited early: %v", err)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	defer w.Close()

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	select {
	case err := <-exited:
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		status := exit.Sys().(syscall.WaitStatus)
		assert.True(t, status.Signaled(), "ended by the signal: %v", err)
		assert.Equal(t, syscall.SIGINT, status.Signal())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("choreo lint ignored the interrupt for 30s")
	}
}
