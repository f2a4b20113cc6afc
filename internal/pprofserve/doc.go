// Package pprofserve serves the Go profiler for load measurements only
// (docs/load.md): a binary built with -tags pprof that imports it serves
// net/http/pprof on the loopback address in VCGUARD_PPROF_ADDR. Without the
// tag the package is empty, and release builds contain no profiler.
package pprofserve
