package execload

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The lines a load process writes (Serve) and its parent reads (Spawn):
//
//	execload started target=1000 path=/bin/true
//	execload progress target=1000 started=1000 failed=0 skipped=0 peak=2 elapsed_s=1.000 rate=1000.0
//	execload result target=1000 started=60012 failed=0 skipped=0 peak=3 elapsed_s=60.011 rate=1000.0 err=...
//
// err= is present only when a start failed, and runs to the end of the line.
const (
	lineStarted  = "execload started"
	lineProgress = "execload progress"
	lineResult   = "execload result"
)

// String formats r as the key=value fields of a progress or result line,
// without Err.
func (r Result) String() string {
	return fmt.Sprintf("target=%d started=%d failed=%d skipped=%d peak=%d elapsed_s=%.3f rate=%.1f",
		r.Target, r.Started, r.Failed, r.Skipped, r.Peak, r.Elapsed.Seconds(), r.Rate())
}

func resultLine(r Result) string {
	s := lineResult + " " + r.String()
	if r.Err != nil {
		s += " err=" + strings.ReplaceAll(r.Err.Error(), "\n", " ")
	}
	return s
}

// parseResult reads the fields of a progress or result line (after its
// prefix) back into a Result.
func parseResult(fields string) (Result, error) {
	var r Result
	if i := strings.Index(fields, " err="); i >= 0 {
		r.Err = errors.New(fields[i+len(" err="):])
		fields = fields[:i]
	}
	seen := 0
	for f := range strings.FieldsSeq(fields) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return Result{}, fmt.Errorf("exec load line: field %q is not key=value", f)
		}
		var err error
		var n int64
		switch k {
		case "target", "started", "failed", "skipped", "peak":
			n, err = strconv.ParseInt(v, 10, 64)
		case "elapsed_s":
			var s float64
			s, err = strconv.ParseFloat(v, 64)
			r.Elapsed = time.Duration(s * float64(time.Second))
		case "rate":
			_, err = strconv.ParseFloat(v, 64) // derived from started and elapsed_s
		default:
			continue // a field added later
		}
		if err != nil {
			return Result{}, fmt.Errorf("exec load line: field %s: %w", k, err)
		}
		switch k {
		case "target":
			r.Target = int(n)
		case "started":
			r.Started = n
		case "failed":
			r.Failed = n
		case "skipped":
			r.Skipped = n
		case "peak":
			r.Peak = n
		}
		seen++
	}
	if seen == 0 {
		return Result{}, fmt.Errorf("exec load line %q has no fields", fields)
	}
	return r, nil
}

// Serve runs a load in this process for a parent that reads out: it
// writes a started line once the load runs, a progress line every
// interval (none if 0) and for every line read from in, and the result
// line once the load has ended, when ctx is done or, if in is not nil, at
// in's end (the parent closed the pipe, or died). A goroutine reads in
// until its end; Serve is meant for a process's main (cmd/execload, a
// test binary).
func Serve(ctx context.Context, cfg Config, in io.Reader, out io.Writer, interval time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the reader of in, if it waits to hand over a line
	l, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer l.Stop()
	eof := make(chan struct{})
	asked := make(chan struct{})
	if in != nil {
		go func() {
			defer close(eof)
			sc := bufio.NewScanner(in)
			for sc.Scan() {
				select {
				case asked <- struct{}{}:
				case <-ctx.Done():
				}
			}
		}()
	}
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	if _, err := fmt.Fprintf(out, "%s target=%d path=%s\n", lineStarted, l.cfg.Rate, l.cfg.Path); err != nil {
		return fmt.Errorf("exec load: %w", err)
	}
wait:
	for {
		select {
		case <-tick:
		case <-asked:
		case <-ctx.Done():
			break wait
		case <-eof:
			break wait
		}
		if _, err := fmt.Fprintf(out, "%s %s\n", lineProgress, l.Snapshot()); err != nil {
			return fmt.Errorf("exec load: %w", err)
		}
	}
	if _, err := fmt.Fprintln(out, resultLine(l.Stop())); err != nil {
		return fmt.Errorf("exec load: %w", err)
	}
	return nil
}

