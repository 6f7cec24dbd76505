package main

import (
	"os"
	"syscall"
	"unsafe"
)

// isTerminal says whether f is a terminal a person can answer on (a TCGETS
// ioctl succeeds; /dev/null, pipes and files fail it).
func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}
