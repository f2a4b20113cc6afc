package main

// Built with -tags pprof, the server serves the Go profiler on
// VCGUARD_PPROF_ADDR (docs/load.md); without the tag this imports nothing.
import _ "github.com/vcguard/vcguard/internal/pprofserve"
