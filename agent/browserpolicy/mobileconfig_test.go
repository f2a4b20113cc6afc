package browserpolicy

import (
	"strings"
	"testing"

	"howett.net/plist"
)

// The profile decodes back into one managed-preferences payload per
// browser domain, with the policies as written for Linux and Windows.
func TestMobileconfig(t *testing.T) {
	t.Parallel()
	spec := Spec{AllowedOrigins: []string{"https://meet.example.org", "https://bbb.example.org"}, BlockScreenCapture: true}
	b, err := Mobileconfig(spec, "eu.vcguard.browsers")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "browsers.mobileconfig", b)
	var profile struct {
		PayloadType, PayloadIdentifier, PayloadUUID, PayloadScope string
		PayloadContent                                            []struct {
			PayloadType, PayloadIdentifier, PayloadUUID string
			PayloadContent                              map[string]struct {
				Forced []struct {
					Settings map[string]any `plist:"mcx_preference_settings"`
				}
			}
		}
	}
	if _, err := plist.Unmarshal(b, &profile); err != nil {
		t.Fatalf("decode the profile: %v", err)
	}
	if profile.PayloadType != "Configuration" || profile.PayloadIdentifier != "eu.vcguard.browsers" || profile.PayloadScope != "System" {
		t.Errorf("profile header %+v", profile)
	}
	uuids := map[string]bool{profile.PayloadUUID: true}
	domains := map[string]map[string]any{}
	for _, p := range profile.PayloadContent {
		if p.PayloadType != "com.apple.ManagedClient.preferences" || !strings.HasPrefix(p.PayloadIdentifier, "eu.vcguard.browsers.") {
			t.Errorf("payload %s of type %s", p.PayloadIdentifier, p.PayloadType)
		}
		uuids[p.PayloadUUID] = true
		for d, c := range p.PayloadContent {
			if len(c.Forced) != 1 {
				t.Fatalf("%s: %d Forced entries", d, len(c.Forced))
			}
			domains[d] = c.Forced[0].Settings
		}
	}
	if len(uuids) != 6 {
		t.Errorf("%d distinct PayloadUUIDs, want 6", len(uuids))
	}
	for _, d := range []string{"com.google.Chrome", "org.chromium.Chromium", "com.microsoft.Edge", "com.brave.Browser"} {
		s := domains[d]
		if s == nil {
			t.Errorf("no payload for %s", d)
			continue
		}
		for _, k := range []string{"VideoCaptureAllowed", "AudioCaptureAllowed", "ScreenCaptureAllowed"} {
			if v, ok := s[k].(bool); !ok || v {
				t.Errorf("%s %s = %v, want false", d, k, s[k])
			}
		}
		for _, k := range []string{"VideoCaptureAllowedUrls", "AudioCaptureAllowedUrls"} {
			if got, _ := s[k].([]any); len(got) != 2 || got[0] != "https://bbb.example.org" || got[1] != "https://meet.example.org" {
				t.Errorf("%s %s = %v", d, k, s[k])
			}
		}
	}
	ff := domains["org.mozilla.firefox"]
	if ff["EnterprisePoliciesEnabled"] != true {
		t.Errorf("firefox EnterprisePoliciesEnabled = %v, want true", ff["EnterprisePoliciesEnabled"])
	}
	perms, _ := ff["Permissions"].(map[string]any)
	for _, k := range []string{"Camera", "Microphone", "ScreenShare"} {
		p, _ := perms[k].(map[string]any)
		if p["BlockNewRequests"] != true || p["Locked"] != true {
			t.Errorf("firefox Permissions.%s = %v", k, p)
		}
	}
	if cam, _ := perms["Camera"].(map[string]any); len(cam["Allow"].([]any)) != 2 {
		t.Errorf("firefox camera Allow = %v", cam["Allow"])
	}

	// Another spec gives other UUIDs; the same spec the same bytes.
	b2, _ := Mobileconfig(Spec{AllowedOrigins: []string{"https://meet.example.org"}}, "eu.vcguard.browsers")
	if strings.Contains(string(b2), profile.PayloadUUID) {
		t.Error("a changed spec kept the profile's PayloadUUID")
	}
	b3, _ := Mobileconfig(Spec{AllowedOrigins: []string{"https://bbb.example.org", "https://meet.example.org"}, BlockScreenCapture: true}, "eu.vcguard.browsers")
	if string(b3) != string(b) {
		t.Error("the same spec gave another profile")
	}
}

func TestMobileconfigRefuses(t *testing.T) {
	t.Parallel()
	if _, err := Mobileconfig(Spec{AllowedOrigins: []string{"http://meet.example.org"}}, "eu.vcguard.browsers"); err == nil || !strings.Contains(err.Error(), "allowed origins[0]") {
		t.Errorf("bad origin: %v", err)
	}
	for _, id := range []string{"", "eu vcguard", ".eu", "eu..vcguard", "eu/vcguard"} {
		if _, err := Mobileconfig(Spec{}, id); err == nil || !strings.Contains(err.Error(), "profile identifier") {
			t.Errorf("identifier %q: %v", id, err)
		}
	}
}
