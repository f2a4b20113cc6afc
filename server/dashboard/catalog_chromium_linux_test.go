package dashboard_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vcguard/vcguard/server/store"
)

// At a phone's width (390 CSS pixels) the catalog list and every tool's
// page fit: nothing makes the page scroll sideways (the list's table
// scrolls in its own box; long source URLs and notes wrap).
func TestCatalogPagesNarrow(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e := newEnv(t)
	a := e.accounts[store.RoleAnalyst]

	ctx := phoneBrowser(t, e, chromium, a, 120*time.Second)
	paths := []string{"/catalog"}
	for _, app := range e.te.Service.Catalog.Apps() {
		paths = append(paths, "/catalog/"+app.ID)
	}
	for _, path := range paths {
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		title, err1 := chromedp.Run(ctx, chromedp.Title())
		scrollWidth, err2 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		innerWidth, err3 := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if strings.Contains(title, "Log in") || !strings.Contains(title, "catalog") && path != "/catalog" {
			t.Fatalf("%s: the browser shows %q, not the catalog", path, title)
		}
		// The list's table fits too: at this width each tool is a block.
		if path == "/catalog" {
			tableRight, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`Math.max(...[...document.querySelectorAll("table.catalog")].map(t => t.getBoundingClientRect().right))`))
			if err != nil {
				t.Fatal(err)
			}
			if tableRight > float64(innerWidth) {
				t.Errorf("/catalog: a table reaches %.0f px, past the %d px window (it scrolls in its box)", tableRight, innerWidth)
			}
		}
		if innerWidth != 390 || scrollWidth > innerWidth {
			// Name what sticks out, outermost first.
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")]
				.filter(e => e.getBoundingClientRect().right > window.innerWidth)
				.slice(0, 10).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right) + "px").join(", ")`))
			t.Errorf("%s at %d px wide: the page is %d px wide, want no sideways scroll; too wide: %s", path, innerWidth, scrollWidth, wide)
		}
	}
}
