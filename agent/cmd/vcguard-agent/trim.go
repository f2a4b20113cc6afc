package main

import "time"

// When the agent trims its memory (package memtrim): start-up is over
// well within the first; after that, every 2 minutes. That is the period
// at which the Go runtime forces a collection when none ran, and a trace
// of the idle agent showed its read-only data growing by 1-1.8 MB at
// about those times (a collection reads the type data of what is on the
// heap), so a longer period lets the resident set creep back to where it
// was. A trim costs a collection of a heap of about 2 MB and the minor
// faults after it (BenchmarkTrim: 6-7 ms of a test binary).
const (
	trimFirst = 30 * time.Second
	trimEvery = 2 * time.Minute
)
