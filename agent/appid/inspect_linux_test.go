package appid

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRoot is a file-system tree in a temporary directory that an Inspector
// reads as its "/". t.TempDir() is root-owned and 0700 when tests run as
// root, so the tree's own "/" passes the ownership check.
type fakeRoot struct {
	t   testing.TB
	dir string
}

func newFakeRoot(t *testing.T) *fakeRoot {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the ownership checks need files owned by root: run as root")
	}
	return &fakeRoot{t: t, dir: t.TempDir()}
}

func (r *fakeRoot) path(p string) string { return filepath.Join(r.dir, p) }

func (r *fakeRoot) file(p, data string, mode os.FileMode) {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(r.path(p)), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(r.path(p), []byte(data), mode); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(r.path(p), mode); err != nil { // whatever the umask
		r.t.Fatal(err)
	}
}

// symlink makes p a symlink to target, as written (relative or absolute
// inside the tree).
func (r *fakeRoot) symlink(p, target string) {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(r.path(p)), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Symlink(target, r.path(p)); err != nil {
		r.t.Fatal(err)
	}
}

// process makes /proc/PID/exe point at the file the process runs: a path
// in the tree.
func (r *fakeRoot) process(pid int32, runs string) {
	r.t.Helper()
	r.symlink(fmt.Sprintf("/proc/%d/exe", pid), r.path(runs))
}

func (r *fakeRoot) chown(p string, uid int) {
	r.t.Helper()
	if err := os.Lchown(r.path(p), uid, uid); err != nil {
		r.t.Fatal(err)
	}
}

func (r *fakeRoot) chmod(p string, mode os.FileMode) {
	r.t.Helper()
	if err := os.Chmod(r.path(p), mode); err != nil {
		r.t.Fatal(err)
	}
}

func dpkgStanza(name, version, status string) string {
	return fmt.Sprintf("Package: %s\nStatus: %s\nPriority: optional\nSection: net\nArchitecture: %s\nVersion: %s\nDescription: %s\n multi-line\n .\n description\n\n",
		name, status, dpkgArch(runtime.GOARCH), version, name)
}

const (
	zoomVersion   = "6.2.11.5069"
	flatpakInfo   = "flatpak/us.zoom.Zoom.flatpak-info"
	flatpakCommit = "5c2b7d8a0e0f4f2bd0b6a2cfae7c3f1e52b5a1f8e1d54bd8f7e2f2b3f5e9c1d0"
)

var zoomLinux = Candidate{
	Paths:    []string{"/opt/zoom/"},
	Packages: map[string][]string{"deb": {"zoom"}, "rpm": {"zoom"}, "flatpak": {"us.zoom.Zoom"}, "snap": {"zoom-client"}},
}

// debZoom installs zoom the way its .deb does: /opt/zoom/zoom with a
// /usr/bin/zoom link, listed in dpkg's database.
func debZoom(r *fakeRoot) {
	r.file("/opt/zoom/zoom", "ELF zoom", 0o755)
	r.file("/usr/bin/zoom", "ELF zoom launcher", 0o755)
	r.file("/var/lib/dpkg/info/zoom.list", "/.\n/opt\n/opt/zoom\n/opt/zoom/zoom\n/usr\n/usr/bin\n/usr/bin/zoom\n", 0o644)
	r.file("/var/lib/dpkg/status", dpkgStanza("bash", "5.2.15-2+b8", "install ok installed")+
		dpkgStanza("zoom", zoomVersion, "install ok installed")+
		dpkgStanza("wget", "1.21.3-1+deb12u1", "deinstall ok config-files"), 0o644)
}

// flatpakZoom deploys us.zoom.Zoom in a system-wide installation and starts
// process pid in its sandbox.
func flatpakZoom(r *fakeRoot, pid int32) string {
	host := "/var/lib/flatpak/app/us.zoom.Zoom/x86_64/stable/" + flatpakCommit + "/files/extra/zoom/zoom"
	r.file(host, "ELF zoom", 0o755)
	r.file(fmt.Sprintf("/proc/%d/root/.flatpak-info", pid), string(readTestdata(r.t, flatpakInfo)), 0o644)
	r.file(fmt.Sprintf("/proc/%d/root/app/share/metainfo/us.zoom.Zoom.metainfo.xml", pid), string(readTestdata(r.t, "flatpak/us.zoom.Zoom.metainfo.xml")), 0o644)
	r.process(pid, host)
	return host
}

