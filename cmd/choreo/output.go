package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data through a temporary file in the
// same directory, so readers never see half a file. When path already holds
// data it is not rewritten.
//
// A path that names something other than a regular file is not replaced:
// a directory is an error, and a device or pipe (/dev/stdout, /dev/null, a
// named pipe) is written to directly. Renaming a temporary file over it
// would swap the device for a plain file, which for /dev/null run as root
// breaks the whole machine.
func writeFileAtomic(path string, data []byte) error {
	if info, err := os.Stat(path); err == nil {
		switch {
		case info.IsDir():
			return fmt.Errorf("write %s: it is a directory; -out names the file to write", path)
		case !info.Mode().IsRegular():
			return writeDevice(path, data)
		}
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeDevice writes data to an existing file that is not a regular file,
// without creating or truncating anything.
func writeDevice(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// sameFile reports whether the paths a and b name the same existing file.
// A generator whose -out is its own -catalog would overwrite the catalog
// with generated code.
func sameFile(a, b string) bool {
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(ia, ib) && ia.Mode().IsRegular()
}
