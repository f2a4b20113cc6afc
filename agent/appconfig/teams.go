package appconfig

import (
	"errors"
	"strings"
)

// Classic Microsoft Teams (the Electron client, catalog
// microsoft-teams-classic) writes desktop-config.json in its userData
// directory: %APPDATA%\Microsoft\Teams on Windows, ~/Library/Application
// Support/Microsoft/Teams on macOS and ~/.config/Microsoft/Microsoft Teams
// on Linux. Microsoft does not document the file; what is read here is
// what the client writes for a signed-in user, as seen in a recorded file
// (testdata/microsoft-teams-classic/README.md) and in administrators'
// scripts that reset or read it (fields upnWindowUserUpn, userUpn, userOid,
// userTid, homeTenantId, isLoggedOut), e.g. UcLobbyTeams
// Get-UcTeamsVersion and the itnator.net description of the file:
//
//	userTid, homeTenantId   tenant id of the signed-in user
//	guestTenantId           tenant the user is a guest in, if any
//	upnWindowUserUpn/userUpn the sign-in name (only its domain is kept)
//	userAccounts.<tid>.<oid>.{accountType, userName, isSignedIn, profile.tid}
//	isPersonalAccount       true for a personal Microsoft account
//	isLoggedOut             true after sign-out
//
// A tenant id equal to ConsumerTenantID, or isPersonalAccount, makes the
// account personal; any other tenant id makes it a work account.
//
// The new Teams (catalog microsoft-teams) is not read: where it keeps its
// account is neither documented nor available as a recorded file, and
// vcguard does not guess. What was found (issue 15 research):
//
//   - %LOCALAPPDATA%\Publishers\8wekyb3d8bbwe\TeamsSharedConfig\tma_settings.json:
//     Microsoft's VDI documentation for the new Teams only lists it among
//     the files a roaming profile must keep. Administrators' scripts
//     (UcLobbyTeams Get-UcTeamsVersion) read primary_user.accounts
//     .account_id, .account_upn and .cloud and tma_ecs_settings.<account
//     id>.ring/.environment from it; those fields carry no tenant id or account
//     kind, and whether account_upn is one account or a list, and what else
//     the file holds, is unknown: no recorded file was found in public
//     repositories, issue threads or forensic write-ups.
//   - The WebView2 profiles under %LOCALAPPDATA%\Packages\MSTeams_8wekyb3d8bbwe\
//     LocalCache\Microsoft\MSTeams\EBWebView (macOS:
//     ~/Library/Containers/com.microsoft.teams2/Data/Library/Application
//     Support/Microsoft/MSTeams/EBWebView): third-party tools agree that
//     the client keeps one profile per account type, WV2Profile_tfw for
//     work or school and WV2Profile_tfl for a personal account. Microsoft
//     does not document this, nothing says whether a profile folder is
//     removed at sign-out (a folder could be left from an account used
//     once), and the account inside is IndexedDB written by a web app whose
//     schema is undocumented; so a folder is no evidence of a signed-in
//     personal account, and the IndexedDB is not decoded.
//   - HKCU\Software\Microsoft\Office\16.0\Common\Identity\Identities
//     (EmailAddress, ProviderId) is Office's sign-in cache, not Teams';
//     Microsoft documents it only as a cache to delete.
const teamsClassicKind = "Teams desktop-config.json"

func teamsClassicReader() Reader {
	return appReader{id: "microsoft-teams-classic", sources: []fileSource{{
		kind: teamsClassicKind,
		paths: osPaths{
			Linux:   []string{".config/Microsoft/Microsoft Teams/desktop-config.json"},
			Windows: []string{"AppData/Roaming/Microsoft/Teams/desktop-config.json"},
			Darwin:  []string{"Library/Application Support/Microsoft/Teams/desktop-config.json"},
		},
		read: configFile(parseTeamsDesktopConfig),
	}}}
}

// parseTeamsDesktopConfig returns the accounts signed in to classic Teams.
func parseTeamsDesktopConfig(b []byte) (Connection, error) {
	var cfg struct {
		UpnWindowUserUpn  string `json:"upnWindowUserUpn"`
		UserUpn           string `json:"userUpn"`
		UserTid           string `json:"userTid"`
		HomeTenantID      string `json:"homeTenantId"`
		GuestTenantID     string `json:"guestTenantId"`
		IsPersonalAccount bool   `json:"isPersonalAccount"`
		IsLoggedOut       bool   `json:"isLoggedOut"`
		UserAccounts      map[string]struct {
			UserName    string `json:"userName"`
			AccountType string `json:"accountType"`
			IsSignedIn  *bool  `json:"isSignedIn"`
			Profile     struct {
				Tid string `json:"tid"`
			} `json:"profile"`
		} `json:"userAccounts"`
	}
	if err := decodeJSON(teamsClassicKind, b, &cfg); err != nil {
		return Connection{}, err
	}
	c := Connection{AppID: "microsoft-teams-classic", Source: teamsClassicKind}
	if cfg.IsLoggedOut {
		return c, nil
	}
	name := cfg.UserUpn
	if name == "" {
		name = cfg.UpnWindowUserUpn
	}
	tenant := cfg.UserTid
	if tenant == "" {
		tenant = cfg.HomeTenantID
	}
	if tenant != "" || name != "" {
		a, err := teamsAccount(tenant, name, cfg.IsPersonalAccount, "userTid")
		if err != nil {
			return Connection{}, err
		}
		c.Accounts = append(c.Accounts, a)
	}
	if cfg.GuestTenantID != "" {
		a, err := teamsAccount(cfg.GuestTenantID, name, cfg.IsPersonalAccount, "guestTenantId")
		if err != nil {
			return Connection{}, err
		}
		c.Accounts = append(c.Accounts, a)
	}
	for key, ua := range cfg.UserAccounts {
		if ua.IsSignedIn != nil && !*ua.IsSignedIn {
			continue
		}
		tid := ua.Profile.Tid
		if tid == "" {
			// The map key is "<tenant id>.<object id>".
			tid, _, _ = strings.Cut(key, ".")
		}
		personal := cfg.IsPersonalAccount || strings.EqualFold(ua.AccountType, "MSA")
		a, err := teamsAccount(tid, ua.UserName, personal, "userAccounts."+key)
		if err != nil {
			return Connection{}, err
		}
		c.Accounts = append(c.Accounts, a)
	}
	return normalize(c), nil
}

// teamsAccount builds an account from a tenant id and a sign-in name.
func teamsAccount(tenant, name string, personal bool, field string) (Account, error) {
	a := Account{Kind: KindUnknown}
	if tenant != "" {
		t, err := cleanTenantID(tenant)
		if err != nil {
			return Account{}, &FormatError{Kind: teamsClassicKind, Field: field, Err: err}
		}
		a.Tenant = t
		a.Kind = KindWork
		if t == ConsumerTenantID {
			a.Kind = KindPersonal
		}
	}
	if personal {
		a.Kind = KindPersonal
	}
	if name != "" {
		d, err := domainOfAddress(name)
		if err != nil {
			return Account{}, &FormatError{Kind: teamsClassicKind, Field: field + " user name", Err: err}
		}
		a.Domain = d
	}
	return a, nil
}

// cleanTenantID checks that a tenant id is a GUID and lower-cases it.
func cleanTenantID(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 36 {
		return "", errors.New("tenant id is not a GUID")
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", errors.New("tenant id is not a GUID")
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return "", errors.New("tenant id is not a GUID")
			}
		}
	}
	return s, nil
}
