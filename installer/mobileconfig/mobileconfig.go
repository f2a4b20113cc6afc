// Package mobileconfig builds vcguard.mobileconfig, the configuration
// profile MDM (Jamf, Kandji, Intune, Workspace ONE, ...) installs next to
// the .pkg. It carries three payloads:
//
//   - com.apple.ManagedClient.preferences for the agent's preference domain
//     eu.vcguard.agent, with the keys Server, EnrollSecret, CAFingerprint
//     and/or CACertificate, and DeviceGroup; macOS writes them to
//     /Library/Managed Preferences/eu.vcguard.agent.plist, where the agent
//     reads them before its config file;
//   - com.apple.notificationsettings allowing notifications, as alerts,
//     for Script Editor (com.apple.ScriptEditor2): the notifier shows
//     notices with osascript's display notification, which macOS
//     attributes to Script Editor (see agent/notify/display_darwin.go);
//   - com.apple.servicemanagement (macOS 13+) rules for the launchd labels
//     eu.vcguard.agent and eu.vcguard.notifier, so users cannot switch the
//     background items off in System Settings > Login Items.
//
// Values not given are written as placeholders (__SERVER__,
// __ENROLL_SECRET__, __CA_FINGERPRINT__, __DEVICE_GROUP__) for IT to
// replace before uploading the profile; the profile is otherwise ready.
// PayloadUUIDs derive from the version and payload identifiers, so the
// same inputs give the same file. The profile is not signed: MDMs sign
// what they deliver.
package mobileconfig

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"howett.net/plist"

	"github.com/vcguard/vcguard/installer"
	"github.com/vcguard/vcguard/internal/atomicfile"
)

// FileName is the name of the profile Build writes.
const FileName = "vcguard.mobileconfig"

// Identifiers and keys. The preference keys are the ones the agent reads
// from its managed preferences; do not rename them.
const (
	ProfileIdentifier = "eu.vcguard.profile"
	PreferenceDomain  = "eu.vcguard.agent"

	KeyServer        = "Server"
	KeyEnrollSecret  = "EnrollSecret"
	KeyCAFingerprint = "CAFingerprint"
	KeyCACertificate = "CACertificate"
	KeyDeviceGroup   = "DeviceGroup"

	// NotifierBundleID is the app macOS files osascript's notifications
	// under: Script Editor.
	NotifierBundleID = "com.apple.ScriptEditor2"

	DaemonLabel   = "eu.vcguard.agent"
	NotifierLabel = "eu.vcguard.notifier"
)

// Placeholders written for values not given.
const (
	PlaceholderServer        = "__SERVER__"
	PlaceholderEnrollSecret  = "__ENROLL_SECRET__"
	PlaceholderCAFingerprint = "__CA_FINGERPRINT__"
	PlaceholderDeviceGroup   = "__DEVICE_GROUP__"
)

// Config is what the profile sets for the agent. Empty fields are written
// as placeholders.
type Config struct {
	// Server is the vcguard server's address, as the agent's --server
	// takes it ("vcguard.example.com:8443").
	Server string
	// EnrollSecret is the enrollment secret. Note that managed
	// preferences are readable by every local user.
	EnrollSecret string
	// CACertificatePEM is the server CA certificate (PEM); when set the
	// profile carries it as CACertificate and its SHA-256 as
	// CAFingerprint.
	CACertificatePEM string
	// CAFingerprint is the server CA's SHA-256 fingerprint in hex (colons
	// allowed), used when no certificate is given.
	CAFingerprint string
	// DeviceGroup is the group devices enroll into.
	DeviceGroup string
	// Organization is shown as the profile's organisation; "vcguard"
	// when empty.
	Organization string
}

// Validate checks the CA certificate and fingerprint when given and that
// they agree.
func (c Config) Validate() error {
	_, _, err := c.ca()
	return err
}

// ca returns the fingerprint to write (lower-case hex, "" for the
// placeholder) and the PEM to write ("" for none).
func (c Config) ca() (fp, pemText string, err error) {
	if c.CAFingerprint != "" {
		clean := strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(c.CAFingerprint))
		clean = strings.TrimPrefix(strings.ToLower(clean), "sha256=")
		if b, err := hex.DecodeString(clean); err != nil || len(b) != sha256.Size {
			return "", "", fmt.Errorf("CA fingerprint %q: want a SHA-256 fingerprint, 64 hex digits (colons allowed), as `openssl x509 -noout -fingerprint -sha256 -in ca.pem` prints it", c.CAFingerprint)
		}
		fp = clean
	}
	if c.CACertificatePEM == "" {
		return fp, "", nil
	}
	block, _ := pem.Decode([]byte(c.CACertificatePEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return "", "", fmt.Errorf("CA certificate: no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", "", fmt.Errorf("CA certificate: %w", err)
	}
	sum := sha256.Sum256(cert.Raw)
	certFP := hex.EncodeToString(sum[:])
	if fp != "" && fp != certFP {
		return "", "", fmt.Errorf("CA fingerprint %s does not match the CA certificate's %s", fp, certFP)
	}
	return certFP, c.CACertificatePEM, nil
}

// Build writes vcguard.mobileconfig into r.OutDir and returns its path.
// The file is readable only by its owner when it holds a real enrollment
// secret.
func Build(r installer.Release, cfg Config) ([]string, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("configuration profile: %w", err)
	}
	b, err := Profile(r.Version, cfg)
	if err != nil {
		return nil, fmt.Errorf("configuration profile: %w", err)
	}
	if err := os.MkdirAll(r.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("configuration profile: %w", err)
	}
	perm := os.FileMode(0o644)
	if cfg.EnrollSecret != "" {
		perm = 0o600
	}
	out := filepath.Join(r.OutDir, FileName)
	if err := atomicfile.WriteFile(out, b, perm); err != nil {
		return nil, fmt.Errorf("configuration profile: write %s: %w", out, err)
	}
	return []string{out}, nil
}

