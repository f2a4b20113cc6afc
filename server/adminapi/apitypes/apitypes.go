// Package apitypes are the JSON forms of the admin API (/api/v1/): what
// the server answers and vcguardctl and integrations read. It imports no
// server package, so a client links nothing of the server.
package apitypes

import (
	"encoding/json"
	"time"
)

// Device is a device in the JSON API.
type Device struct {
	ID            string    `json:"id"`
	Hostname      string    `json:"hostname"`
	OS            string    `json:"os"`
	OSVersion     string    `json:"os_version"`
	Arch          string    `json:"arch"`
	AgentVersion  string    `json:"agent_version"`
	Enrolled      time.Time `json:"enrolled"`
	LastSeen      time.Time `json:"last_seen"`
	Online        bool      `json:"online"`
	PolicyVersion uint64    `json:"policy_version"`
	// CatalogVersion is the catalog version the agent reported it uses (0:
	// not reported, an agent older than catalog updates).
	CatalogVersion uint64 `json:"catalog_version"`
	// Group is the device group from the enrollment secret; "" for none.
	Group string `json:"group"`
	// Revoked is when the device was revoked; absent while it is not.
	Revoked *time.Time `json:"revoked,omitempty"`
	// Apps are its app instances, running first: at most 500
	// (apps_truncated says some were left out, apps_total counts all).
	Apps []App `json:"apps"`
	// Media are the cameras and microphones in use now: at most 100.
	Media          []Media `json:"media"`
	AppsTotal      int     `json:"apps_total"`
	AppsTruncated  bool    `json:"apps_truncated"`
	MediaTotal     int     `json:"media_total"`
	MediaTruncated bool    `json:"media_truncated"`
	// EventsStored counts the device's stored events (set by
	// GET /api/v1/devices/{id}).
	EventsStored int64 `json:"events_stored"`
}

// App is an app instance in the JSON API.
type App struct {
	AppID   string `json:"app_id"`
	Name    string `json:"name"`
	PID     int32  `json:"pid"`
	Running bool   `json:"running"`
	Verdict string `json:"verdict"`
	Exe     string `json:"exe"`
	// Version is "unknown" when the agent could not read it.
	Version  string     `json:"version"`
	Verified bool       `json:"verified"`
	Identity string     `json:"identity"`
	Started  time.Time  `json:"started"`
	Stopped  *time.Time `json:"stopped,omitempty"`
}

// Media is a camera or microphone in use, in the JSON API.
type Media struct {
	Kind     string    `json:"kind"` // camera or microphone
	PID      int32     `json:"pid"`
	Process  string    `json:"process"`
	AppID    string    `json:"app_id"` // "" for a process of no catalog app
	Category string    `json:"category,omitempty"`
	Device   string    `json:"device"`
	Source   string    `json:"source"`
	Session  string    `json:"session,omitempty"`
	Since    time.Time `json:"since"`
}

// DeviceSummary is a device in the device list: its facts and counts,
// not its app and media rows (GET /api/v1/devices/{id} has those).
type DeviceSummary struct {
	ID            string     `json:"id"`
	Hostname      string     `json:"hostname"`
	OS            string     `json:"os"`
	OSVersion     string     `json:"os_version"`
	Arch          string     `json:"arch"`
	AgentVersion  string     `json:"agent_version"`
	Enrolled      time.Time  `json:"enrolled"`
	LastSeen      time.Time  `json:"last_seen"`
	Online        bool       `json:"online"`
	Stale         bool       `json:"stale"`
	PolicyVersion uint64     `json:"policy_version"`
	Group         string     `json:"group"`
	Revoked       *time.Time `json:"revoked,omitempty"`
	// RunningApps counts the running app instances; MediaInUse the
	// cameras and microphones in use.
	RunningApps int `json:"running_apps"`
	MediaInUse  int `json:"media_in_use"`
	// WorstVerdict is the worst verdict of a running app; absent with
	// none running.
	WorstVerdict string `json:"worst_verdict,omitempty"`
	// Running names at most 10 distinct running apps, worst first.
	Running []RunningApp `json:"running"`
}

// RunningApp is a running catalog app in a device list.
type RunningApp struct {
	AppID string `json:"app_id"`
	Name  string `json:"name"`
	// Verdict is the worst verdict of its running instances.
	Verdict string `json:"verdict"`
	// Instances is how many of its processes run.
	Instances int `json:"instances"`
}

