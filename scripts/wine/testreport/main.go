// Command testreport reads `go tool test2json` events of one test binary's
// run (the Windows lane runs each under Wine) on standard input and prints
// one line per skipped test with its reason ("pkg.TestName: reason"), and
// the output of every failed test. It exits 1 when a test failed or the
// binary ended without a verdict.
//
// Written for the lane: counting skips from plain -v output is wrong once
// tests run in parallel, as the reason is not next to the SKIP line.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// logLine is a t.Log/t.Skip line: "    file_test.go:12: text".
var logLine = regexp.MustCompile(`^\s+[\w.-]+\.go:\d+: (.*)$`)

func main() {
	failed, err := report(os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// report writes skips to skips and failures to fails; it reports whether
// the run failed.
func report(in io.Reader, skips, fails io.Writer) (bool, error) {
	output := map[string][]string{} // test -> its output lines
	var order []string
	failed, passed := false, false
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not an event: Wine or the runtime wrote to the terminal.
			fmt.Fprintln(fails, sc.Text())
			continue
		}
		switch e.Action {
		case "output":
			if _, ok := output[e.Test]; !ok {
				order = append(order, e.Test)
			}
			output[e.Test] = append(output[e.Test], strings.TrimRight(e.Output, "\n"))
		case "skip":
			if e.Test != "" {
				fmt.Fprintf(skips, "%s.%s: %s\n", e.Package, e.Test, reason(output[e.Test]))
			}
		case "fail":
			failed = true
			if e.Test != "" {
				fmt.Fprintf(fails, "--- FAIL: %s.%s\n", e.Package, e.Test)
				for _, l := range output[e.Test] {
					fmt.Fprintln(fails, l)
				}
			} else if len(output[""]) > 0 {
				fmt.Fprintln(fails, strings.Join(output[""], "\n"))
			}
		case "pass":
			if e.Test == "" {
				passed = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	if !failed && !passed {
		fmt.Fprintln(fails, "the test binary ended without a verdict; its last output:")
		for _, t := range order {
			for _, l := range output[t] {
				fmt.Fprintln(fails, l)
			}
		}
		return true, nil
	}
	return failed, nil
}

// reason is the last logged line of a skipped test (t.Skip's message).
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if m := logLine.FindStringSubmatch(lines[i]); m != nil {
			return m[1]
		}
	}
	return "(no reason given)"
}