func TestInspectLinux(t *testing.T) {
	arch := dpkgArch(runtime.GOARCH)
	tests := []struct {
		name       string
		setup      func(r *fakeRoot)
		pid        int32
		exe        string
		c          Candidate
		rpm        func(ctx context.Context, path string) (string, error)
		want       Info // Reason is checked with wantReason
		wantReason string
		verified   bool
	}{
		{
			name: "deb: the package lists the file",
			setup: func(r *fakeRoot) {
				debZoom(r)
				r.process(100, "/opt/zoom/zoom")
			},
			pid: 100, exe: "/opt/zoom/zoom", c: zoomLinux,
			want:     Info{Path: "/opt/zoom/zoom", Package: "deb:zoom", Version: zoomVersion, Signed: true},
			verified: true,
		},
		{
			name: "deb: multi-arch file list NAME:ARCH.list",
			setup: func(r *fakeRoot) {
				debZoom(r)
				os.Rename(r.path("/var/lib/dpkg/info/zoom.list"), r.path("/var/lib/dpkg/info/zoom:"+arch+".list"))
			},
			exe: "/opt/zoom/zoom", c: zoomLinux,
			want:     Info{Path: "/opt/zoom/zoom", Package: "deb:zoom", Version: zoomVersion, Signed: true},
			verified: true,
		},
		{
			name: "deb: foreign architecture from /var/lib/dpkg/arch",
			setup: func(r *fakeRoot) {
				debZoom(r)
				os.Rename(r.path("/var/lib/dpkg/info/zoom.list"), r.path("/var/lib/dpkg/info/zoom:s390x.list"))
				r.file("/var/lib/dpkg/arch", arch+"\ns390x\n", 0o644)
			},
			exe: "/opt/zoom/zoom", c: zoomLinux,
			want:     Info{Path: "/opt/zoom/zoom", Package: "deb:zoom", Version: zoomVersion, Signed: true},
			verified: true,
		},
		{
			name: "deb: merged /usr, the list says /bin, the kernel /usr/bin",
			setup: func(r *fakeRoot) {
				r.file("/usr/bin/zoom", "ELF", 0o755)
				r.symlink("/bin", "usr/bin")
				r.file("/var/lib/dpkg/info/zoom.list", "/.\n/bin\n/bin/zoom\n", 0o644)
				r.file("/var/lib/dpkg/status", dpkgStanza("zoom", zoomVersion, "install ok installed"), 0o644)
				r.process(101, "/usr/bin/zoom")
			},
			pid: 101, exe: "/usr/bin/zoom", c: zoomLinux,
			want:     Info{Path: "/usr/bin/zoom", Package: "deb:zoom", Version: zoomVersion, Signed: true},
			verified: true,
		},
		{
			name:  "deb: only the candidate's names are looked at",
			setup: debZoom,
			exe:   "/usr/bin/zoom",
			c:     Candidate{Packages: map[string][]string{"deb": {"zoom-client", "../../../var/lib/dpkg/info/zoom"}}},
			want:  Info{Path: "/usr/bin/zoom", Signed: true},
		},
		{
			name: "deb: listed but not installed per status",
			setup: func(r *fakeRoot) {
				debZoom(r)
				r.file("/var/lib/dpkg/status", dpkgStanza("zoom", zoomVersion, "install reinstreq half-installed"), 0o644)
			},
			exe: "/usr/bin/zoom", c: zoomLinux,
			want:       Info{Path: "/usr/bin/zoom", Package: "deb:zoom", Signed: true},
			wantReason: "no installed version",
			verified:   true,
		},
		{
			name: "deb: malformed status is reported",
			setup: func(r *fakeRoot) {
				debZoom(r)
				r.file("/var/lib/dpkg/status", "Package: zoom\nnot a field\n", 0o644)
			},
			exe: "/usr/bin/zoom", c: zoomLinux,
			want:       Info{Path: "/usr/bin/zoom", Signed: true},
			wantReason: "dpkg: dpkg status line 2",
		},
		{
			name: "another mount namespace runs a different /usr/bin/zoom",
			setup: func(r *fakeRoot) {
				debZoom(r)
				r.file("/home/u/impostor", "ELF impostor", 0o755)
				r.process(102, "/home/u/impostor")
			},
			pid: 102, exe: "/usr/bin/zoom", c: zoomLinux,
			want:       Info{Path: "/usr/bin/zoom"},
			wantReason: "the running executable is not the file at /usr/bin/zoom",
		},
		{
			name: "snap",
			setup: func(r *fakeRoot) {
				r.file("/snap/zoom-client/225/zoom/zoom", "ELF", 0o755)
				r.file("/snap/zoom-client/225/meta/snap.yaml", string(readTestdata(r.t, "snap/zoom-client.snap.yaml")), 0o644)
				r.process(103, "/snap/zoom-client/225/zoom/zoom")
			},
			pid: 103, exe: "/snap/zoom-client/225/zoom/zoom", c: zoomLinux,
			want:     Info{Path: "/snap/zoom-client/225/zoom/zoom", Package: "snap:zoom-client", Version: zoomVersion, Signed: true},
			verified: true,
		},
		{
			name: "snap: not one of the app's",
			setup: func(r *fakeRoot) {
				r.file("/snap/zoom-fake/1/zoom", "ELF", 0o755)
			},
			exe: "/snap/zoom-fake/1/zoom", c: zoomLinux,
			want:       Info{Path: "/snap/zoom-fake/1/zoom", Signed: true},
			wantReason: "snap zoom-fake is not one of the app's packages",
		},
		{
			name: "snap: missing snap.yaml",
			setup: func(r *fakeRoot) {
				r.file("/snap/zoom-client/225/zoom/zoom", "ELF", 0o755)
			},
			exe: "/snap/zoom-client/225/zoom/zoom", c: zoomLinux,
			want:       Info{Path: "/snap/zoom-client/225/zoom/zoom", Package: "snap:zoom-client", Signed: true},
			wantReason: "snap version:",
			verified:   true,
		},
		{
			name:  "flatpak: system-wide installation",
			setup: func(r *fakeRoot) { flatpakZoom(r, 4242) },
			pid:   4242, exe: "/app/extra/zoom/zoom", c: zoomLinux,
			want:     Info{Path: "/app/extra/zoom/zoom", Package: "flatpak:us.zoom.Zoom", Version: zoomVersion, Signed: true},
			verified: true,
		},
		{
			name: "flatpak: version from the deployed app when the sandbox has none",
			setup: func(r *fakeRoot) {
				host := flatpakZoom(r, 4243)
				os.Remove(r.path("/proc/4243/root/app/share/metainfo/us.zoom.Zoom.metainfo.xml"))
				share := strings.TrimSuffix(host, "extra/zoom/zoom") + "share"
				r.file(share+"/appdata/us.zoom.Zoom.appdata.xml", `<component><releases><release version="6.0.0"/></releases></component>`, 0o644)
			},
			pid: 4243, exe: "/app/extra/zoom/zoom", c: zoomLinux,
			want:     Info{Path: "/app/extra/zoom/zoom", Package: "flatpak:us.zoom.Zoom", Version: "6.0.0", Signed: true},
			verified: true,
		},
		{
			name: "flatpak: a faked .flatpak-info around another binary",
			setup: func(r *fakeRoot) {
				flatpakZoom(r, 4244)
				os.Remove(r.path("/proc/4244/exe"))
				r.file("/home/u/impostor", "ELF impostor", 0o755)
				r.process(4244, "/home/u/impostor")
			},
			pid: 4244, exe: "/app/extra/zoom/zoom", c: zoomLinux,
			want:       Info{Path: "/app/extra/zoom/zoom", Version: zoomVersion},
			wantReason: "the process does not run /var/lib/flatpak/app/us.zoom.Zoom/",
		},
		{
			name: "flatpak: per-user installation is not trusted",
			setup: func(r *fakeRoot) {
				const user = "/home/u/.local/share/flatpak/app/us.zoom.Zoom/x86_64/stable/abc/files"
				r.file(user+"/bin/zoom", "ELF", 0o755)
				r.chown("/home/u", 1000)
				info := strings.ReplaceAll(string(readTestdata(r.t, flatpakInfo)),
					"/var/lib/flatpak/app/us.zoom.Zoom/x86_64/stable/"+flatpakCommit+"/files", user)
				r.file("/proc/4245/root/.flatpak-info", info, 0o644)
				r.process(4245, user+"/bin/zoom")
			},
			pid: 4245, exe: "/app/bin/zoom", c: zoomLinux,
			want:       Info{Path: "/app/bin/zoom"},
			wantReason: "not a system-wide installation: /home/u is owned by uid 1000",
		},
		{
			name: "flatpak: app-path that is not a deployment",
			setup: func(r *fakeRoot) {
				r.file("/proc/4246/root/.flatpak-info", "[Application]\nname=us.zoom.Zoom\n[Instance]\napp-path=/usr\n", 0o644)
				r.file("/usr/bin/zoom", "ELF", 0o755)
				r.process(4246, "/usr/bin/zoom")
			},
			pid: 4246, exe: "/app/bin/zoom", c: zoomLinux,
			want:       Info{Path: "/app/bin/zoom"},
			wantReason: `app-path "/usr" is not a deployed flatpak app`,
		},
		{
			name: "flatpak: not one of the app's",
			setup: func(r *fakeRoot) {
				flatpakZoom(r, 4247)
			},
			pid: 4247, exe: "/app/extra/zoom/zoom", c: Candidate{Packages: map[string][]string{"flatpak": {"com.example.Other"}}},
			want:       Info{Path: "/app/extra/zoom/zoom"},
			wantReason: "flatpak us.zoom.Zoom is not one of the app's packages",
		},
		{
			name: "flatpak: malformed .flatpak-info",
			setup: func(r *fakeRoot) {
				flatpakZoom(r, 4248)
				r.file("/proc/4248/root/.flatpak-info", "name=x\n", 0o644)
			},
			pid: 4248, exe: "/app/extra/zoom/zoom", c: zoomLinux,
			want:       Info{Path: "/app/extra/zoom/zoom"},
			wantReason: `.flatpak-info: line 1: key "name" before any [group]`,
		},
		{
			name:  "install path, root-owned, no package",
			setup: func(r *fakeRoot) { r.file("/opt/zoom/zoom", "ELF", 0o755) },
			exe:   "/opt/zoom/zoom", c: zoomLinux,
			want:     Info{Path: "/opt/zoom/zoom", Signed: true},
			verified: true,
		},
		{
			name: "install path, group-writable directory",
			setup: func(r *fakeRoot) {
				r.file("/opt/zoom/zoom", "ELF", 0o755)
				r.chmod("/opt/zoom", 0o775)
			},
			exe: "/opt/zoom/zoom", c: zoomLinux,
			want:       Info{Path: "/opt/zoom/zoom"},
			wantReason: "/opt/zoom is writable by group or others",
		},
		{
			name: "install path, file owned by a user",
			setup: func(r *fakeRoot) {
				r.file("/opt/zoom/zoom", "ELF", 0o755)
				r.chown("/opt/zoom/zoom", 1000)
			},
			exe: "/opt/zoom/zoom", c: zoomLinux,
			want:       Info{Path: "/opt/zoom/zoom"},
			wantReason: "/opt/zoom/zoom is owned by uid 1000",
		},
		{
			name: "install path reached through a user's symlink",
			setup: func(r *fakeRoot) {
				r.file("/home/u/zoom", "ELF", 0o755)
				r.chown("/home/u/zoom", 1000)
				r.symlink("/opt/zoom/zoom", "../../home/u/zoom") // absolute would leave the fake root
			},
			exe: "/opt/zoom/zoom", c: zoomLinux,
			want:       Info{Path: "/opt/zoom/zoom"},
			wantReason: "/home/u/zoom is owned by uid 1000",
		},
		{
			name:  "updated while running: (deleted) is stripped",
			setup: debZoom,
			exe:   "/opt/zoom/zoom (deleted)", c: zoomLinux,
			want:       Info{Path: "/opt/zoom/zoom", Package: "deb:zoom", Version: zoomVersion, Signed: true},
			wantReason: "replaced or removed while the process runs",
			verified:   true,
		},
		{
			name:  "rpm",
			setup: func(r *fakeRoot) { r.file("/usr/bin/zoom", "ELF", 0o755) },
			exe:   "/usr/bin/zoom", c: zoomLinux,
			rpm: func(ctx context.Context, p string) (string, error) {
				if p != "/usr/bin/zoom" {
					return "", fmt.Errorf("rpm asked about %s", p)
				}
				return "zoom\t(none):6.2.11.5069-1\n", nil
			},
			want:     Info{Path: "/usr/bin/zoom", Package: "rpm:zoom", Version: "6.2.11.5069-1", Signed: true},
			verified: true,
		},
		{
			name:  "rpm: not owned",
			setup: func(r *fakeRoot) { r.file("/usr/bin/zoom", "ELF", 0o755) },
			exe:   "/usr/bin/zoom", c: zoomLinux,
			rpm: func(ctx context.Context, p string) (string, error) {
				return "file /usr/bin/zoom is not owned by any package\n", errors.New("exit status 1")
			},
			want: Info{Path: "/usr/bin/zoom", Signed: true},
		},
		{
			name:  "rpm: owned by a package that is not the app's",
			setup: func(r *fakeRoot) { r.file("/usr/bin/zoom", "ELF", 0o755) },
			exe:   "/usr/bin/zoom", c: zoomLinux,
			rpm: func(ctx context.Context, p string) (string, error) {
				return "zoom-impostor\t(none):1-1\n", nil
			},
			want: Info{Path: "/usr/bin/zoom", Signed: true},
		},
		{
			name:  "rpm: fails",
			setup: func(r *fakeRoot) { r.file("/usr/bin/zoom", "ELF", 0o755) },
			exe:   "/usr/bin/zoom", c: zoomLinux,
			rpm: func(ctx context.Context, p string) (string, error) {
				return "", errors.New("rpmdb: lock held")
			},
			want:       Info{Path: "/usr/bin/zoom", Signed: true},
			wantReason: "rpm: rpmdb: lock held",
		},
		{
			name:  "missing executable",
			setup: func(r *fakeRoot) {},
			exe:   "/opt/zoom/zoom", c: zoomLinux,
			want:       Info{Path: "/opt/zoom/zoom"},
			wantReason: "cannot read the executable",
		},
		{
			name:  "relative path",
			setup: func(r *fakeRoot) { r.file("/zoom", "ELF", 0o755) },
			exe:   "zoom", c: zoomLinux,
			want:       Info{Path: "zoom"},
			wantReason: "not absolute",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newFakeRoot(t)
			tt.setup(r)
			in := NewInspector(r.dir)
			in.runRPM = tt.rpm
			if in.runRPM == nil {
				in.runRPM = func(ctx context.Context, p string) (string, error) {
					return "file " + p + " is not owned by any package\n", errors.New("exit status 1")
				}
			}
			got := in.Inspect(context.Background(), tt.pid, tt.exe, tt.c)
			reason := got.Reason
			got.Reason, tt.want.Reason = "", ""
			if got != tt.want {
				t.Errorf("Inspect =\n %+v (reason %q)\nwant\n %+v", got, reason, tt.want)
			}
			if tt.wantReason == "" && reason != "" || !strings.Contains(reason, tt.wantReason) {
				t.Errorf("reason = %q; want %q", reason, tt.wantReason)
			}
			got.Reason = reason
			if ok, why := Verify("linux", tt.c, got); ok != tt.verified {
				t.Errorf("Verify = %v, %q; want %v", ok, why, tt.verified)
			}
		})
	}
}

