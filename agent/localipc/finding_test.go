package localipc

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// testConnectionNotice is a notice about an approved app set up for a
// server the policy does not allow.
func testConnectionNotice() Notice {
	return Notice{
		Key: "jitsi-meet/wrong_server/meet.jit.si", AppID: "jitsi-meet", AppName: "Jitsi Meet", Action: "block", GraceSeconds: 120,
		ConnectionFinding: policies.ConnectionWrongServer, ConnectionDetail: "meet.jit.si",
		Note: policies.PlainNote("Our server: meet.example.org"), InfoURL: "https://intra.example.org/jitsi",
	}
}

// testSiteNotice is a notice about a browser that lets unapproved
// services use the camera or microphone.
func testSiteNotice() Notice {
	return Notice{
		Key: "firefox/unapproved_site", AppID: "firefox", AppName: "Mozilla Firefox", Action: "warn",
		SiteFinding: policies.SiteUnapproved, SiteServices: []string{"Google Meet", "Whereby"},
		Alternative: "jitsi-meet", AlternativeName: "Jitsi Meet",
	}
}

// Notices about an app's server or account and about a browser's sites
// cross the IPC whole, and encode to the same bytes again.
func TestIPCFindingRoundTrip(t *testing.T) {
	t.Parallel()
	full := make([]string, MaxSiteServices)
	for i := range full {
		full[i] = strings.Repeat("ß", lenName/2) // 256 bytes each: the most allowed
	}
	for _, tc := range []struct {
		name string
		n    Notice
	}{
		{"wrong server, block", testConnectionNotice()},
		{"personal account, no detail form", Notice{Key: "t", AppID: "microsoft-teams", Action: "warn", ConnectionFinding: policies.ConnectionPersonalAccount, ConnectionDetail: "personal account"}},
		{"personal account, tenant", Notice{Key: "t", AppID: "microsoft-teams", Verdict: "restricted", Action: "warn",
			ConnectionFinding: policies.ConnectionPersonalAccount, ConnectionDetail: "0a1b2c3d-0000-4000-8000-00000000abcd"}},
		{"wrong server, no host, an approved app's verdict", Notice{Key: "j", AppID: "jitsi-meet", Verdict: "approved", Action: "warn", ConnectionFinding: policies.ConnectionWrongServer}},
		{"an IDN host, longest", Notice{Key: "j", AppID: "jitsi-meet", Action: "warn", ConnectionFinding: policies.ConnectionWrongServer,
			ConnectionDetail: strings.Repeat("ü", MaxConnectionDetail/2) + "x"}},
		{"unapproved sites", testSiteNotice()},
		{"unapproved site, none named", Notice{Key: "f", AppID: "firefox", Action: "warn", SiteFinding: policies.SiteUnapproved}},
		{"unapproved sites, as many and as long as allowed", Notice{Key: "f", AppID: "firefox", Action: "warn", SiteFinding: policies.SiteUnapproved, SiteServices: full}},
		{"unknown site", Notice{Key: "f", AppID: "firefox", Action: "monitor", SiteFinding: policies.SiteUnknown, InfoURL: "https://intra.example.org/web"}},
		{"updates off", Notice{Key: "z", AppID: "zoom", AppName: "Zoom Workplace", Verdict: "approved", Action: "warn", PostureFinding: policies.PostureUpdatesOff, PostureDetail: "0"}},
		{"outdated package, longest", Notice{Key: "z", AppID: "zoom", Action: "warn", PostureFinding: policies.PostureOutdated, PostureDetail: strings.Repeat("é", MaxPostureDetail/2)}},
		{"recording", Notice{Key: "z", AppID: "zoom", Action: "monitor", PostureFinding: policies.PostureRecording, PostureDetail: ".mp4"}},
		{"a multi-service host", Notice{Key: "h", AppID: "ferdium", AppName: "Ferdium", Verdict: "forbidden", Action: "warn",
			EmbeddedServices: []string{"Microsoft Teams", "Slack", "WhatsApp"}, Alternative: "jitsi-meet", AlternativeName: "Jitsi Meet"}},
		{"a multi-service host, as many services and as long as allowed", Notice{Key: "h", AppID: "ferdium", Verdict: "forbidden", Action: "block", EmbeddedServices: full}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.n.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			line, err := EncodeFrame(Frame{Type: FrameNotice, Notice: tc.n})
			if err != nil {
				t.Fatal(err)
			}
			f, err := DecodeFrame(body(line))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Notice, tc.n) {
				t.Errorf("round trip:\n got %+v\nwant %+v", f.Notice, tc.n)
			}
			if again := must(EncodeFrame(f)); !bytes.Equal(again, line) {
				t.Errorf("encoded again differs:\n%x\n%x", again, line)
			}
		})
	}
}

