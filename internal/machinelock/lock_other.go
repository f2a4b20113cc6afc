//go:build !unix

package machinelock

import (
	"os"
	"sync"
)

var mu sync.Mutex

func lock(*os.File) error   { mu.Lock(); return nil }
func unlock(*os.File) error { mu.Unlock(); return nil }
