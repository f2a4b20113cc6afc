package policies_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
)

const postureChecks = `posture:
  - kind: updates_off
    os: windows
    registry: 'HKLM\SOFTWARE\Policies\Demo\General'
    key: DisableAutoUpdate
    values: ['1', 'true']
    source: https://demo.example/admin/policies
  - kind: sso_not_enforced
    os: darwin
    file: /Library/Preferences/example.demo.plist
    format: plist
    key: ForceSSO
    absent: true
    values: ['0']
    source: https://demo.example/admin/macos
  - kind: autostart
    os: linux
    file: ~/.config/autostart/demo.desktop
    format: desktop
    source: https://demo.example/help/autostart
  - kind: telemetry_on
    os: linux
    file: ~/.config/demo/settings.json
    format: json
    key: telemetry.enabled
    values: ['true']
    source: https://demo.example/help/privacy
  - kind: autostart
    os: windows
    registry: 'HKCU\Software\Microsoft\Windows\CurrentVersion\Run'
    key: Demo
    present: true
    source: https://demo.example/help/autostart
  - kind: recording
    os: windows
    folder: '%APPDATA%\Demo\Recordings'
    source: https://demo.example/help/recording
`

func TestPostureChecksParse(t *testing.T) {
	t.Parallel()
	a, err := policies.ParseApp("catalog/demo.yaml", []byte(validMeeting+postureChecks))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Posture) != 6 || !a.Posture[4].Present {
		t.Fatalf("posture = %+v", a.Posture)
	}
	c := a.Posture[0]
	if c.Kind != policies.PostureUpdatesOff || c.OS != "windows" || c.Key != "DisableAutoUpdate" || c.Where() != `HKLM\SOFTWARE\Policies\Demo\General\DisableAutoUpdate` {
		t.Errorf("check 0 = %+v (%s)", c, c.Where())
	}
	if c := a.Posture[1]; !c.Absent || c.Where() != "/Library/Preferences/example.demo.plist (ForceSSO)" {
		t.Errorf("check 1 = %+v (%s)", c, c.Where())
	}
	if c := a.Posture[5]; c.Where() != `%APPDATA%\Demo\Recordings` {
		t.Errorf("check 4 = %s", c.Where())
	}
}

func TestPostureCheckErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, from, to, field, msg string }{
		{"unknown kind", "kind: updates_off", "kind: camera_on", "posture.0.kind", `"camera_on" is not one of`},
		{"outdated is not a catalog check", "kind: updates_off", "kind: outdated_package", "posture.0.kind", "is not one of"},
		{"unknown os", "os: linux\n    file: ~/.config/autostart", "os: bsd\n    file: ~/.config/autostart", "posture.2.os", `"bsd" is not one of linux, darwin, windows`},
		{"registry off windows", "os: windows\n    registry", "os: linux\n    registry", "posture.0.registry", "only for windows"},
		{"registry hive", `registry: 'HKLM\SOFTWARE`, `registry: 'HKU\SOFTWARE`, "posture.0.registry", `is not a key under HKLM\ or HKCU\`},
		{"two places", "format: desktop\n", "format: desktop\n    folder: /tmp/x\n", "posture.2.kind", "exactly one of file, registry, folder"},
		{"relative file", "file: ~/.config/autostart/demo.desktop", "file: .config/autostart/demo.desktop", "posture.2.file", "is not an absolute path"},
		{"file escapes", "file: ~/.config/autostart/demo.desktop", "file: ~/../etc/demo.desktop", "posture.2.file", "is not an absolute path"},
		{"unknown format", "format: desktop", "format: toml", "posture.2.format", `"toml" is not one of ini, json, plist, desktop, exists`},
		{"plist off darwin", "os: darwin", "os: linux", "posture.1.format", "darwin only"},
		{"key missing", "    key: telemetry.enabled\n", "", "posture.3.key", "is required"},
		{"values missing", "    values: ['true']\n    source: https://demo.example/help/privacy", "    source: https://demo.example/help/privacy", "posture.3.values", "are required (or absent: true, or present: true)"},
		{"present with values", "    values: ['true']\n    source: https://demo.example/help/privacy", "    values: ['true']\n    present: true\n    source: https://demo.example/help/privacy", "posture.3.present", "takes no values"},
		{"key on desktop", "format: desktop\n", "format: desktop\n    key: Hidden\n", "posture.2.key", "is not read"},
		{"folder not recording", "kind: recording", "kind: autostart", "posture.5.folder", "only for the recording check"},
		{"source not https", "source: https://demo.example/help/autostart", "source: http://demo.example/help/autostart", "posture.2.source", "is not an https URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := validMeeting + postureChecks
			if !strings.Contains(doc, tc.from) {
				t.Fatalf("the valid entry has no %q", tc.from)
			}
			_, err := policies.ParseApp("catalog/demo.yaml", []byte(strings.Replace(doc, tc.from, tc.to, 1)))
			var fe *policies.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) || fe.Line < 28 {
				t.Errorf("error %v; want field %q with %q at a line of the posture section", err, tc.field, tc.msg)
			}
		})
	}
	// Posture is for meeting tools only.
	_, err := policies.ParseApp("catalog/demo.yaml", []byte(validApp+postureChecks))
	var fe *policies.FieldError
	if !errors.As(err, &fe) || fe.Field != "posture" || !strings.Contains(fe.Msg, "only for meeting tools") {
		t.Errorf("posture on a browser: %v", err)
	}
}

func TestEvaluatePosture(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	strict, err := policies.ParsePolicy("a.yaml", []byte(`name: a
actions:
  posture: {updates_off: warn, recording: warn}
groups:
  lab:
    actions:
      posture: {recording: monitor, autostart: warn}
`), cat)
	if err != nil {
		t.Fatal(err)
	}
	loose, err := policies.ParsePolicy("b.yaml", []byte("name: b\nactions:\n  posture: {telemetry_on: warn}\n"), cat)
	if err != nil {
		t.Fatal(err)
	}
	readings := []policies.PostureReading{
		{Kind: policies.PostureRecording, Where: "~/Documents/Zoom", Detail: "2026-12-06 10.00.00 Meeting/video1.mp4"},
		{Kind: policies.PostureAutostart, Where: "~/.config/autostart/zoom.desktop"},
		{Kind: policies.PostureUpdatesOff, Where: `HKLM\SOFTWARE\Policies\Zoom\X`, Detail: "1"},
		{Kind: policies.PostureTelemetryOn, Where: "f", Detail: "true"},
		{Kind: "camera_on", Where: "?"},
	}
	got := func(group string, ps ...*policies.Policy) string {
		var parts []string
		for _, f := range policies.EvaluatePosture(ps, group, "zoom", policies.VerdictApproved, readings) {
			parts = append(parts, string(f.Kind)+"="+string(f.Action))
		}
		return strings.Join(parts, " ")
	}
	if g := got("", strict); g != "updates_off=warn telemetry_on=monitor autostart=monitor recording=warn" {
		t.Errorf("policy a: %s", g)
	}
	if g := got("lab", strict); g != "updates_off=warn telemetry_on=monitor autostart=warn recording=monitor" {
		t.Errorf("policy a, group lab: %s", g)
	}
	if g := got("", strict, loose); g != "updates_off=warn telemetry_on=warn autostart=monitor recording=warn" {
		t.Errorf("policies a and b: %s", g)
	}
	for _, v := range []policies.Verdict{policies.VerdictForbidden, policies.VerdictUnlisted, policies.VerdictUnverified, policies.VerdictOutdated} {
		if f := policies.EvaluatePosture([]*policies.Policy{strict}, "", "zoom", v, readings); len(f) != 0 {
			t.Errorf("a %s tool has posture findings %+v", v, f)
		}
	}
	for _, tc := range []struct{ doc, field, msg string }{
		{"name: x\nactions:\n  posture: {recording: block}\n", "actions.posture.recording", "use warn or monitor"},
		{"name: x\nactions:\n  posture: {camera: warn}\n", "actions.posture.camera", `"camera" is not one of updates_off`},
		{"name: x\ngroups:\n  lab:\n    actions:\n      posture: {autostart: loud}\n", "groups.lab.actions.posture.autostart", `"loud" is not one of monitor, warn, block`},
	} {
		_, err := policies.ParsePolicy("x.yaml", []byte(tc.doc), cat)
		var fe *policies.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
			t.Errorf("%q: error %v; want field %q with %q", tc.doc, err, tc.field, tc.msg)
		}
	}
}