// DevicePage is a page of the device list.
type DevicePage struct {
	Devices    []json.RawMessage `json:"devices"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// Event is an event in the JSON API.
type Event struct {
	Type     string          `json:"type"`
	DeviceID string          `json:"device_id"`
	Seq      uint64          `json:"seq"`
	Time     time.Time       `json:"time"`
	Received time.Time       `json:"received"`
	PID      int32           `json:"pid,omitempty"`
	Process  string          `json:"process,omitempty"`
	AppID    string          `json:"app_id,omitempty"`
	Detail   json.RawMessage `json:"detail"`
	// DetailTruncated is set when the detail was larger than
	// MaxEventDetailBytes and is left out (null).
	DetailTruncated bool `json:"detail_truncated,omitempty"`
}

// EventPage is a page of the event list.
type EventPage struct {
	Events     []json.RawMessage `json:"events"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// Policy is a policy version in the JSON API.
type Policy struct {
	Version     uint64    `json:"version"`
	Name        string    `json:"name"`
	Published   time.Time `json:"published"`
	PublishedBy string    `json:"published_by"`
	// Comment is the publisher's reason for the change ("" for versions
	// published before comments were required).
	Comment  string `json:"comment"`
	Document string `json:"document,omitempty"`
	// Applied counts the enrolled devices (not revoked) that applied this
	// version or a newer one, of Total; OnVersion those whose newest
	// applied version is exactly this one.
	Applied   int `json:"applied"`
	Total     int `json:"total"`
	OnVersion int `json:"on_version"`
}

// Catalog is a published catalog version (POST /api/v1/catalogs answers
// with it; GET /api/v1/catalogs lists them, newest first).
type Catalog struct {
	Version     uint64    `json:"version"`
	Apps        int       `json:"apps"`
	Published   time.Time `json:"published"`
	PublishedBy string    `json:"published_by"`
}

// PolicyDiff is a unified diff between two policy versions.
type PolicyDiff struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	Diff string `json:"diff"`
}

// Secret is an enrollment secret in the JSON API (never its value,
// except once on creation).
type Secret struct {
	ID          string     `json:"id"`
	Description string     `json:"description"`
	Created     time.Time  `json:"created"`
	Expires     *time.Time `json:"expires,omitempty"`
	Revoked     *time.Time `json:"revoked,omitempty"`
	// Group is the device group of the devices it enrolls; "" for none.
	Group string `json:"group"`
	// MaxUses is how many devices may enroll with it (0: no limit); Uses
	// how many have.
	MaxUses int64  `json:"max_uses"`
	Uses    int64  `json:"uses"`
	Value   string `json:"value,omitempty"`
}

// Enrollment secret limits: a secret lasts DefaultSecretTTL unless its
// creator asks for another lifetime, at most MaxSecretTTL (a secret that
// never expires is not offered: a leaked one would let anyone enroll for
// ever); its use limit is at most MaxSecretUses (0: none).
const (
	DefaultSecretTTL = 7 * 24 * time.Hour
	MaxSecretTTL     = 366 * 24 * time.Hour
	MaxSecretUses    = 1_000_000
)

// Token is an API token in the JSON API (its value only once, on
// creation).
type Token struct {
	ID          string     `json:"id"`
	Description string     `json:"description"`
	Role        string     `json:"role"`
	Created     time.Time  `json:"created"`
	Revoked     *time.Time `json:"revoked,omitempty"`
	// Owner is the account that made the token ("" for tokens made by the
	// server or before owners were recorded).
	Owner string `json:"owner,omitempty"`
	// Expires is when the token stops working (absent: never, only tokens
	// made before expiry was required).
	Expires *time.Time `json:"expires,omitempty"`
	// LastUsed is the last use, to the minute (absent: never used).
	LastUsed *time.Time `json:"last_used,omitempty"`
	Value    string     `json:"value,omitempty"`
}

// Admin is an administrator account in the JSON API (never its
// password hash or TOTP secret; the password and otpauth URL only once, on
// creation or reset).
type Admin struct {
	Username  string     `json:"username"`
	Role      string     `json:"role"`
	Created   time.Time  `json:"created"`
	Disabled  *time.Time `json:"disabled,omitempty"`
	LastLogin *time.Time `json:"last_login,omitempty"`
	Password  string     `json:"password,omitempty"`
	TOTPURL   string     `json:"otpauth_url,omitempty"`
	// Pending is set while the account waits for its invite to be used:
	// it cannot log in yet.
	Pending bool `json:"pending,omitempty"`
	// InviteURL is the one-time link that sets the account up (password
	// and authenticator app), shown once, when an account is created or
	// reset; InviteExpires is when the link stops working.
	InviteURL     string     `json:"invite_url,omitempty"`
	InviteExpires *time.Time `json:"invite_expires,omitempty"`
}

