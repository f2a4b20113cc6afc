package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/store"
)

// Debian's Chromium runs on Linux only; the Windows lane has none.

// chromiumPath finds a Chromium to drive; without one the test is skipped,
// or fails when VCGUARD_REQUIRE_CHROMIUM=1.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no chromium in PATH: install it (apt-get install chromium)"
	if os.Getenv("VCGUARD_REQUIRE_CHROMIUM") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// phoneBrowser starts a headless Chromium at a phone's width (390 by 844
// CSS pixels), logs in to e's dashboard as a, and returns its context,
// which ends after timeout or with the test.
func phoneBrowser(t *testing.T, e *env, chromium string, a adminapitest.Account, timeout time.Duration) context.Context {
	t.Helper()
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
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), a.Username),
		chromedp.SendKeys(chromedp.ID("password"), a.Password),
		chromedp.SendKeys(chromedp.ID("code"), e.code(t, a)),
		chromedp.Click(chromedp.CSS(`.login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("detections-chart")),
	); err != nil {
		t.Fatalf("log in with chromium: %v", err)
	}
	return ctx
}

// At a phone's width (390 CSS pixels) the connections page and the device
// page fit: nothing makes the page scroll sideways (a wide table scrolls in
// its own box), and the highlighted rows are drawn highlighted.
func TestConnectionsPageNarrow(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e := newEnv(t)
	ingestConnections(t, e)
	a := e.accounts[store.RoleAnalyst]

	ctx := phoneBrowser(t, e, chromium, a, 90*time.Second)
	for _, path := range []string{"/apps/connections", "/devices/dev-1"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("tr.flagged"))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		title, err1 := chromedp.Run(ctx, chromedp.Title())
		scrollWidth, err2 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		innerWidth, err3 := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
		flaggedBackground, err4 := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("tr.flagged")).backgroundColor`))
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if strings.Contains(title, "Log in") {
			t.Fatalf("%s: the browser was sent to the login page", path)
		}
		if innerWidth != 390 || scrollWidth > innerWidth {
			// Name what sticks out, outermost first.
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")]
				.filter(e => e.getBoundingClientRect().right > window.innerWidth)
				.slice(0, 10).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right) + "px").join(", ")`))
			t.Errorf("%s at %d px wide: the page is %d px wide, want no sideways scroll; too wide: %s", path, innerWidth, scrollWidth, wide)
		}
		if want := fmt.Sprintf("rgb(%d, %d, %d)", 0xfc, 0xe8, 0xe6); flaggedBackground != want {
			t.Errorf("%s: a flagged row's background is %q, want %q", path, flaggedBackground, want)
		}
	}
}
