package agent

// The posture of an approved app: what its own settings say (updates off,
// start at login, telemetry, single sign-on) and what the package manager
// offers, read when it starts; and the local recordings that appear in its
// recording folder while it holds the camera or microphone. Readings are
// judged by policies.EvaluatePosture, recorded as app_posture events when
// the findings change, and told to the employee when a policy says warn.

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/state"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// PostureRead is what a PostureReader found of one app for one user.
type PostureRead struct {
	Readings []policies.PostureReading
	// Errors are the checks that could not be read: the place and why,
	// never the content.
	Errors []string
	// Session is the user session whose settings were read (uid, SID).
	Session string
}

// PostureReader reads an app's posture for the owner of a process
// (cmd/vcguard-agent builds it over agent/posture).
type PostureReader interface {
	// ReadPosture runs the app's catalog checks for this OS, and the
	// package manager's offer for a packaged app, for the owner of pid.
	ReadPosture(ctx context.Context, app *policies.App, pid int32) (PostureRead, error)
	// WatchRecordings reports each file that appears in the app's
	// recording folders of the owner of pid, until ctx ends; it returns
	// at once when the app has none on this OS.
	WatchRecordings(ctx context.Context, app *policies.App, pid int32, found func(policies.PostureReading)) error
}

// postureState is what was read and recorded for one instance.
type postureState struct {
	read     PostureRead
	findings []policies.PostureFinding
	// watching stops the recording watch; nil when none runs.
	watching context.CancelFunc
}

// recordingSeen carries a recording a watch found into the Run loop.
type recordingSeen struct {
	key     procwatch.Key
	reading policies.PostureReading
}

// readPostures reads and judges the posture of instances that just
// started and that the policies let run.
func (a *Agent) readPostures(ctx context.Context, now time.Time, started []state.Instance) {
	if a.cfg.Posture == nil {
		return
	}
	for _, inst := range started {
		if inst.App.Category != policies.CategoryMeeting || !postureJudged(a.judged[inst.Key()].finding.Verdict) {
			continue
		}
		r, err := a.cfg.Posture.ReadPosture(ctx, inst.App, inst.Process.PID)
		if err != nil {
			a.cfg.Logger.Warn("app posture not read", "app", inst.App.ID, "pid", inst.Process.PID, "err", err)
			r.Errors = append(r.Errors, err.Error())
		}
		a.judgePosture(now, inst, a.postures[inst.Key()], r, true)
	}
}

// rereadPostures reads the settings of the running apps read before
// again: a setting changed while an app runs (updates switched off, start
// at login switched on) is recorded and told like one found at its start.
func (a *Agent) rereadPostures(ctx context.Context, now time.Time) {
	for _, k := range slices.SortedFunc(maps.Keys(a.postures), procwatch.CompareKeys) {
		inst, ok := a.apps.Instance(k)
		if !ok {
			a.forgetPosture(k)
			continue
		}
		if !postureJudged(a.judged[k].finding.Verdict) {
			continue
		}
		r, err := a.cfg.Posture.ReadPosture(ctx, inst.App, inst.Process.PID)
		if err != nil {
			a.cfg.Logger.Warn("app posture not read", "app", inst.App.ID, "pid", inst.Process.PID, "err", err)
			r.Errors = append(r.Errors, err.Error())
		}
		a.judgePosture(now, inst, a.postures[k], r, false)
	}
}

// postureJudged reports whether a verdict leaves a posture to judge: only
// a tool the policy lets run has one.
func postureJudged(v policies.Verdict) bool {
	return v == policies.VerdictApproved || v == policies.VerdictRestricted
}

// rejudgePostures judges the postures read of running instances again
// under the policies in force.
func (a *Agent) rejudgePostures(now time.Time) {
	for _, k := range slices.SortedFunc(maps.Keys(a.postures), procwatch.CompareKeys) {
		inst, ok := a.apps.Instance(k)
		if !ok {
			a.forgetPosture(k)
			continue
		}
		st := a.postures[k]
		a.judgePosture(now, inst, st, st.read, false)
	}
}

// judgePosture judges what was read of one instance (read; st is what
// was read and recorded before), records it when the findings or the
// checks that could not be read changed (the first read: when there is
// anything to say) and tells the employee of new warnings.
func (a *Agent) judgePosture(now time.Time, inst state.Instance, st postureState, read PostureRead, first bool) {
	k := inst.Key()
	prev, prevErrs := st.findings, st.read.Errors
	st.read = read
	st.findings = policies.EvaluatePosture(a.policies(), a.cfg.Group, inst.App.ID, a.judged[k].finding.Verdict, read.Readings)
	a.postures[k] = st
	if !first && slices.Equal(prev, st.findings) && slices.Equal(prevErrs, read.Errors) {
		return
	}
	if first && len(st.findings) == 0 && len(st.read.Errors) == 0 {
		return // nothing found: nothing to report
	}
	a.cfg.Logger.Info("app posture", "app", inst.App.ID, "pid", inst.Process.PID, "findings", len(st.findings), "errors", len(st.read.Errors))
	a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_AppPosture{AppPosture: postureProto(inst, st.read.Session, st.findings, st.read.Errors)}})
	a.actOnPosture(inst, prev, st.findings)
}