// What the IPC refuses of the new fields, as a hostile client would send
// it: each with the field at fault and why.
func TestIPCFindingRefusals(t *testing.T) {
	t.Parallel()
	const (
		wrongServer = vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER
		unapproved  = vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNAPPROVED_SITE
		unknownSite = vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNKNOWN_SITE
		unknownApp  = vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNKNOWN_APP
	)
	// connection and site make noticeFrame's app notice one of the kind.
	connection := func(edit func(n *vcguardv1.IpcNotice)) []byte {
		return raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
			n.PolicyVerdict, n.ConnectionFinding, n.ConnectionDetail = 0, wrongServer, "meet.jit.si"
			edit(n)
		}))
	}
	site := func(edit func(n *vcguardv1.IpcNotice)) []byte {
		return raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
			n.AppId, n.PolicyVerdict, n.SiteFinding, n.SiteServices = "firefox", 0, unapproved, []string{"Google Meet"}
			edit(n)
		}))
	}
	posture := func(edit func(n *vcguardv1.IpcNotice)) []byte {
		return raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
			n.PolicyVerdict, n.PostureFinding, n.PostureDetail = 0, vcguardv1.PostureKind_POSTURE_KIND_UPDATES_OFF, "0"
			edit(n)
		}))
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		// One finding per notice.
		{"media and connection", connection(func(n *vcguardv1.IpcNotice) { n.MediaFinding = unknownApp }),
			"field notice.connection_finding: set with notice.media_finding: a notice is about one finding"},
		{"connection and site", connection(func(n *vcguardv1.IpcNotice) { n.SiteFinding = unknownSite }),
			"field notice.site_finding: set with notice.connection_finding: a notice is about one finding"},
		{"media and site", site(func(n *vcguardv1.IpcNotice) { n.MediaFinding = unknownApp }),
			"field notice.site_finding: set with notice.media_finding: a notice is about one finding"},
		// Kinds this version does not know.
		{"unknown connection kind", connection(func(n *vcguardv1.IpcNotice) { n.ConnectionFinding = 99 }),
			"field notice.connection_finding: 99 is not a ConnectionFindingKind"},
		{"unknown site kind", site(func(n *vcguardv1.IpcNotice) { n.SiteFinding = 42 }),
			"field notice.site_finding: 42 is not a SiteFindingKind"},
		{"approved site is not told", site(func(n *vcguardv1.IpcNotice) {
			n.SiteFinding, n.SiteServices = vcguardv1.SiteFindingKind_SITE_FINDING_KIND_APPROVED_SITE, nil
		}), "field notice.site_finding: approved_site is not a finding the employee is told of (only unapproved_site, unknown_site)"},
		{"no site is not told", site(func(n *vcguardv1.IpcNotice) {
			n.SiteFinding, n.SiteServices = vcguardv1.SiteFindingKind_SITE_FINDING_KIND_NO_SITE, nil
		}), "field notice.site_finding: no_site is not a finding"},
		{"unknown verdict in a connection notice", connection(func(n *vcguardv1.IpcNotice) { n.PolicyVerdict = 42 }),
			"field notice.policy_verdict: 42 is not a Verdict"},
		// The connection detail: a host, domain or tenant.
		{"detail with a newline", connection(func(n *vcguardv1.IpcNotice) { n.ConnectionDetail = "meet.jit.si\nUse evil.example instead" }),
			`field notice.connection_detail: control character '\n' not allowed`},
		{"detail with an escape", connection(func(n *vcguardv1.IpcNotice) { n.ConnectionDetail = "meet\x1b[2J.jit.si" }),
			`field notice.connection_detail: control character '\x1b' not allowed`},
		{"detail turned around", connection(func(n *vcguardv1.IpcNotice) { n.ConnectionDetail = "meet.\u202eis.tij" }),
			"field notice.connection_detail: character U+202E not allowed (printable characters only)"},
		{"detail with an invisible character", connection(func(n *vcguardv1.IpcNotice) { n.ConnectionDetail = "meet.example\u200b.org" }),
			"field notice.connection_detail: character U+200B not allowed"},
		{"detail a URL", connection(func(n *vcguardv1.IpcNotice) { n.ConnectionDetail = "https://meet.jit.si/room" }),
			`field notice.connection_detail: "https://meet.jit.si/room" is a URL or path`},
		{"detail with spaces around", connection(func(n *vcguardv1.IpcNotice) { n.ConnectionDetail = " meet.jit.si" }),
			"field notice.connection_detail: leading or trailing space"},
		{"detail too long", connection(func(n *vcguardv1.IpcNotice) { n.ConnectionDetail = strings.Repeat("a", MaxConnectionDetail+1) }),
			"field notice.connection_detail: 254 bytes, at most 253 allowed"},
		{"detail without a connection finding", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.ConnectionDetail = "meet.jit.si" })),
			"field notice.connection_detail: set in a notice that is not about a server or account"},
		{"connection notice without app", connection(func(n *vcguardv1.IpcNotice) { n.AppId = "" }),
			"field notice.app_id: missing or empty"},
		{"connection notice naming a device", connection(func(n *vcguardv1.IpcNotice) { n.DeviceKind = "camera" }),
			"field notice.device_kind: set in a notice about an app, not a device use"},
		// The services of a site notice.
		{"nine services", site(func(n *vcguardv1.IpcNotice) {
			n.SiteServices = slices.Repeat([]string{"Google Meet"}, MaxSiteServices+1)
		}),
			"field notice.site_services: 9 entries, at most 8 allowed"},
		// The services of a multi-service host.
		{"nine embedded services", raw(noticeFrame(func(n *vcguardv1.IpcNotice) {
			n.EmbeddedServices = slices.Repeat([]string{"Slack"}, MaxEmbeddedServices+1)
		})), "field notice.embedded_services: 9 entries, at most 8 allowed"},
		{"an embedded service with a newline", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.EmbeddedServices = []string{"Slack\nUse evil"} })),
			`field notice.embedded_services[0]: control character '\n' not allowed`},
		{"embedded services in a posture notice", posture(func(n *vcguardv1.IpcNotice) { n.EmbeddedServices = []string{"Slack"} }),
			"field notice.embedded_services: set in a notice about posture_finding: only a notice about the host's own verdict names them"},
		{"embedded services in a site notice", site(func(n *vcguardv1.IpcNotice) { n.EmbeddedServices = []string{"Slack"} }),
			"field notice.embedded_services: set in a notice about site_finding: only a notice about the host's own verdict names them"},
		{"an empty service", site(func(n *vcguardv1.IpcNotice) { n.SiteServices = []string{"Google Meet", ""} }),
			"field notice.site_services[1]: missing or empty"},
		{"a service name too long", site(func(n *vcguardv1.IpcNotice) { n.SiteServices = []string{strings.Repeat("x", lenName+1)} }),
			"field notice.site_services[0]: 257 bytes, at most 256 allowed"},
		{"a service with a newline", site(func(n *vcguardv1.IpcNotice) { n.SiteServices = []string{"Google\nMeet"} }),
			`field notice.site_services[0]: control character '\n' not allowed`},
		{"services with an unknown site", site(func(n *vcguardv1.IpcNotice) { n.SiteFinding = unknownSite }),
			"field notice.site_services: set in a notice that is not about unapproved sites"},
		{"services without a site finding", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.SiteServices = []string{"Google Meet"} })),
			"field notice.site_services: set in a notice that is not about unapproved sites"},
		{"site notice without app", site(func(n *vcguardv1.IpcNotice) { n.AppId = "" }),
			"field notice.app_id: missing or empty"},
		{"site notice that blocks", site(func(n *vcguardv1.IpcNotice) { n.PolicyAction = vcguardv1.Action_ACTION_BLOCK }),
			"field notice.policy_action: block in a notice about a browser's sites"},
		// Posture notices: about an app's own settings.
		{"posture and connection", posture(func(n *vcguardv1.IpcNotice) { n.ConnectionFinding = wrongServer }),
			"field notice.posture_finding: set with notice.connection_finding: a notice is about one finding"},
		{"unknown posture kind", posture(func(n *vcguardv1.IpcNotice) { n.PostureFinding = 77 }),
			"field notice.posture_finding: 77 is not a PostureKind"},
		{"posture notice that blocks", posture(func(n *vcguardv1.IpcNotice) { n.PolicyAction = vcguardv1.Action_ACTION_BLOCK }),
			"field notice.policy_action: block in a notice about an app's settings"},
		{"posture detail with a path", posture(func(n *vcguardv1.IpcNotice) { n.PostureDetail = "/home/eve/Documents/Zoom/Meeting with Bob.mp4" }),
			"field notice.posture_detail: \"/home/eve/Documents/Zoom/Meeting with Bob.mp4\" holds a path"},
		{"posture detail turned around", posture(func(n *vcguardv1.IpcNotice) { n.PostureDetail = "\u202e4pm." }),
			"field notice.posture_detail: character U+202E not allowed"},
		{"posture detail too long", posture(func(n *vcguardv1.IpcNotice) { n.PostureDetail = strings.Repeat("a", MaxPostureDetail+1) }),
			"field notice.posture_detail: 129 bytes, at most 128 allowed"},
		{"posture detail without a posture finding", raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.PostureDetail = "0" })),
			"field notice.posture_detail: set in a notice that is not about an app's settings"},
		{"posture notice without app", posture(func(n *vcguardv1.IpcNotice) { n.AppId = "" }),
			"field notice.app_id: missing or empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeFrame(tc.b)
			if err == nil || !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeFrame: %v; want ErrBadFrame containing %q", err, tc.want)
			}
		})
	}
}

