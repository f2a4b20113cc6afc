// Command execload starts short processes at a steady rate until it is
// interrupted (SIGINT, SIGTERM) or -duration has passed, printing its
// achieved rate every -report and at the end (the line format is in
// package execload). It is the background exec load of
// scripts/bench-agent.sh (EXECS_PER_SEC); benchmark support only.
//
//	execload -rate 100 -report 1s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/vcguard/vcguard/internal/execload"
)

// config is everything a run is started with.
type config struct {
	Load     execload.Config
	Report   time.Duration // between progress lines; 0: none
	Duration time.Duration // 0: until interrupted
	// ExitProgram: start the package's exit program (written to a
	// temporary directory) instead of Load.Path.
	ExitProgram bool
}

// Validate reports what is wrong with c.
func (c config) Validate() error {
	if c.Report < 0 || c.Duration < 0 {
		return errors.New("-report and -duration must not be negative")
	}
	return c.Load.Validate()
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("execload", flag.ContinueOnError)
	fs.IntVar(&c.Load.Rate, "rate", 100, "processes started per second")
	fs.StringVar(&c.Load.Path, "exe", execload.DefaultPath, "the program started (absolute path); it should exit at once")
	fs.BoolVar(&c.ExitProgram, "exit-program", false, "start a generated static executable that only exits (Linux amd64 and arm64) instead of -exe: an exec without the dynamic loader's work")
	fs.IntVar(&c.Load.MaxInFlight, "in-flight", execload.DefaultMaxInFlight, "at most this many processes started and not yet reaped")
	fs.DurationVar(&c.Report, "report", time.Second, "print the achieved rate this often (0: only at the end)")
	fs.DurationVar(&c.Duration, "duration", 0, "stop after this long (0: at SIGINT or SIGTERM)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if c.ExitProgram {
		exeSet := false
		fs.Visit(func(f *flag.Flag) { exeSet = exeSet || f.Name == "exe" })
		if exeSet {
			return config{}, errors.New("-exe and -exit-program both name the program: give one")
		}
		c.Load.Path = "" // set by run, once the program is written
		return c, c.validateExceptPath()
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return c, c.Validate()
}

// validateExceptPath is Validate for a config whose program is not
// written yet.
func (c config) validateExceptPath() error {
	c.Load.Path = execload.DefaultPath
	return c.Validate()
}

func run(ctx context.Context, c config) error {
	if c.ExitProgram {
		if runtime.GOOS != "linux" {
			return fmt.Errorf("-exit-program: the exit program is a Linux executable, this is %s", runtime.GOOS)
		}
		dir, err := os.MkdirTemp("", "execload-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if c.Load.Path, err = execload.WriteExitProgram(dir, runtime.GOARCH); err != nil {
			return err
		}
	}
	if c.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}
	return execload.Serve(ctx, c.Load, nil, os.Stdout, c.Report)
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "execload:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "execload:", err)
		stop()
		os.Exit(1)
	}
}