func postureProto(inst state.Instance, session string, findings []policies.PostureFinding, errs []string) *vcguardv1.AppPosture {
	ev := &vcguardv1.AppPosture{AppId: inst.App.ID, Pid: inst.Process.PID, Session: session, Errors: errs}
	for _, f := range findings {
		ev.Findings = append(ev.Findings, &vcguardv1.PostureFinding{Kind: f.Kind.Proto(), Where: f.Where, Detail: f.Detail, PolicyAction: f.Action.Proto()})
	}
	return ev
}

// postureNoticeKey identifies the notice about one kind of posture
// finding of one instance: a second recording replaces the first notice.
func postureNoticeKey(k procwatch.Key, kind policies.PostureKind) string {
	return fmt.Sprintf("posture/%s/%s", noticeKey(k), kind)
}

// actOnPosture tells the employee about findings a policy warns of that
// are new, and clears the notices of those gone.
func (a *Agent) actOnPosture(inst state.Instance, prev, cur []policies.PostureFinding) {
	if a.cfg.Notifier == nil {
		return
	}
	k := inst.Key()
	for _, f := range cur {
		if f.Action != policies.ActionWarn || slices.Contains(prev, f) {
			continue
		}
		a.cfg.Notifier.Notify(notify.Notice{
			Key: postureNoticeKey(k, f.Kind), AppID: inst.App.ID, AppName: inst.App.Name,
			Verdict: a.judged[k].finding.Verdict, Action: f.Action, PID: int(inst.Process.PID),
			PostureFinding: f.Kind, PostureDetail: noticeDetail(f.Detail),
		})
	}
	for _, p := range prev {
		if !slices.ContainsFunc(cur, func(f policies.PostureFinding) bool { return f.Kind == p.Kind }) {
			a.cfg.Notifier.Clear(postureNoticeKey(k, p.Kind))
		}
	}
}

// noticeDetail is what a notice may say of a reading: one line, no path
// (the IPC refuses both), at most 128 bytes.
func noticeDetail(d string) string {
	if strings.ContainsAny(d, "/\\\n\r") || len(d) > 128 {
		return ""
	}
	return d
}

// recordingType reduces a recording's file name to its type (".mp4"): the
// name often names the meeting or a person, which the server has no need
// to know.
func recordingType(name string) string {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/")))
	if len(ext) < 2 || len(ext) > 10 || strings.ContainsFunc(ext[1:], func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}) {
		return "file"
	}
	return ext
}

// watchRecordings starts watching the recording folders of a meeting app
// that holds the camera or microphone, once per instance.
func (a *Agent) watchRecordings(ctx context.Context, inst state.Instance) {
	if a.cfg.Posture == nil || !postureJudged(a.judged[inst.Key()].finding.Verdict) || !hasRecordingCheck(inst.App, a.cfg.GOOS) {
		return
	}
	k := inst.Key()
	st := a.postures[k]
	if st.watching != nil {
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	st.watching = cancel
	a.postures[k] = st
	app, pid, out := inst.App, inst.Process.PID, a.recordingCh
	go func() {
		err := a.cfg.Posture.WatchRecordings(wctx, app, pid, func(r policies.PostureReading) {
			select {
			case out <- recordingSeen{key: k, reading: r}:
			case <-wctx.Done():
			}
		})
		if err != nil && wctx.Err() == nil {
			a.cfg.Logger.Warn("recording folder not watched", "app", app.ID, "pid", pid, "err", err)
		}
	}()
}

func hasRecordingCheck(app *policies.App, goos string) bool {
	return slices.ContainsFunc(app.Posture, func(c policies.PostureCheck) bool {
		return c.Kind == policies.PostureRecording && c.OS == goos
	})
}

// stopRecordingWatch stops the watch of an instance that no longer holds
// the camera or microphone.
func (a *Agent) stopRecordingWatch(k procwatch.Key) {
	st, ok := a.postures[k]
	if !ok || st.watching == nil {
		return
	}
	st.watching()
	st.watching = nil
	a.postures[k] = st
}

// recorded records a local recording a watch found, judged under the
// policies in force: an event each time, a notice under warn.
func (a *Agent) recorded(now time.Time, rs recordingSeen) error {
	inst, ok := a.apps.Instance(rs.key)
	if !ok {
		return nil
	}
	r := rs.reading
	r.Kind, r.Detail = policies.PostureRecording, recordingType(r.Detail)
	findings := policies.EvaluatePosture(a.policies(), a.cfg.Group, inst.App.ID, a.judged[rs.key].finding.Verdict, []policies.PostureReading{r})
	if len(findings) == 0 {
		return nil
	}
	a.cfg.Logger.Info("local recording", "app", inst.App.ID, "pid", inst.Process.PID, "type", r.Detail)
	a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_AppPosture{AppPosture: postureProto(inst, a.postures[rs.key].read.Session, findings, nil)}})
	a.actOnPosture(inst, nil, findings)
	return a.flush()
}

// forgetPosture drops what was read of an instance that stopped.
func (a *Agent) forgetPosture(k procwatch.Key) {
	st, ok := a.postures[k]
	if !ok {
		return
	}
	if st.watching != nil {
		st.watching()
	}
	if a.cfg.Notifier != nil {
		for _, kind := range policies.PostureKinds {
			a.cfg.Notifier.Clear(postureNoticeKey(k, kind))
		}
	}
	delete(a.postures, k)
}