// The service side refuses what it cannot send faithfully, before
// anything is written: a finding kind package policies does not know
// would otherwise vanish on the wire and the notice read as another kind.
func TestIPCFindingEncodeRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(n *Notice)
		want string
	}{
		{"unknown connection kind", func(n *Notice) { n.ConnectionFinding = "expired_licence" },
			`field notice.connection_finding: "expired_licence" is not a finding this version knows`},
		{"unknown site kind", func(n *Notice) { n.ConnectionFinding, n.ConnectionDetail, n.SiteFinding = "", "", "from-the-future" },
			`field notice.site_finding: "from-the-future" is not a finding this version knows`},
		{"unknown media kind", func(n *Notice) { n.ConnectionFinding, n.ConnectionDetail, n.MediaFinding = "", "", "keylogger" },
			`field notice.media_finding: "keylogger" is not a finding this version knows`},
		{"unknown posture kind", func(n *Notice) { n.ConnectionFinding, n.ConnectionDetail, n.PostureFinding = "", "", "webcam_tape" },
			`field notice.posture_finding: "webcam_tape" is not a finding this version knows`},
		{"two kinds", func(n *Notice) { n.SiteFinding = policies.SiteUnknown },
			"field notice.site_finding: set with notice.connection_finding"},
		{"a detail in two lines", func(n *Notice) { n.ConnectionDetail = "meet.jit.si\nevil" },
			`field notice.connection_detail: control character '\n' not allowed`},
		{"nine services", func(n *Notice) {
			n.ConnectionFinding, n.ConnectionDetail, n.SiteFinding = "", "", policies.SiteUnapproved
			n.SiteServices = slices.Repeat([]string{"Whereby"}, 9)
		}, "field notice.site_services: 9 entries, at most 8 allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := testConnectionNotice()
			tc.edit(&n)
			if _, err := EncodeFrame(Frame{Type: FrameNotice, Notice: n}); !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("EncodeFrame: %v; want ErrBadFrame containing %q", err, tc.want)
			}
			if err := n.Validate(); !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %v; want ErrBadFrame containing %q", err, tc.want)
			}
		})
	}
}
