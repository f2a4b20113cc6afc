package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/types/known/timestamppb"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/store"
)

// sizedBrowser starts a headless Chromium with a window of width by
// height CSS pixels, logs in to e's dashboard as a (an account that
// lands on the overview), and returns its context.
func sizedBrowser(t *testing.T, e *env, chromium string, a adminapitest.Account, width, height int64, timeout time.Duration) context.Context {
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
		chromedp.EmulateViewport(width, height),
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), a.Username),
		chromedp.SendKeys(chromedp.ID("password"), a.Password),
		chromedp.SendKeys(chromedp.ID("code"), e.code(t, a)),
		chromedp.Click(chromedp.CSS(`.login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("detections-chart")),
	); err != nil {
		t.Fatalf("log in with chromium at %d px: %v", width, err)
	}
	return ctx
}

// screenshot saves the whole page (quality 100: a PNG) as name.png in the test's artifact
// directory (a temporary one unless go test -artifacts is given).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// pageWidth measures the page at ctx: its scroll width, the window's
// inner width, and what sticks out past the window (outermost first).
func pageWidth(t *testing.T, ctx context.Context) (scroll, inner int, wide string) {
	t.Helper()
	scroll, err1 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	inner, err2 := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if scroll > inner {
		wide, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")]
			.filter(e => e.getBoundingClientRect().right > window.innerWidth)
			.slice(0, 10).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right) + "px").join(", ")`))
	}
	return scroll, inner, wide
}

