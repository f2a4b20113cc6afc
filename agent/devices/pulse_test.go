package devices

import (
	"strings"
	"testing"
)

func TestParsePactlSourceOutputs(t *testing.T) {
	t.Parallel()
	// Recorded with pactl 16.1 against pipewire-pulse 0.3.65: pw-record
	// on test-mic and on test-sink's monitor (native PipeWire clients,
	// which carry no process properties through pulse), and parec on
	// test-sink.monitor.
	sources, err := ParsePactlSources(readTestdata(t, "pactl-sources.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (PulseSource{Name: "test-sink.monitor", Monitor: true}); sources[43] != want {
		t.Errorf("source 43 = %+v, want %+v", sources[43], want)
	}
	if want := (PulseSource{Name: "test-mic"}); sources[37] != want {
		t.Errorf("source 37 = %+v, want %+v", sources[37], want)
	}
	got, err := ParsePactlSourceOutputs(readTestdata(t, "pactl-source-outputs.json"), 1000, sources)
	if err != nil {
		t.Fatal(err)
	}
	want := []Use{
		{Kind: Microphone, Device: "test-sink.monitor", Process: "pw-record", UID: 1000, Session: "1000", Source: SourcePulseAudio, Monitor: true},
		{Kind: Microphone, Device: "test-mic", Process: "pw-record", UID: 1000, Session: "1000", Source: SourcePulseAudio},
		{Kind: Microphone, Device: "test-sink.monitor", PID: 7247, Process: "pacat", UID: 1000, Session: "1000", Source: SourcePulseAudio, Monitor: true},
	}
	if !sameUses(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestParsePactlSourceOutputsEdges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		sources  map[int]PulseSource
		want     []Use
		wantErr  bool
	}{
		{"not json", `[`, nil, nil, true},
		{"empty", `[]`, nil, nil, false},
		{"corked", `[{"index": 1, "source": 2, "corked": true, "properties": {"application.process.id": "9"}}]`, nil, nil, false},
		{"unknown source", `[{"index": 1, "source": 2, "corked": false, "properties": {"application.process.id": "9", "application.name": "rec"}}]`, nil,
			[]Use{{Kind: Microphone, Device: "source #2", PID: 9, Process: "rec", UID: 5, Session: "5", Source: SourcePulseAudio}}, false},
		{"monitor by name", `[{"index": 1, "source": 2, "corked": false, "properties": {}}]`, map[int]PulseSource{2: {Name: "out.monitor"}},
			[]Use{{Kind: Microphone, Device: "out.monitor", UID: 5, Session: "5", Source: SourcePulseAudio, Monitor: true}}, false},
		{"bad pid", `[{"index": 1, "corked": false, "properties": {"application.process.id": "-4", "target.object": "mic"}}]`, nil,
			[]Use{{Kind: Microphone, Device: "mic", UID: 5, Session: "5", Source: SourcePulseAudio}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePactlSourceOutputs([]byte(tc.in), 5, tc.sources)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !sameUses(got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func FuzzParsePactlSourceOutputs(f *testing.F) {
	f.Add(readTestdata(f, "pactl-source-outputs.json"), readTestdata(f, "pactl-sources.json"))
	f.Add([]byte(`[{"index":1,"source":2,"corked":false,"properties":{"application.process.id":"9"}}]`), []byte(`[{"index":2,"name":"x.monitor"}]`))
	f.Fuzz(func(t *testing.T, outputs, sources []byte) {
		srcs, _ := ParsePactlSources(sources)
		uses, err := ParsePactlSourceOutputs(outputs, 1000, srcs)
		if err != nil {
			return
		}
		for _, u := range uses {
			if u.Source != SourcePulseAudio || u.Kind != Microphone || u.UID != 1000 || u.PID < 0 || u.ScreenShare {
				t.Fatalf("bad use %+v", u)
			}
		}
	})
}

func TestFollowPactlSubscribe(t *testing.T) {
	t.Parallel()
	// As pactl 16.1 prints them; a pactl run shows as a client.
	out := `Event 'new' on client #93
Event 'change' on client #93
Event 'remove' on client #93
Event 'new' on source-output #95
Event 'change' on source #43
Event 'change' on sink #41
Event 'remove' on source-output #95
garbage
`
	n := 0
	if err := followPactlSubscribe(strings.NewReader(out), func() { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d signals, want 3 (two on the source output, one on the source)", n)
	}
}
