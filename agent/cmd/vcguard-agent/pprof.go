package main

// Built with -tags pprof, the agent serves the Go profiler on
// VCGUARD_PPROF_ADDR (make bench-agent); without the tag this imports
// nothing.
import _ "github.com/vcguard/vcguard/internal/pprofserve"
