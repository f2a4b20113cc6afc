//go:build !pprof

package main

import "runtime"

// The Go runtime samples one allocation in every 512 KiB for heap
// profiles, whether or not anybody ever asks for one, and keeps the
// samples in a hash table of its own (runtime.MemStats.BuckHashSys, 1.4
// MB of address space, the touched part resident). The agent serves no
// profile outside a -tags pprof build, so it does not sample: set here,
// before main, as the runtime documentation asks ("as early as possible").
func init() { runtime.MemProfileRate = 0 }
