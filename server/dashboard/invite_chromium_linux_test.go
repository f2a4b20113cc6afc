package dashboard_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	adminsvc "github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

// A person follows an invite link in a real browser at a phone's width:
// the page shows a QR code (an SVG drawn on the server) and the secret,
// fits the screen, takes a password and a code computed from the secret
// shown, and then the person logs in with them.
func TestInviteInChromium(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e, _ := accountEnv(t)
	inv, err := e.te.Service.InviteAdmin(t.Context(), adminsvc.SystemActor, "carol", store.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("ignore-certificate-errors", true), // httptest's own certificate
		chromedp.NoSandbox,                               // CI runs as root
		chromedp.UserDataDir(t.TempDir()),
	)...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)

	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(e.srv.URL+adminsvc.InvitePath(inv.Token)),
		chromedp.WaitVisible(chromedp.CSS("#invite-qr svg")),
	); err != nil {
		t.Fatalf("open the invite link: %v", err)
	}
	qrWidth, err1 := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("#invite-qr svg").getBoundingClientRect().width`))
	modules, err2 := chromedp.Run(ctx, chromedp.Evaluate[int](`(document.querySelector("#invite-qr svg path").getAttribute("d").match(/M/g) || []).length`))
	shown, err3 := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("invite-secret").textContent`))
	scrollWidth, err4 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	if qrWidth < 200 || modules < 200 {
		t.Errorf("QR code %.0f px wide with %d dark modules; want a scannable code", qrWidth, modules)
	}
	if scrollWidth > 390 {
		t.Errorf("the invite page is %d px wide at 390 px", scrollWidth)
	}
	secret := strings.ReplaceAll(shown, " ", "")
	if stored, _ := e.store.AdminByUsername(t.Context(), "carol"); stored.TOTPSecret != secret {
		t.Fatalf("the page shows the secret %q, not the account's", shown)
	}
	code, err := auth.TOTPCode(secret, e.clock())
	if err != nil {
		t.Fatal(err)
	}
	const pw = "a password chosen by carol"
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.SendKeys(chromedp.ID("password2"), pw),
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS(`#invite-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("invite-done")),
	); err != nil {
		t.Fatalf("set up the account: %v", err)
	}

	// The code that confirmed the enrolment is used; log in with the next.
	e.advance(30 * time.Second)
	code, err = auth.TOTPCode(secret, e.clock())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("to-login")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "carol"),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS(`.login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("account-link")),
	); err != nil {
		t.Fatalf("log in after the invite: %v", err)
	}
	who, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("account-link").textContent`))
	if err != nil || who != "carol (analyst)" {
		t.Errorf("logged in as %q, %v; want carol (analyst)", who, err)
	}

	// Her account pages fit a phone's width too, a new token included.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/account/tokens"),
		chromedp.WaitVisible(chromedp.ID("token-form")),
		chromedp.SendKeys(chromedp.ID("token-description"), "grafana dashboards"),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("token-value")),
	); err != nil {
		t.Fatalf("create a token: %v", err)
	}
	for _, path := range []string{"", "/account"} {
		if path != "" {
			if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		scrollWidth, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if scrollWidth > 390 {
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")]
				.filter(e => e.getBoundingClientRect().right > window.innerWidth)
				.slice(0, 10).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right) + "px").join(", ")`))
			t.Errorf("%s is %d px wide at 390 px; too wide: %s", path, scrollWidth, wide)
		}
	}
}

// An admin invites an account at a phone's width: the form defaults to the
// least privileged role, and the page with the invite link fits.
func TestAdminsInviteNarrow(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e, _ := accountEnv(t)
	ctx := phoneBrowser(t, e, chromium, e.accounts[store.RoleAdmin], 90*time.Second)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/admins"),
		chromedp.WaitVisible(chromedp.ID("admin-form")),
	); err != nil {
		t.Fatal(err)
	}
	role, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("role").value`))
	if err != nil || role != "auditor" {
		t.Errorf("the role picker starts at %q, %v; want auditor", role, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), "frank.longer-name@example.org"),
		chromedp.Click(chromedp.CSS(`#admin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("admin-invite")),
	); err != nil {
		t.Fatalf("invite: %v", err)
	}
	link, err1 := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("admin-invite").textContent`))
	scrollWidth, err2 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, e.srv.URL+"/invite/"+auth.InvitePrefix) {
		t.Errorf("invite link %q", link)
	}
	if a, err := e.store.AdminByUsername(t.Context(), "frank.longer-name@example.org"); err != nil || a.Role != store.RoleAuditor || !a.Pending() {
		t.Errorf("invited account %+v, %v; want a pending auditor", a, err)
	}
	if scrollWidth > 390 {
		wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")]
			.filter(e => e.getBoundingClientRect().right > window.innerWidth)
			.slice(0, 10).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right) + "px").join(", ")`))
		t.Errorf("/admins is %d px wide at 390 px; too wide: %s", scrollWidth, wide)
	}
}
