package msi

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"text/template"

	"github.com/vcguard/vcguard/installer/windows"
)

// Names the agent and other tools depend on: do not change them.
const (
	// serviceName is the Windows service's name.
	serviceName = "vcguard-agent"
	// policyKey is where the agent reads its managed configuration; Intune
	// and group policy write the same values.
	policyKey = `SOFTWARE\Policies\vcguard\Agent`
	// notifierValue is the HKLM Run value that starts the notifier.
	notifierValue = "vcguard-notifier"
	// upgradeCode is the same for every version, so each one upgrades the
	// one before.
	upgradeCode = "F15D740A-EA80-49D1-8ADB-FB5ACD41FB39"
	// logFile is where the service writes its log: a service has no
	// standard error on Windows.
	logFile = `C:\ProgramData\vcguard\agent.log`
)

// policy is one public property written as a REG_SZ value under policyKey,
// by a component of its own installed only when the property is set.
type policy struct {
	Property, Name, Guid string
}

// policies are the non-secret public properties. ENROLL_SECRET is not one:
// it never reaches the registry.
var policies = []policy{
	{"SERVER", "Server", "C9E1A243-284C-4747-8178-4E0DD4377306"},
	{"CA_FILE", "CAFile", "DA6A2CEA-A9F2-488E-84BB-D886F62C2E8D"},
	{"CA_FINGERPRINT", "CAFingerprint", "2CBE7A13-7B24-4713-887A-BF027CA5C5E6"},
	{"DEVICE_GROUP", "DeviceGroup", "D1EFA942-DCDC-4244-BA65-C513E7BD304F"},
}

// policyFeature is the feature (and component) of a policy value.
func policyFeature(p policy) string { return "Policy" + p.Name }

// publicProperties are every property an administrator may pass to
// msiexec; they must be in SecureCustomProperties to reach the
// installation's server side (deferred actions, elevated installs).
func publicProperties() []string {
	var props []string
	for _, p := range policies {
		props = append(props, p.Property)
	}
	return append(props, "ENROLL_SECRET")
}

// hiddenProperties are kept out of the installer's log: the secret, and the
// custom action whose command line carries it.
var hiddenProperties = []string{"ENROLL_SECRET", "SetEnrollSecret"}

// hiddenTargets are the custom actions whose command line carries the secret.
var hiddenTargets = []string{"SetEnrollSecret"}

// wxsData is what the template is rendered with.
type wxsData struct {
	Version          string // the release's version, as given
	MSIVersion       string // MAJOR.MINOR.PATCH, what Windows Installer compares
	AgentExe         string // the vcguard-agent.exe to ship (a path on this machine)
	UpgradeCode      string
	ServiceName      string
	ServiceArguments string
	NotifierValue    string
	PolicyKey        string
	Policies         []policy
	HiddenProperties string
	FailureArgs      string
	FailureFlagArgs  string
}

func newWXSData(version, agentExe string) (wxsData, error) {
	mv, err := msiVersion(version)
	if err != nil {
		return wxsData{}, err
	}
	return wxsData{
		Version:          version,
		MSIVersion:       mv,
		AgentExe:         agentExe,
		UpgradeCode:      upgradeCode,
		ServiceName:      serviceName,
		ServiceArguments: `run --service --log-file "` + logFile + `"`,
		NotifierValue:    notifierValue,
		PolicyKey:        policyKey,
		Policies:         policies,
		HiddenProperties: strings.Join(hiddenProperties, ";"),
		FailureArgs:      "failure " + serviceName + " reset= 86400 actions= restart/5000/restart/30000/restart/60000",
		FailureFlagArgs:  "failureflag " + serviceName + " 1",
	}, nil
}

// renderWXS renders the WiX source.
func renderWXS(d wxsData) ([]byte, error) {
	tmpl, err := template.New("vcguard-agent.wxs").Funcs(template.FuncMap{}).Parse(windows.WiXTemplate)
	if err != nil {
		return nil, fmt.Errorf("parse the WiX template: %w", err)
	}
	// Every value lands in an XML attribute.
	esc := d
	for _, s := range []*string{&esc.Version, &esc.MSIVersion, &esc.AgentExe, &esc.ServiceArguments} {
		*s = xmlEscape(*s)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, esc); err != nil {
		return nil, fmt.Errorf("render the WiX template: %w", err)
	}
	return buf.Bytes(), nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// msiVersion turns a release version ("1.4.0", "1.4.0-rc.1") into the
// ProductVersion Windows Installer compares: MAJOR.MINOR.PATCH, with major
// and minor at most 255 and patch at most 65535. A prerelease has the
// version of its release: Windows Installer has no notion of one.
func msiVersion(v string) (string, error) {
	core, _, _ := strings.Cut(v, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", v)
	}
	for i, max := range []int{255, 255, 65535} {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 || n > max {
			return "", fmt.Errorf("version %q: an MSI's version parts must be numbers of at most 255.255.65535", v)
		}
	}
	return core, nil
}