// payloadUUID is a name-based (version 5, SHA-1) UUID of name.
func payloadUUID(name string) string {
	// A fixed namespace for vcguard profiles (random, chosen once).
	ns := uuid.UUID{0x5b, 0x1f, 0x7e, 0x0c, 0x3a, 0x94, 0x4d, 0x2b, 0x9c, 0x61, 0xe4, 0x08, 0x72, 0xd5, 0xa3, 0x1e}
	return strings.ToUpper(uuid.NewSHA1(ns, []byte(name)).String())
}

func orPlaceholder(v, placeholder string) string {
	if v == "" {
		return placeholder
	}
	return v
}

// Profile returns the profile for version as an XML property list.
func Profile(version string, cfg Config) ([]byte, error) {
	fp, caPEM, err := cfg.ca()
	if err != nil {
		return nil, err
	}
	org := orPlaceholder(cfg.Organization, "vcguard")
	payload := func(suffix, typ, name string, content map[string]any) map[string]any {
		id := ProfileIdentifier + "." + suffix
		p := map[string]any{
			"PayloadType":         typ,
			"PayloadVersion":      1,
			"PayloadIdentifier":   id,
			"PayloadUUID":         payloadUUID(version + "/" + id),
			"PayloadDisplayName":  name,
			"PayloadOrganization": org,
		}
		for k, v := range content {
			p[k] = v
		}
		return p
	}

	prefs := map[string]any{
		KeyServer:        orPlaceholder(cfg.Server, PlaceholderServer),
		KeyEnrollSecret:  orPlaceholder(cfg.EnrollSecret, PlaceholderEnrollSecret),
		KeyCAFingerprint: orPlaceholder(fp, PlaceholderCAFingerprint),
		KeyDeviceGroup:   orPlaceholder(cfg.DeviceGroup, PlaceholderDeviceGroup),
	}
	if caPEM != "" {
		prefs[KeyCACertificate] = caPEM
	}
	managed := payload("agent", "com.apple.ManagedClient.preferences", "vcguard agent settings", map[string]any{
		"PayloadContent": map[string]any{
			PreferenceDomain: map[string]any{
				"Forced": []any{map[string]any{"mcx_preference_settings": prefs}},
			},
		},
	})
	notifications := payload("notifications", "com.apple.notificationsettings", "vcguard notices", map[string]any{
		"NotificationSettings": []any{map[string]any{
			// osascript's notifications are Script Editor's; this allows
			// them for every script, which is the price of having no
			// notifier app of our own yet.
			"BundleIdentifier":         NotifierBundleID,
			"NotificationsEnabled":     true,
			"AlertType":                2, // alerts stay until dismissed; banners vanish
			"ShowInLockScreen":         true,
			"ShowInNotificationCenter": true,
			"SoundsEnabled":            true,
			"BadgesEnabled":            true,
			"CriticalAlertEnabled":     false,
			"PreviewType":              0, // always show the text
		}},
	})
	services := payload("servicemanagement", "com.apple.servicemanagement", "vcguard background items", map[string]any{
		"Rules": []any{
			map[string]any{"RuleType": "Label", "RuleValue": DaemonLabel, "Comment": "vcguard agent (LaunchDaemon)"},
			map[string]any{"RuleType": "Label", "RuleValue": NotifierLabel, "Comment": "vcguard notifier (LaunchAgent)"},
		},
	})
	profile := map[string]any{
		"PayloadType":              "Configuration",
		"PayloadVersion":           1,
		"PayloadIdentifier":        ProfileIdentifier,
		"PayloadUUID":              payloadUUID(version + "/" + ProfileIdentifier),
		"PayloadDisplayName":       "vcguard",
		"PayloadDescription":       "Settings for the vcguard agent " + version + ": its server and enrollment, its notices, and its background items kept on.",
		"PayloadOrganization":      org,
		"PayloadScope":             "System",
		"PayloadRemovalDisallowed": true,
		"PayloadContent":           []any{managed, notifications, services},
	}
	var buf bytes.Buffer
	enc := plist.NewEncoderForFormat(&buf, plist.XMLFormat)
	enc.Indent("\t")
	if err := enc.Encode(profile); err != nil {
		return nil, fmt.Errorf("encode profile: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
