package dashboard_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// An administrator signs in through the provider in a real browser: the
// provider is another site (localhost against the dashboard's 127.0.0.1),
// so the way back is a cross-site navigation, and the pending sign-in's
// SameSite=Lax cookie must come along while the session's SameSite=Strict
// one must be sent on the step after. Then the header names the person
// with the mapped role.
func TestOIDCSignInChromium(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e := newEnv(t)
	p := newIdPAt(t, e.srv.URL+"/oidc/callback", true)
	e.withOIDC(t, p, nil)
	p.storage.setGroups("sub-ann", "vcguard-analysts")

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
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("oidc-login")),
		chromedp.Click(chromedp.ID("oidc-login")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "ann"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("account-link")),
	); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " " + document.body.innerText.slice(0, 300)`))
		t.Fatalf("sign in through the provider: %v (at %s)", err, loc)
	}
	who, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("account-link").textContent`))
	if err != nil || who != "oidc:ann@example.com (analyst)" {
		t.Errorf("signed in as %q, %v; want oidc:ann@example.com (analyst)", who, err)
	}
	path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || path != "/" {
		t.Errorf("after signing in at %q, %v; want /", path, err)
	}
}