// TestInspectCache: the second inspection of an unchanged file is a stat;
// a changed file, or another candidate, is inspected again.
func TestInspectCache(t *testing.T) {
	r := newFakeRoot(t)
	debZoom(r)
	in := NewInspector(r.dir)
	ctx := context.Background()
	first := in.Inspect(ctx, 0, "/opt/zoom/zoom", zoomLinux)
	if first.Package != "deb:zoom" {
		t.Fatalf("first = %+v", first)
	}
	for range 3 {
		if again := in.Inspect(ctx, 0, "/opt/zoom/zoom", zoomLinux); again != first {
			t.Fatalf("cached = %+v; want %+v", again, first)
		}
	}
	if n := in.inspections.Load(); n != 1 {
		t.Fatalf("%d inspections; want 1", n)
	}

	// An upgrade rewrites the file and the status.
	r.file("/var/lib/dpkg/status", dpkgStanza("zoom", "6.3.0.1", "install ok installed"), 0o644)
	r.file("/opt/zoom/zoom", "ELF zoom 6.3", 0o755)
	if got := in.Inspect(ctx, 0, "/opt/zoom/zoom", zoomLinux); got.Version != "6.3.0.1" {
		t.Errorf("after upgrade: %+v", got)
	}
	if n := in.inspections.Load(); n != 2 {
		t.Errorf("%d inspections; want 2", n)
	}

	// A changed catalog entry is inspected anew.
	c := zoomLinux
	c.Packages = map[string][]string{"deb": {"zoom-other"}}
	if got := in.Inspect(ctx, 0, "/opt/zoom/zoom", c); got.Package != "" {
		t.Errorf("other candidate: %+v", got)
	}
	if n := in.inspections.Load(); n != 3 {
		t.Errorf("%d inspections; want 3", n)
	}
}

