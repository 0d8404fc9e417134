//go:build linux || darwin

package main

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOutToAPipe writes generated code into a named pipe, as -out
// /dev/stdout or /dev/null would be: the pipe is written to, not replaced
// by a regular file (which for /dev/null run as root would break the
// machine).
func TestOutToAPipe(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "out.go")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	read := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			read <- nil
			return
		}
		defer f.Close()
		data, _ := io.ReadAll(f)
		read <- data
	}()
	code, _, stderr := choreo(t, "gen", "go", "-catalog", signupCatalog, "-out", fifo)
	require.Equal(t, exitOK, code, stderr)
	want, err := os.ReadFile("../../examples/signup/topics/topics.go")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(<-read))
	info, err := os.Lstat(fifo)
	require.NoError(t, err)
	assert.Equal(t, os.ModeNamedPipe, info.Mode().Type(), "still a pipe")
}
