// Package browserpolicy makes the browsers enforce the organisation's
// camera, microphone and screen-capture rules through their managed
// (mandatory) policies, and removes exactly what it wrote when the rules
// go.
//
// Given a Spec (the origins that may use the camera and microphone, and
// whether screen capture is blocked), Writer.Apply writes:
//
// Chromium family (Chrome, Chromium, Edge, Brave):
//   - VideoCaptureAllowed = false and AudioCaptureAllowed = false: no
//     prompts; only the listed URLs get the device;
//   - VideoCaptureAllowedUrls and AudioCaptureAllowedUrls = the origins;
//   - ScreenCaptureAllowed = false, only when screen capture is blocked.
//
// Sources: https://chromeenterprise.google/policies/ (the entries of those
// names; URL pattern format https://chromeenterprise.google/policies/url-patterns/),
// https://learn.microsoft.com/en-us/deployedge/microsoft-edge-policies
// (Edge uses the same names and types),
// https://support.brave.app/hc/en-us/articles/360039248271-Group-Policy
// (Brave takes Chromium's policies).
//
// Firefox: the Permissions policy with Camera and Microphone set to
// {Allow: origins, BlockNewRequests: true, Locked: true}, and ScreenShare
// {BlockNewRequests: true, Locked: true} when screen capture is blocked
// (Firefox 142+, ESR 140.2+). Source:
// https://mozilla.github.io/policy-templates/#permissions (the
// documentation in github.com/mozilla/policy-templates docs/index.md), and
// Firefox's Policies.sys.mjs: BlockNewRequests sets
// permissions.default.camera (microphone, screen) to 2, deny.
//
// Where, per operating system (DefaultTargets):
//
//   - Linux: a file of vcguard's own, vcguard.json, in each managed-policy
//     directory: /etc/opt/chrome/policies/managed, /etc/chromium/policies/managed,
//     /etc/opt/edge/policies/managed, /etc/brave/policies/managed. The
//     browsers merge every file of the directory, so the others are never
//     touched. Firefox reads one system-wide file,
//     /etc/firefox/policies/policies.json (Debian's firefox-esr too, proven
//     in firefox_linux_test.go): vcguard writes it only when it does not
//     exist or is vcguard's; otherwise the target is skipped and the report
//     says what IT should add to it.
//   - Windows: values under HKEY_LOCAL_MACHINE\SOFTWARE\Policies\
//     {Google\Chrome, Chromium, Microsoft\Edge, BraveSoftware\Brave}
//     (booleans as REG_DWORD, lists as subkeys with values "1", "2", ...)
//     and ...\Mozilla\Firefox\Permissions\{Camera,Microphone,ScreenShare}
//     (Allow subkey list, BlockNewRequests and Locked REG_DWORD). These keys
//     are shared with Group Policy: vcguard writes a browser's values only
//     when none of them exists unless vcguard wrote it.
//   - macOS: nothing. Managed preferences come only from configuration
//     profiles; Apply reports each browser skipped, and Mobileconfig builds
//     the profile (one com.apple.ManagedClient.preferences payload each for
//     com.google.Chrome, org.chromium.Chromium, com.microsoft.Edge,
//     com.brave.Browser and org.mozilla.firefox) for the MDM to install.
//
// What is never touched: a file, directory or registry value vcguard did
// not write. The manifest (ManifestName in the agent's state directory,
// mode 0600) records, per target, each path written with the SHA-256 of
// its content, and each directory or key vcguard created. A shared place
// (Firefox's policies.json, the registry values) that exists and is not
// recorded, or that someone changed since vcguard wrote it, makes the
// whole target skipped: vcguard neither overwrites nor removes it. A file
// of vcguard's own (vcguard.json) that someone changed or deleted is
// rewritten and reported in Report.Restored. Symbolic links (the file or
// any directory above it) and directories that others may write are
// refused.
//
// Removal: Apply(nil), or a target dropped from the configuration, removes
// every recorded file or value whose content is still what vcguard wrote,
// then each directory or key vcguard created that is now empty (the deepest
// first); a directory someone else put files into stays, recorded, and goes
// once it is empty. Registry flags go before their lists on removal, and
// lists are written before flags, so a browser reading meanwhile never sees
// the device forbidden to every site by accident.
//
// Writes go through internal/atomicfile; the manifest records what is about
// to be written before it is, keeping the previous content as pending, so a
// crash between the two never makes vcguard mistake its own file for
// someone else's.
package browserpolicy
