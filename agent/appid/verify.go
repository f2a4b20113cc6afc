package appid

import (
	"path"
	"slices"
	"strings"
)

// noIdentity is Verify's reason when the catalog gives nothing to check.
const noIdentity = "the catalog has no identity for this OS"

// Verify says whether info proves the genuine app described by c on goos,
// and why not when it does not:
//
//   - darwin: Signed and TeamID in c.TeamIDs, and BundleID in c.BundleIDs
//     when c.BundleIDs is not empty;
//   - windows: Signed and Publisher in c.Publishers (case-insensitive);
//   - linux: Package's system and name listed in c.Packages, or the path is
//     under one of c.Paths and Signed (root-owned, not writable by group or
//     others along its path).
//
// A candidate without data for goos is never verified.
func Verify(goos string, c Candidate, info Info) (ok bool, reason string) {
	switch goos {
	case "darwin":
		return verifyDarwin(c, info)
	case "windows":
		return verifyWindows(c, info)
	case "linux":
		return verifyLinux(c, info)
	}
	return false, "no identity rules for GOOS " + goos
}

func verifyDarwin(c Candidate, info Info) (bool, string) {
	if len(c.TeamIDs) == 0 && len(c.BundleIDs) == 0 {
		return false, noIdentity
	}
	switch {
	case len(c.TeamIDs) == 0 && info.Signed && info.TeamID == "" && slices.Contains(c.BundleIDs, info.BundleID) && isApplePlatformPath(info.Path):
		// Apple's own apps (FaceTime, Safari) carry no team id: the
		// inspector checked them against "anchor apple", which only
		// Apple's platform signature satisfies.
		return true, ""
	case len(c.TeamIDs) == 0:
		return false, "the catalog lists no signing team id for this app"
	case !info.Signed:
		return false, withInfoReason("the code signature is not valid", info)
	case info.TeamID == "":
		return false, withInfoReason("the code signature has no team id", info)
	case !slices.Contains(c.TeamIDs, info.TeamID):
		return false, "signed by team " + info.TeamID + ", expected " + strings.Join(c.TeamIDs, " or ")
	case len(c.BundleIDs) > 0 && !slices.Contains(c.BundleIDs, info.BundleID):
		if info.BundleID == "" {
			return false, withInfoReason("no bundle identifier found", info)
		}
		return false, "bundle identifier " + info.BundleID + " is not the app's (" + strings.Join(c.BundleIDs, ", ") + ")"
	}
	return true, ""
}

func verifyWindows(c Candidate, info Info) (bool, string) {
	if len(c.Publishers) == 0 && len(c.PackageFamilies) == 0 {
		return false, noIdentity
	}
	if family, ok := StorePackageFamily(info.Path); ok {
		// Only the system's deployment service writes under WindowsApps
		// (its ACL grants users read and execute only), and it installs a
		// package only when the package's signature verifies: the folder
		// names a genuine package of that family. The executables inside a
		// Store package need not carry an Authenticode signature of their
		// own.
		for _, f := range c.PackageFamilies {
			if strings.EqualFold(f, family) {
				return true, ""
			}
		}
		if len(c.Publishers) == 0 {
			return false, "Store package " + family + " is not the app's (" + strings.Join(c.PackageFamilies, ", ") + ")"
		}
	}
	if len(c.Publishers) == 0 {
		return false, "not installed from the Store package " + strings.Join(c.PackageFamilies, " or ")
	}
	if !info.Signed {
		return false, withInfoReason("the Authenticode signature is not valid", info)
	}
	if info.Publisher == "" {
		return false, withInfoReason("the signer has no organisation or common name", info)
	}
	for _, p := range c.Publishers {
		if strings.EqualFold(strings.TrimSpace(p), strings.TrimSpace(info.Publisher)) {
			return true, ""
		}
	}
	return false, "signed by " + info.Publisher + ", expected " + strings.Join(c.Publishers, " or ")
}

func verifyLinux(c Candidate, info Info) (bool, string) {
	hasPackages := false
	for _, names := range c.Packages {
		if len(names) > 0 {
			hasPackages = true
		}
	}
	if !hasPackages && len(c.Paths) == 0 {
		return false, noIdentity
	}
	if sys, name, ok := strings.Cut(info.Package, ":"); ok && slices.Contains(c.Packages[sys], name) {
		return true, ""
	}
	under := ""
	for _, p := range c.Paths {
		if pathUnder(info.Path, p) {
			under = p
			break
		}
	}
	switch {
	case under != "" && info.Signed:
		return true, ""
	case under != "":
		return false, withInfoReason(info.Path+" is under "+under+" but not protected (root-owned, not writable by group or others)", info)
	case info.Package != "":
		return false, "owned by " + info.Package + ", which is not one of the app's packages"
	}
	return false, withInfoReason("not owned by one of the app's packages and not under its install paths", info)
}

// pathUnder says whether p is dir or inside it (both cleaned; a trailing slash
// on dir does not matter). Relative paths are never under anything.
func pathUnder(p, dir string) bool {
	if !strings.HasPrefix(p, "/") || !strings.HasPrefix(dir, "/") {
		return false
	}
	p, dir = path.Clean(p), path.Clean(dir)
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// StorePackageFamily returns the package family name (Name_PublisherId) of
// a Microsoft Store app's executable from its path, which lies in the
// package's folder under the system's WindowsApps folder:
// C:\Program Files\WindowsApps\<Name>_<Version>_<Arch>_<ResourceId>_<PublisherId>\...
// The resource id is often empty. Windows derives the folder name from the
// package identity the same way on every version since 8, and does not
// document an API that does it for a path (GetPackageFamilyName needs a
// handle to the process, which the inspection here does not hold), so it
// is parsed by hand.
func StorePackageFamily(exe string) (string, bool) {
	p := strings.ReplaceAll(exe, "/", `\`)
	root := strings.ToLower(windowsAppsRoot)
	if len(p) <= len(root) || strings.ToLower(p[:len(root)]) != root {
		return "", false
	}
	folder, rest, ok := strings.Cut(p[len(root):], `\`)
	if !ok || rest == "" {
		return "", false
	}
	parts := strings.Split(folder, "_")
	if len(parts) != 5 {
		return "", false
	}
	name, version, arch, publisher := parts[0], parts[1], parts[2], parts[4]
	if len(name) < 3 || len(name) > 50 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != "" {
		return "", false
	}
	if version == "" || strings.Trim(version, "0123456789.") != "" || strings.Count(version, ".") != 3 {
		return "", false
	}
	switch strings.ToLower(arch) {
	case "x86", "x64", "arm", "arm64", "neutral":
	default:
		return "", false
	}
	if len(publisher) != 13 || strings.Trim(publisher, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return "", false
	}
	return name + "_" + publisher, true
}

// windowsAppsRoot is the folder Windows installs Store packages in, with
// a trailing separator. Packages moved to another drive by the user live
// in <drive>:\WindowsApps and are not recognised.
var windowsAppsRoot = `C:\Program Files\WindowsApps\`

func withInfoReason(s string, info Info) string {
	if info.Reason == "" {
		return s
	}
	return s + " (" + info.Reason + ")"
}

// isApplePlatformPath reports whether exe is where Apple installs its own
// apps: the sealed system volume, and Safari (which lives in /Applications).
func isApplePlatformPath(exe string) bool {
	return pathUnder(exe, "/System") || pathUnder(exe, "/Applications/Safari.app")
}
