package msi

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered source (go test -update rewrites it); got:\n%s", path, got)
	}
}

func TestWXSGolden(t *testing.T) {
	for _, tc := range []struct{ version, file string }{
		{"1.4.0", "vcguard-agent-1.4.0.wxs"},
		{"2.0.1-rc.1", "vcguard-agent-2.0.1-rc.1.wxs"},
	} {
		d, err := newWXSData(tc.version, agentFile)
		if err != nil {
			t.Fatal(err)
		}
		wxs, err := renderWXS(d)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, tc.file, wxs)
	}
}

func TestWXSContent(t *testing.T) {
	d, err := newWXSData("1.4.0", agentFile)
	if err != nil {
		t.Fatal(err)
	}
	wxs, err := renderWXS(d)
	if err != nil {
		t.Fatal(err)
	}
	s := string(wxs)
	for _, want := range []string{
		`UpgradeCode="F15D740A-EA80-49D1-8ADB-FB5ACD41FB39"`,
		`<Product Id="*"`,
		`Version="1.4.0"`,
		`Name="vcguard-agent" DisplayName="vcguard agent"`,
		`Start="auto" ErrorControl="normal" Account="LocalSystem"`,
		`Arguments="run --service --log-file &quot;C:\ProgramData\vcguard\agent.log&quot;"`,
		`Stop="both" Remove="uninstall"`,
		`<Directory Id="ProgramFiles64Folder">`,
		`Key="Software\Microsoft\Windows\CurrentVersion\Run" Name="vcguard-notifier"`,
		`Value="&quot;[INSTALLFOLDER]vcguard-agent.exe&quot; notifier"`,
		`Key="SOFTWARE\Policies\vcguard\Agent" Name="Server" Type="string" Value="[SERVER]"`,
		`Name="CAFile" Type="string" Value="[CA_FILE]"`,
		`Name="CAFingerprint" Type="string" Value="[CA_FINGERPRINT]"`,
		`Name="DeviceGroup" Type="string" Value="[DEVICE_GROUP]"`,
		`<Property Id="MsiHiddenProperties" Value="ENROLL_SECRET;SetEnrollSecret"/>`,
		`ExeCommand="enroll-secret --set &quot;[ENROLL_SECRET]&quot;"`,
		`ExeCommand="failure vcguard-agent reset= 86400 actions= restart/5000/restart/30000/restart/60000"`,
		`ExeCommand="failureflag vcguard-agent 1"`,
		`<MajorUpgrade `,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the WiX source lacks %s", want)
		}
	}
	// The secret is handed to the agent, never written to the registry.
	if strings.Contains(s, `Value="[ENROLL_SECRET]"`) {
		t.Error("ENROLL_SECRET is written to the registry")
	}
	// Every Win64 component: 64-bit registry view and Program Files.
	if n, m := strings.Count(s, "<Component "), strings.Count(s, `Win64="yes"`); n != m {
		t.Errorf("%d components, %d of them Win64", n, m)
	}
}

func TestMSIVersion(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"1.4.0", "1.4.0", ""},
		{"1.4.0-rc.1", "1.4.0", ""},
		{"255.255.65535", "255.255.65535", ""},
		{"256.0.0", "", "at most"},
		{"1.4", "", "MAJOR.MINOR.PATCH"},
		{"1.x.0", "", "at most"},
	} {
		got, err := msiVersion(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("msiVersion(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("msiVersion(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestXMLEscapeInAttributes(t *testing.T) {
	d, err := newWXSData("1.0.0", `a"b&c.exe`)
	if err != nil {
		t.Fatal(err)
	}
	wxs, err := renderWXS(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(wxs), `Source="a&quot;b&amp;c.exe"`) {
		t.Error("the agent's path is not escaped in its attribute")
	}
}