// AuditEntry is an audit log entry in the JSON API.
type AuditEntry struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	Target     string          `json:"target"`
	Detail     json.RawMessage `json:"detail"`
	RemoteAddr string          `json:"remote_addr"`
}

// AuditPage is a page of the audit log.
type AuditPage struct {
	Entries    []json.RawMessage `json:"entries"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// AppConnections is one meeting app's servers and accounts across the
// fleet (GET /api/v1/connections): what the devices' latest app_connection
// reports say the app is set up for.
type AppConnections struct {
	AppID string `json:"app_id"`
	// Name is the catalog's name of the app ("" when the catalog does not
	// know it).
	Name string `json:"name"`
	// Devices reporting the app's setup; Unreadable: of those, the ones
	// whose configuration could not be read.
	Devices    int       `json:"devices"`
	Unreadable int       `json:"unreadable"`
	Latest     time.Time `json:"latest"`
	// Servers and Accounts, those the policy finds wrong and those on most
	// devices first.
	Servers  []ConnectionServer  `json:"servers"`
	Accounts []ConnectionAccount `json:"accounts"`
	// Truncated is set when servers and accounts were left out (at most
	// 50 per app); EntriesTotal counts them all.
	Truncated    bool `json:"truncated,omitempty"`
	EntriesTotal int  `json:"entries_total"`
}

// ConnectionServer is a server host an app is set up for.
type ConnectionServer struct {
	Host string `json:"host"`
	// Devices set up for it; WrongServer: on how many of them the policy
	// found it not allowed (a wrong_server finding).
	Devices     int `json:"devices"`
	WrongServer int `json:"wrong_server"`
	// Allowed is false when any device's policy found it wrong.
	Allowed bool `json:"allowed"`
	// Action is the strongest action taken on it (monitor, warn, block);
	// absent when allowed.
	Action string `json:"action,omitempty"`
}

// ConnectionAccount is a kind of account, by login domain and tenant, an
// app is signed in with.
type ConnectionAccount struct {
	// Kind is work, personal or unknown.
	Kind string `json:"kind"`
	// Domain and Tenant identify the organisation; both "" when the app
	// does not say.
	Domain string `json:"domain,omitempty"`
	Tenant string `json:"tenant,omitempty"`
	// Devices signed in with it; PersonalAccount: on how many of them the
	// policy found it not the organisation's (a personal_account finding).
	Devices         int    `json:"devices"`
	PersonalAccount int    `json:"personal_account"`
	Allowed         bool   `json:"allowed"`
	Action          string `json:"action,omitempty"`
}

// BrowserMeetings counts the calls in a browser the agents reported
// (browser_meeting events) since a time (GET /api/v1/browser-meetings).
type BrowserMeetings struct {
	Since time.Time `json:"since"`
	// Events counted, and the devices they came from.
	Events  int `json:"events"`
	Devices int `json:"devices"`
	// Services are the catalog meeting services the browsers let use the
	// camera or microphone, by app id and verdict, most events first.
	Services []BrowserService `json:"services"`
	// Kinds counts the events by finding: approved_site, unapproved_site,
	// unknown_site, no_site.
	Kinds []BrowserMeetingKind `json:"kinds"`
	// OwnSites and OtherSites count the events (and their devices) where
	// the organisation's own allowed origins, or other sites, had the
	// permission; Sites totals the other sites' numbers those events
	// reported.
	OwnSites   BrowserSiteCount `json:"own_sites"`
	OtherSites BrowserSiteCount `json:"other_sites"`
	// Truncated is set when more events were stored than were counted
	// (at most 200,000) or services were left out (at most 100).
	Truncated bool `json:"truncated,omitempty"`
}

// BrowserService is a catalog meeting service used in browsers.
type BrowserService struct {
	AppID   string `json:"app_id"`
	Name    string `json:"name"`
	Verdict string `json:"verdict"`
	Events  int    `json:"events"`
	Devices int    `json:"devices"`
}

// BrowserMeetingKind counts browser_meeting events of one finding kind.
type BrowserMeetingKind struct {
	Kind    string `json:"kind"`
	Events  int    `json:"events"`
	Devices int    `json:"devices"`
}

// BrowserSiteCount counts events and devices, and the sites the events
// reported (summed over the events).
type BrowserSiteCount struct {
	Events  int `json:"events"`
	Devices int `json:"devices"`
	Sites   int `json:"sites"`
}