// longNames gives the fleet the long values that made pages overflow:
// a long hostname without spaces, a long group and OS version.
func longNames(t *testing.T, e *env) {
	t.Helper()
	if err := e.store.CreateDevice(t.Context(), store.Device{ID: "dev-long-0123456789abcdef0123456789abcdef",
		Hostname: "workstation-of-the-finance-department-" + strings.Repeat("x", 40), OS: "windows",
		OSVersion: "Windows 11 Enterprise 24H2 (build 26100.2605)", Group: "finance-and-controlling-department", Enrolled: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// No dashboard page scrolls sideways at a phone's width (390 CSS
// pixels). The pages are those of the route table, so a new page cannot
// be forgotten: every GET route answering HTML is opened (wildcards
// filled with records that exist).
func TestEveryPageFitsAtPhoneWidth(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e := newEnv(t)
	ingestFleet(t, e)
	longNames(t, e)
	secret, _, err := e.dash.API.Admin.CreateEnrollmentSecret(t.Context(), admin.SystemActor, admin.SecretSpec{Description: "a secret for the phone test", Group: "finance-and-controlling-department"})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := e.dash.API.Admin.InviteAdmin(t.Context(), admin.SystemActor, "phone-invitee", store.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{"id": "dev-1", "version": "1", "secret": secret.ID, "username": e.accounts[store.RoleAnalyst].Username, "app": "jitsi-meet",
		"invite": inv.Token, "tokenid": "tok_none"}
	a := e.accounts[store.RoleAdmin]
	ctx := sizedBrowser(t, e, chromium, a, 390, 844, 240*time.Second)

	var pages []string
	for _, r := range e.dash.Routes() {
		method, path := pathOf(t, r.Pattern, vals)
		if method != http.MethodGet || dataKind(r.Pattern) != "" || strings.HasPrefix(path, "/static/") {
			continue
		}
		pages = append(pages, path)
	}
	// Pages with the long device, and the views of the list.
	pages = append(pages, "/devices/dev-long-0123456789abcdef0123456789abcdef", "/devices?sort=-last_seen&group=finance-and-controlling-department",
		"/devices/dev-1?kind=media")
	if len(pages) < 15 {
		t.Fatalf("only %d pages in the route table: %v", len(pages), pages)
	}
	var report []string
	for _, path := range pages {
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		if path != "/login" && strings.Contains(title, "Log in") {
			t.Fatalf("%s: the browser was sent to the login page", path)
		}
		scroll, inner, wide := pageWidth(t, ctx)
		report = append(report, fmt.Sprintf("%s %d", path, scroll))
		if path == "/policies" {
			// The YAML editor keeps its indentation: no soft wrap.
			ws, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const a = document.querySelector("textarea"); return a ? getComputedStyle(a).whiteSpace : "pre" })()`))
			if err != nil || ws != "pre" {
				t.Errorf("/policies: the editor's white-space is %q (%v), want pre", ws, err)
			}
		}
		if inner != 390 || scroll > inner {
			t.Errorf("%s at %d px wide: the page is %d px wide, want no sideways scroll; too wide: %s", path, inner, scroll, wide)
		}
	}
	t.Logf("scrollWidth at 390 px: %s", strings.Join(report, ", "))
}

// The fleet views in a browser at desktop and phone width: screenshots of
// each, the chart's latest day visible, tables as cards on the phone, the
// devices list updating live (no reload), and a bulk change confirmed.
func TestFleetViewsInBrowser(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e := newEnv(t)
	ingestFleet(t, e)
	longNames(t, e)
	a := e.accounts[store.RoleAdmin]
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			e.advance(30 * time.Second) // a fresh TOTP code for each login
			ctx := sizedBrowser(t, e, chromium, a, size.width, size.height, 120*time.Second)
			// The overview: the chart's latest day (today) is inside the
			// window and drawn.
			if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("by-os"))); err != nil {
				t.Fatal(err)
			}
			// Its bar and its label lie inside the chart (which clips what
			// sticks out) and the chart inside the window.
			lastDay, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
				const svg = document.getElementById("detections-chart").getBoundingClientRect();
				const g = [...document.querySelectorAll("#detections-chart g")].pop();
				const bar = g.querySelector("rect.bar").getBoundingClientRect();
				const label = g.querySelector("text.day").getBoundingClientRect();
				return [label.left, Math.max(label.right, bar.right), svg.right, window.innerWidth, label.width];
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			if left, right, svgRight, inner, width := lastDay[0], lastDay[1], lastDay[2], lastDay[3], lastDay[4]; width == 0 || left <= 0 || right > svgRight || svgRight > inner {
				t.Errorf("the chart's latest day spans %.0f-%.0f px (label %.0f px wide), the chart ends at %.0f px, the window at %.0f px", left, right, width, svgRight, inner)
			}
			screenshot(t, ctx, "overview-"+size.name)

			// The devices list, filtered and sorted; on a phone each row
			// is a card.
			if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/devices?sort=-last_seen"), chromedp.WaitVisible(chromedp.ID("devices"))); err != nil {
				t.Fatal(err)
			}
			display, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#devices tbody tr")).display`))
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]string{"desktop": "table-row", "phone": "block"}[size.name]; display != want {
				t.Errorf("a device row is displayed as %q, want %q", display, want)
			}
			screenshot(t, ctx, "devices-"+size.name)
			if scroll, inner, wide := pageWidth(t, ctx); scroll > inner {
				t.Errorf("/devices: %d px wide in a %d px window: %s", scroll, inner, wide)
			}

			// Live: a device that enrols shows up without a reload.
			id := "dev-live-" + size.name
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
				t.Fatal(err)
			}
			if err := e.store.CreateDevice(t.Context(), store.Device{ID: id, Hostname: "live-" + size.name, OS: "linux", Enrolled: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`tr[data-device="`+id+`"]`))); err != nil {
				t.Fatalf("the new device did not show up live: %v", err)
			}
			if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !still {
				t.Errorf("the page reloaded to show the new device (%v)", err)
			}

			// Bulk: tick a device, ask to move it, confirm.
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`tr[data-device="`+id+`"] input[name="id"]`)),
				chromedp.SetValue(chromedp.ID("bulk-group"), "sales"),
				chromedp.Click(chromedp.ID("bulk-review")),
				chromedp.WaitVisible(chromedp.ID("bulk-confirm")),
			); err != nil {
				t.Fatalf("bulk review: %v", err)
			}
			screenshot(t, ctx, "bulk-confirm-"+size.name)
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("bulk-confirm")), chromedp.WaitVisible(chromedp.ID("bulk-back"))); err != nil {
				t.Fatalf("bulk confirm: %v", err)
			}
			if d, err := e.store.DeviceRecord(t.Context(), id); err != nil || d.Group != "sales" {
				t.Errorf("after the bulk change: group %q, %v", d.Group, err)
			}

			// The device page: the timeline, and the revoke box below the
			// apps.
			if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/devices/dev-1"), chromedp.WaitVisible(chromedp.ID("events"))); err != nil {
				t.Fatal(err)
			}
			below, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("revoke-form").getBoundingClientRect().top >
				document.getElementById("apps").getBoundingClientRect().bottom`))
			if err != nil || !below {
				t.Errorf("the revoke box is not below the apps (%v)", err)
			}
			// Live: an app the device starts shows up in place; the parts
			// that did not change are the same elements as before.
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.statusNode = document.getElementById("device-status"), true)`)); err != nil {
				t.Fatal(err)
			}
			pid := map[string]int32{"desktop": 400, "phone": 401}[size.name]
			start := &vcguardv1.Event{Seq: 100 + uint64(pid), Time: timestamppb.Now(), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
				Kind: vcguardv1.AppEvent_KIND_STARTED, App: &vcguardv1.AppInstance{AppId: "webex", Name: "Webex", Pid: pid, Started: timestamppb.Now(),
					Exe: "/opt/webex/webex", Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN}}}}
			if _, err := e.store.IngestEvents(t.Context(), "dev-1", []*vcguardv1.Event{start}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#apps tr[data-app="webex"][data-pid="%d"]`, pid)))); err != nil {
				t.Fatalf("the started app did not show up live: %v", err)
			}
			if same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.statusNode === document.getElementById("device-status")`)); err != nil || !same {
				t.Errorf("the device's status element was replaced (or the page reloaded): %v", err)
			}
			screenshot(t, ctx, "device-"+size.name)
			if scroll, inner, wide := pageWidth(t, ctx); scroll > inner {
				t.Errorf("/devices/dev-1: %d px wide in a %d px window: %s", scroll, inner, wide)
			}
		})
	}
}
