package devices

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func logTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02 15:04:05.999999-0700", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestParseUnifiedLogCamera(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/unifiedlog-camera.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseUnifiedLogCamera(f)
	if err != nil {
		t.Fatal(err)
	}
	zoom := "/Applications/zoom.us.app/Contents/MacOS/zoom.us"
	want := []CameraClient{
		{Time: logTime(t, "2024-05-02 10:15:01.123456+0200"), PID: 90429, Device: "3F4ADF48-8358-4A2E-896B-96848FDB6DD5", Format: "cmio-device-control-pid"},
		{Time: logTime(t, "2024-05-02 10:15:02.000001+0200"), PID: 5678, Process: zoom, Format: "avcapturesession"},
		{Time: logTime(t, "2024-05-02 10:15:03+0200"), PID: 2345, Format: "appleh13camerad"},
		{Time: logTime(t, "2024-05-02 10:15:03.5+0200"), PID: 2346, Format: "appleh13camerad"},
		{Time: logTime(t, "2024-05-02 10:15:04+0200"), PID: 2346, Stop: true, Format: "appleh13camerad"},
		{Time: logTime(t, "2024-05-02 10:15:05+0200"), PID: 3456, Format: "vdcassistant"},
		{Time: logTime(t, "2024-05-02 10:15:06+0200"), PID: 3456, Stop: true, Format: "vdcassistant"},
		{Time: logTime(t, "2024-05-02 10:15:07+0200"), PID: 5678, Process: zoom, Stop: true, Format: "avcapturesession"},
	}
	var cc cameraClients
	for _, c := range got {
		cc.add(c)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d clients, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("client %d: time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time, want[i].Time = time.Time{}, time.Time{}
		if got[i] != want[i] {
			t.Errorf("client %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}

	// Folded in order: 90429 and 2345 remain (their stops were never
	// logged); 2346, 3456 and 5678 stopped.
	var pids []int32
	for _, c := range cc.active() {
		pids = append(pids, c.PID)
	}
	if !reflect.DeepEqual(pids, []int32{90429, 2345}) {
		t.Errorf("active clients %v, want [90429 2345]", pids)
	}
}

func TestParseUnifiedLogLongLines(t *testing.T) {
	t.Parallel()
	good := `{"eventMessage":"Client Connect for PID 12","eventType":"logEvent","timestamp":"2024-05-02 10:15:05.000000+0200"}`
	long := `{"eventMessage":"` + strings.Repeat("x", maxLogLine+10) + `"}`
	// A line longer than the reader's buffer but within maxLogLine.
	medium := `{"eventMessage":"Client Connect for PID 13","pad":"` + strings.Repeat("y", 200<<10) + `","eventType":"logEvent"}`
	in := good + "\n" + long + "\n" + medium + "\n" + good // no final newline
	got, err := ParseUnifiedLogCamera(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int32
	for _, c := range got {
		pids = append(pids, c.PID)
	}
	if !reflect.DeepEqual(pids, []int32{12, 13, 12}) {
		t.Errorf("PIDs %v, want [12 13 12]", pids)
	}
}

func TestCameraClientsForget(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)
	var cc cameraClients
	cc.add(CameraClient{Time: t0, PID: 1, Device: "A"})
	cc.add(CameraClient{Time: t0.Add(time.Minute), PID: 2})
	// A later start without device or path keeps what was known.
	cc.add(CameraClient{Time: t0.Add(2 * time.Minute), PID: 1, Process: "/bin/a"})
	cc.add(CameraClient{Time: t0.Add(3 * time.Minute), PID: 1})
	if got := cc.active(); len(got) != 2 || got[0].PID != 2 || got[1].Device != "A" || got[1].Process != "/bin/a" {
		t.Fatalf("active = %+v", got)
	}
	cc.forget(t0.Add(150 * time.Second))
	if got := cc.active(); len(got) != 1 || got[0].PID != 1 {
		t.Fatalf("after forget: %+v", got)
	}
	cc.add(CameraClient{PID: 1, Stop: true})
	if got := cc.active(); len(got) != 0 {
		t.Fatalf("after stop: %+v", got)
	}
}

func TestCameraUses(t *testing.T) {
	t.Parallel()
	cams := []cameraDevice{
		{ID: 40, UID: "0x8020000005ac8514", Running: false},
		{ID: 41, UID: "3F4ADF48-8358-4A2E-896B-96848FDB6DD5", Running: true},
		{ID: 42, Name: "FaceTime HD Camera", Running: true},
	}
	alive := map[int32]struct {
		path string
		uid  int
	}{
		90429: {"/Applications/zoom.us.app/Contents/MacOS/zoom.us", 501},
		5678:  {"", 502},
	}
	proc := func(pid int32) (string, int, bool) {
		p, ok := alive[pid]
		return p.path, p.uid, ok
	}
	for _, tc := range []struct {
		name    string
		cams    []cameraDevice
		clients []CameraClient
		want    []Use
	}{
		{name: "no camera running", cams: cams[:1], clients: []CameraClient{{PID: 90429}}},
		{
			name: "no client: unknown process on each running camera",
			cams: cams,
			want: []Use{
				{Kind: Camera, Device: "3F4ADF48-8358-4A2E-896B-96848FDB6DD5", Process: unknownProcess, UID: -1, Source: SourceCoreMediaIO},
				{Kind: Camera, Device: "FaceTime HD Camera", Process: unknownProcess, UID: -1, Source: SourceCoreMediaIO},
			},
		},
		{
			name: "client on its named device; exited client dropped; path from the entry kept",
			cams: cams,
			clients: []CameraClient{
				{PID: 90429, Device: "3f4adf48-8358-4a2e-896b-96848fdb6dd5"},
				{PID: 2345},
				{PID: 5678, Process: "/Applications/Photo Booth.app/Contents/MacOS/Photo Booth"},
			},
			want: []Use{
				{Kind: Camera, Device: "3F4ADF48-8358-4A2E-896B-96848FDB6DD5", PID: 90429, Process: "/Applications/zoom.us.app/Contents/MacOS/zoom.us", UID: 501, Session: "501", Source: SourceCoreMediaIO},
				{Kind: Camera, Device: "3F4ADF48-8358-4A2E-896B-96848FDB6DD5", PID: 5678, Process: "/Applications/Photo Booth.app/Contents/MacOS/Photo Booth", UID: 502, Session: "502", Source: SourceCoreMediaIO},
				{Kind: Camera, Device: "FaceTime HD Camera", Process: unknownProcess, UID: -1, Source: SourceCoreMediaIO},
			},
		},
		{
			name:    "no resolver: client as logged",
			cams:    cams[2:],
			clients: []CameraClient{{PID: 77}, {PID: 0}},
			want: []Use{
				{Kind: Camera, Device: "FaceTime HD Camera", PID: 77, Process: unknownProcess, UID: -1, Source: SourceCoreMediaIO},
			},
		},
	} {
		p := clientProcess(proc)
		if strings.HasPrefix(tc.name, "no resolver") {
			p = nil
		}
		got := cameraUses(tc.cams, tc.clients, p)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

func FuzzParseUnifiedLogCamera(f *testing.F) {
	seed, err := os.ReadFile("testdata/unifiedlog-camera.ndjson")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	for _, l := range bytes.Split(seed, []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte(`{"eventMessage":"ClientDied 1 [PID: 99999999999]","eventType":"logEvent"}`))
	f.Add([]byte(`{"eventMessage":"x","processID":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cls, err := ParseUnifiedLogCamera(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("error on an in-memory reader: %v", err)
		}
		var cc cameraClients
		for _, c := range cls {
			if c.PID <= 0 || c.Format == "" {
				t.Fatalf("bad client %+v", c)
			}
			cc.add(c)
		}
		us := cameraUses([]cameraDevice{{ID: 1, Running: true}}, cc.active(), nil)
		if len(us) == 0 {
			t.Fatal("a running camera yields no use")
		}
		for _, u := range us {
			if u.Kind != Camera || u.Source != SourceCoreMediaIO || u.Process == "" {
				t.Fatalf("bad use %+v", u)
			}
		}
	})
}
