//go:build !linux && !darwin && !windows

package main

import (
	"errors"

	"github.com/vcguard/vcguard/agent/proctable"
)

func homeOf(proctable.Owner, int32) (string, error) { return "", errors.ErrUnsupported }

func accountName(int) string { return "" }
