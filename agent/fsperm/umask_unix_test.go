//go:build unix

package fsperm

import "syscall"

func umask(m int) int { return syscall.Umask(m) }
