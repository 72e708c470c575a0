//go:build !linux

package main

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}

// terminalSignalsOurGroup is only implemented on Linux; elsewhere every
// SIGINT is forwarded to COMMAND.
func terminalSignalsOurGroup() bool { return false }
