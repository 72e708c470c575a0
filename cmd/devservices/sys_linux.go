package main

import (
	"os"
	"syscall"
	"unsafe"
)

// setParentDeathSignal makes the kernel stop a throwaway server if
// devservices itself dies without cleaning up (say, from SIGKILL). SIGQUIT
// is PostgreSQL's immediate shutdown and makes Redis exit too.
func setParentDeathSignal(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGQUIT
}

// terminalSignalsOurGroup tells whether devservices runs in the foreground
// process group of its controlling terminal. If so, a Ctrl-C reached
// COMMAND (which shares the group) directly.
func terminalSignalsOurGroup() bool {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	defer tty.Close()
	var pgrp int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, tty.Fd(), uintptr(syscall.TIOCGPGRP), uintptr(unsafe.Pointer(&pgrp)))
	return errno == 0 && int(pgrp) == syscall.Getpgrp()
}