// TestInspectConcurrent: an app's processes starting together cost one
// inspection.
func TestInspectConcurrent(t *testing.T) {
	r := newFakeRoot(t)
	debZoom(r)
	in := NewInspector(r.dir)
	var wg sync.WaitGroup
	results := make([]Info, 16)
	for i := range results {
		wg.Go(func() {
			results[i] = in.Inspect(context.Background(), 0, "/opt/zoom/zoom", zoomLinux)
		})
	}
	wg.Wait()
	for _, got := range results {
		if got.Package != "deb:zoom" || got.Version != zoomVersion {
			t.Errorf("got %+v", got)
		}
	}
	if n := in.inspections.Load(); n != 1 {
		t.Errorf("%d inspections; want 1", n)
	}
}

// TestInspectRealSystem inspects a real process on this machine: a sleep
// from coreutils' deb (on merged-/usr Debian the kernel reports
// /usr/bin/sleep while coreutils.list says /bin/sleep).
func TestInspectRealSystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to read other processes' /proc entries")
	}
	f, err := os.Open("/var/lib/dpkg/status")
	if err != nil {
		t.Skip("not a dpkg system")
	}
	pkgs, err := ParseDpkgStatus(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	coreutils, ok := pkgs["coreutils"]
	if !ok {
		t.Skip("coreutils is not a deb here")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(sleep, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := int32(cmd.Process.Pid)
	var exe string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		// Right after fork /proc/PID/exe is still the test binary.
		if exe, err = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && filepath.Base(exe) == "sleep" {
			break
		}
	}
	c := Candidate{Packages: map[string][]string{"deb": {"coreutils"}}}
	var in Inspector // the zero value inspects the real system
	got := in.Inspect(context.Background(), pid, exe, c)
	if got.Package != "deb:coreutils" || got.Version != coreutils.Version || !got.Signed {
		t.Errorf("Inspect(%d, %s) = %+v; want deb:coreutils %s, signed", pid, exe, got, coreutils.Version)
	}
	if ok, why := Verify("linux", c, got); !ok {
		t.Errorf("Verify: %s", why)
	}

	// The test binary itself is built under /tmp (unless GOTMPDIR says
	// otherwise): not protected.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if tmp, err := os.Stat("/tmp"); err != nil || tmp.Mode()&0o002 == 0 || !strings.HasPrefix(self, "/tmp/") {
		return
	}
	me := in.Inspect(context.Background(), int32(os.Getpid()), self, Candidate{Paths: []string{filepath.Dir(self)}})
	if me.Signed || !strings.Contains(me.Reason, "writable by group or others") {
		t.Errorf("test binary: %+v; want not protected", me)
	}
}

// BenchmarkInspect compares a cached inspection with the stat it should
// cost, and with an inspection from scratch.
func BenchmarkInspect(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root-owned files")
	}
	r := &fakeRoot{t: b, dir: b.TempDir()}
	debZoom(r)
	ctx := context.Background()
	b.Run("stat baseline", func(b *testing.B) {
		for b.Loop() {
			if _, err := os.Stat(r.path("/opt/zoom/zoom")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		in := NewInspector(r.dir)
		in.Inspect(ctx, 0, "/opt/zoom/zoom", zoomLinux)
		b.ReportAllocs()
		for b.Loop() {
			in.Inspect(ctx, 0, "/opt/zoom/zoom", zoomLinux)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewInspector(r.dir).Inspect(ctx, 0, "/opt/zoom/zoom", zoomLinux)
		}
	})
}
