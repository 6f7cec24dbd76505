//go:build !linux

package main

import "os"

// isTerminal says whether f is a character device, the best guess for a
// terminal without a platform ioctl.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
