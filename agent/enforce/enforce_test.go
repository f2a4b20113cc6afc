package enforce

import (
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcguard/vcguard/agent/procwatch"
)

// noSuchProcess is a target no process can be: its PID is beyond any
// pid_max, so a termination that runs by mistake touches nothing.
func noSuchProcess(i int32) Target {
	return Target{Key: procwatch.Key{PID: math.MaxInt32 - i, Started: 1}, AppID: "test"}
}

// These tests run in a synctest bubble: time is fake, and the test fails
// if a goroutine of the enforcer is left behind.

func TestCloseCancelsPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Grace periods that never end: only Close can stop the
		// goroutines, and synctest.Test fails if they are left blocked.
		e := New(Config{After: func(time.Duration) <-chan time.Time { return nil }})
		var called atomic.Int32
		for i := range 10 {
			e.Schedule(noSuchProcess(int32(i)), time.Hour, func(Result) { called.Add(1) })
		}
		e.Close()
		e.Close() // idempotent
		e.Schedule(noSuchProcess(20), time.Second, func(Result) { called.Add(1) })
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if n := called.Load(); n != 0 {
			t.Errorf("%d callbacks after Close, want none", n)
		}
	})
}

func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(Config{})
		defer e.Close()
		var called atomic.Int32
		target := noSuchProcess(0)
		e.Schedule(target, time.Minute, func(Result) { called.Add(1) })
		time.Sleep(59 * time.Second)
		e.Cancel(target.Key)
		e.Cancel(target.Key) // a second Cancel is harmless
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := called.Load(); n != 0 {
			t.Errorf("%d callbacks after Cancel, want none", n)
		}
	})
}

func TestScheduleKeepsFirstDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		e := New(Config{Now: func() time.Time { return now }})
		defer e.Close()
		target := noSuchProcess(0)
		results := make(chan Result, 2)
		e.Schedule(target, time.Hour, func(r Result) { results <- r })
		e.Schedule(target, time.Second, func(Result) { t.Error("the second Schedule's callback was called") })
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(results) != 0 {
			t.Fatal("the block ran at the second Schedule's deadline")
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		var r Result
		select {
		case r = <-results:
		default:
			t.Fatal("the block did not run at the first deadline")
		}
		if !errors.Is(r.Err, ErrExited) || len(r.Killed) != 0 || r.Target != target || !r.At.Equal(now) {
			t.Errorf("result = %+v, want ErrExited for %+v at %v, nothing killed", r, target, now)
		}

		// Once reported, the key may be scheduled again.
		e.Schedule(target, time.Second, func(r Result) { results <- r })
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if len(results) != 1 {
			t.Error("a key scheduled again after its result did not run")
		}
	})
}