// Process is a load running in a child process; Spawn starts one.
type Process struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	started  chan struct{} // closed at the started line
	done     chan struct{} // closed at the end of the child's output
	progress chan string   // the fields of progress lines; the latest 16

	mu     sync.Mutex
	result string   // the fields of the result line
	tail   []string // the last lines of other output, for errors
}

// Spawn starts cmd, a program that serves a load with Serve reading its
// standard input (a test binary re-executed, say), and returns once the
// load runs. It sets cmd's standard input and output; ctx bounds the wait
// for the load to start.
func Spawn(ctx context.Context, cmd *exec.Cmd) (*Process, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("exec load process: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stdin.Close()
		return nil, fmt.Errorf("exec load process: %w", err)
	}
	p := &Process{cmd: cmd, stdin: stdin, started: make(chan struct{}), done: make(chan struct{}), progress: make(chan string, 16)}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec load process: %w", err)
	}
	go p.read(stdout)
	select {
	case <-p.started:
		return p, nil
	case <-p.done:
		_, err := p.Stop()
		return nil, fmt.Errorf("exec load process %s ended before its load started: %w", cmd.Path, err)
	case <-ctx.Done():
		cmd.Process.Kill()
		p.Stop()
		return nil, fmt.Errorf("exec load process %s did not start its load: %w", cmd.Path, ctx.Err())
	}
}

func (p *Process) read(stdout io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(stdout)
	once := sync.OnceFunc(func() { close(p.started) })
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, lineStarted):
			once()
		case strings.HasPrefix(line, lineProgress+" "):
			select {
			case p.progress <- line[len(lineProgress)+1:]:
			default: // nobody asked
			}
		case strings.HasPrefix(line, lineResult+" "):
			p.mu.Lock()
			p.result = line[len(lineResult)+1:]
			p.mu.Unlock()
		default:
			p.mu.Lock()
			p.tail = append(p.tail, line)
			if len(p.tail) > 20 {
				p.tail = p.tail[1:]
			}
			p.mu.Unlock()
		}
	}
	io.Copy(io.Discard, stdout)
}

// Snapshot asks the load what it did so far and returns its answer, for
// the rate over a window: (b.Started-a.Started)/(b.Elapsed-a.Elapsed).
// It is meant for a child that serves with no progress interval.
func (p *Process) Snapshot(ctx context.Context) (Result, error) {
	for len(p.progress) > 0 {
		<-p.progress
	}
	if _, err := io.WriteString(p.stdin, "\n"); err != nil {
		return Result{}, fmt.Errorf("exec load process %s: %w", p.cmd.Path, err)
	}
	select {
	case line := <-p.progress:
		return parseResult(line)
	case <-p.done:
		return Result{}, fmt.Errorf("exec load process %s ended: %w", p.cmd.Path, errNoResult)
	case <-ctx.Done():
		return Result{}, fmt.Errorf("exec load process %s did not answer: %w", p.cmd.Path, ctx.Err())
	}
}

// Stop ends the load (it closes the child's standard input), waits for
// the child, and returns what the load did, as the child reported it.
// Call it once.
func (p *Process) Stop() (Result, error) {
	p.stdin.Close()
	<-p.done
	werr := p.cmd.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.result == "" {
		if werr == nil {
			werr = errNoResult
		}
		return Result{}, fmt.Errorf("exec load process %s: %w; its last output: %q", p.cmd.Path, werr, p.tail)
	}
	r, err := parseResult(p.result)
	if err != nil {
		return Result{}, err
	}
	if werr != nil {
		return r, fmt.Errorf("exec load process %s reported its result, then: %w", p.cmd.Path, werr)
	}
	return r, nil
}
