package dashboard_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/store"
)

// cspWatch records every Content-Security-Policy violation of the pages
// the tab loads from now on (window.__csp), before any script of theirs runs.
const cspWatch = `window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});`

// pasteInto replaces the editor's whole document with text, as a person
// pasting it over a selection of everything (typed text would be
// auto-indented by the editor).
func pasteInto(text string) chromedp.Action[chromedp.Void] {
	// Under load the editor may not have taken up the selection by the
	// paste, which then lands at the cursor instead of replacing the
	// document (a typo at line 4 was once marked at line 8): paste again
	// until the editor holds exactly text.
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(async () => {
  const text = %q;
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const content = document.querySelector(".cm-content");
  const held = () => [...content.querySelectorAll(".cm-line")].map((l) => l.textContent).join("\n");
  for (let i = 0; i < 20; i++) {
    content.focus();
    getSelection().selectAllChildren(content);
    // The editor reads the selection at the next selectionchange.
    await frame();
    const dt = new DataTransfer();
    dt.setData("text/plain", text);
    content.dispatchEvent(new ClipboardEvent("paste", {clipboardData: dt, bubbles: true, cancelable: true}));
    await frame();
    if (held() === text.replace(/\n$/, "") || held() === text) return;
  }
  throw new Error("the editor did not take the pasted text: it holds " + JSON.stringify(held()));
})()`, text), chromedp.EvalAwaitPromise)
}

// markedLine is the number of the line the (first) error marker is at.
const markedLine = `(() => {
  const m = document.querySelector(".cm-gutter-lint .cm-lint-marker-error");
  if (!m) return "";
  const r = m.getBoundingClientRect(), mid = (r.top + r.bottom) / 2;
  const line = [...document.querySelectorAll(".cm-lineNumbers .cm-gutterElement")].find(e => {
    const q = e.getBoundingClientRect(); return e.textContent && q.top <= mid && mid <= q.bottom; });
  return line ? line.textContent : "";
})()`

// The policy editor in a real browser, at a phone's width and a desktop's:
// CodeMirror loads under the strict Content-Security-Policy (no violation
// reported), shows line numbers, does not soft-wrap (a long line scrolls
// inside the editor, the page never sideways), marks the server's
// validation error at its line, and publishes with a change comment after
// the review step.
func TestPolicyEditorChromium(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	for _, width := range []int{390, 1280} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := phoneBrowser(t, e, chromium, e.accounts[store.RoleAdmin], 120*time.Second)
			var mu sync.Mutex
			var exceptions []string
			if err := chromedp.Listen(ctx, func(ev any) {
				if ev, ok := ev.(*runtime.EventExceptionThrown); ok {
					mu.Lock()
					exceptions = append(exceptions, ev.ExceptionDetails.Text+" "+fmt.Sprint(ev.ExceptionDetails.Exception))
					mu.Unlock()
				}
			}); err != nil {
				t.Fatal(err)
			}
			addWatch := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
				return chromedp.Void{}, err
			}
			ready := chromedp.WaitVisible(chromedp.CSS(`html[data-editor="ready"] #policy-codemirror`))
			if err := chromedp.Do(ctx,
				chromedp.EmulateViewport(int64(width), 844),
				addWatch,
				chromedp.Navigate(e.srv.URL+"/policies"),
				ready,
			); err != nil {
				t.Fatalf("open the editor: %v", err)
			}
			violations := func(when string) {
				t.Helper()
				v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || ["no CSP watch on this page"]`))
				if err != nil {
					t.Fatal(err)
				}
				if len(v) > 0 {
					t.Errorf("%s: Content-Security-Policy violations: %q", when, v)
				}
			}
			violations("editor loaded")

			// Line numbers, the textarea hidden behind the editor, the
			// editor's own styles applied (their <style> carries the nonce).
			gutter, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".cm-lineNumbers .cm-gutterElement")].filter(e => getComputedStyle(e).visibility != "hidden").map(e => e.textContent).slice(0, 5)`))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(gutter, ",") != "1,2,3,4,5" {
				t.Errorf("line numbers %q, want 1,2,3,4,5", gutter)
			}
			facts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`({
  textareaHidden: document.getElementById("document").hidden,
  gutterDisplay: getComputedStyle(document.querySelector(".cm-gutters")).display,
  whiteSpace: getComputedStyle(document.querySelector(".cm-content")).whiteSpace,
  wraps: !!document.querySelector(".cm-lineWrapping"),
  styles: document.querySelectorAll("style").length,
  stylesWithNonce: [...document.querySelectorAll("style")].filter(s => s.nonce).length,
})`))
			if err != nil {
				t.Fatal(err)
			}
			if facts["textareaHidden"] != true || facts["gutterDisplay"] != "flex" || facts["whiteSpace"] != "pre" || facts["wraps"] != false ||
				facts["styles"].(float64) == 0 || facts["styles"] != facts["stylesWithNonce"] {
				t.Errorf("editor: %v; want the textarea hidden, CodeMirror's styles applied from <style nonce>, no soft wrap", facts)
			}

			// While one types, the server's check marks the error.
			typo := "name: Typo\napps:\n  zoom:\n    status: forbiddn\n"
			if err := chromedp.Do(ctx, pasteInto(typo), chromedp.WaitVisible(chromedp.CSS(".cm-gutter-lint .cm-lint-marker-error"))); err != nil {
				t.Fatalf("live check of a typo: %v", err)
			}
			if line, err := chromedp.Run(ctx, chromedp.Evaluate[string](markedLine)); err != nil || line != "4" {
				t.Errorf("live check marks line %q (%v), want 4", line, err)
			}
			if err := chromedp.Do(ctx, pasteInto("name: Fixed\napps:\n  zoom:\n    status: forbidden\n")); err != nil {
				t.Fatal(err)
			}
			// The status line tells once the server has answered.
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new Promise((resolve) => {
  const el = document.getElementById("live-check");
  const check = () => { if (el.textContent) { resolve(el.textContent); return true; } };
  if (!check()) new MutationObserver(check).observe(el, {childList: true, characterData: true, subtree: true});
})`, chromedp.EvalAwaitPromise))
			if err != nil || got != "Valid: policy “Fixed”." {
				t.Errorf("live check status %q, %v", got, err)
			}
			if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".cm-lint-marker-error").length`)); err != nil || n != 0 {
				t.Errorf("%d error markers on a valid document (%v)", n, err)
			}

			// A bad policy, validated: the server's error at its line.
			long := strings.Repeat("x", 300)
			bad := "name: Bad\ndescription: " + long + "\napps:\n  zoom:\n    status: maybe\n"
			if err := chromedp.Do(ctx, pasteInto(bad), chromedp.Click(chromedp.ID("validate-button")),
				chromedp.WaitVisible(chromedp.ID("validation-errors")), ready); err != nil {
				t.Fatalf("validate a bad policy: %v", err)
			}
			violations("validation errors shown")
			mark, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => {
  const m = document.querySelector(".cm-gutter-lint .cm-lint-marker-error");
  if (!m) return {found: false};
  const r = m.getBoundingClientRect(), mid = (r.top + r.bottom) / 2;
  const line = [...document.querySelectorAll(".cm-lineNumbers .cm-gutterElement")].find(e => {
    const q = e.getBoundingClientRect(); return e.textContent && q.top <= mid && mid <= q.bottom; });
  return {found: true, line: line ? line.textContent : "", markers: document.querySelectorAll(".cm-lint-marker-error").length,
    text: document.getElementById("validation-errors").textContent};
})()`))
			if err != nil {
				t.Fatal(err)
			}
			if mark["found"] != true || mark["line"] != "5" || mark["markers"] != 1.0 || !strings.Contains(fmt.Sprint(mark["text"]), "line 5: policy:5: field apps.zoom.status") {
				t.Errorf("error marker %v; want one marker at line 5 and the message as text", mark)
			}
			// The 300-character line scrolls inside the editor; the page
			// does not scroll sideways.
			widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth,
  document.querySelector(".cm-scroller").scrollWidth, document.querySelector(".cm-scroller").clientWidth]`))
			if err != nil {
				t.Fatal(err)
			}
			if widths[0] > widths[1] || widths[2] <= widths[3] {
				wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")]
				.filter(e => e.getBoundingClientRect().right > window.innerWidth && !e.closest(".cm-scroller"))
				.slice(0, 10).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right) + "px").join(", ")`))
				t.Errorf("too wide: %s", wide)
				t.Errorf("page %d px in a %d px window, editor content %d px in %d px: want the long line scrolling inside the editor only", widths[0], widths[1], widths[2], widths[3])
			}
			screenshot(t, ctx, fmt.Sprintf("%s-%d", "policy-editor-error", width))

			// A good policy, with a comment: review, then publish.
			good := "name: Strict\napps:\n  zoom:\n    status: forbidden\n"
			if err := chromedp.Do(ctx, pasteInto(good),
				chromedp.SendKeys(chromedp.ID("comment"), "forbid Zoom until the DPA is signed"),
				chromedp.Click(chromedp.ID("publish-button")),
				chromedp.WaitVisible(chromedp.ID("confirm-publish-button")), ready,
			); err != nil {
				t.Fatalf("review: %v", err)
			}
			violations("review")
			screenshot(t, ctx, fmt.Sprintf("%s-%d", "policy-review", width))
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("confirm-publish-button")),
				chromedp.WaitVisible(chromedp.CSS(`#policy-history tr[data-version="2"]`)), ready); err != nil {
				t.Fatalf("publish: %v", err)
			}
			violations("published")
			p, err := e.store.CurrentPolicy(t.Context())
			if err != nil || p.Version != 2 || string(p.Document) != good || p.Comment != "forbid Zoom until the DPA is signed" {
				t.Errorf("published %d %q with comment %q, %v", p.Version, p.Document, p.Comment, err)
			}
			row, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#policy-history tr[data-version="2"] .policy-comment').textContent`))
			if err != nil || row != "forbid Zoom until the DPA is signed" {
				t.Errorf("history comment %q, %v", row, err)
			}
			screenshot(t, ctx, fmt.Sprintf("%s-%d", "policies", width))

			// The watch does see violations: a style element without the
			// nonce is refused and reported.
			seen, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new Promise((resolve) => {
  document.addEventListener("securitypolicyviolation", (e) => resolve(e.violatedDirective), {once: true});
  document.head.appendChild(Object.assign(document.createElement("style"), {textContent: "body { color: red }"}));
})`, chromedp.EvalAwaitPromise))
			if err != nil || !strings.HasPrefix(seen, "style-src") {
				t.Fatalf("a style element without the nonce: violation %q, %v; want style-src refused (else the watch sees nothing)", seen, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(exceptions) > 0 {
				t.Errorf("JavaScript exceptions: %q", exceptions)
			}
		})
	}
}

// Without JavaScript the editor is the plain textarea: there, visible,
// without soft wrap (a long line scrolls inside it) and the page not wider
// than a phone.
func TestPolicyEditorWithoutJavaScript(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e := newEnv(t)
	long := "name: Long\ndescription: " + strings.Repeat("y", 300) + "\napps:\n  zoom:\n    status: forbidden\n"
	if _, err := e.te.Service.PublishPolicy(t.Context(), admin.SystemActor, []byte(long), "a long line"); err != nil {
		t.Fatal(err)
	}
	ctx := phoneBrowser(t, e, chromium, e.accounts[store.RoleAdmin], 60*time.Second)
	noScript := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(ctx, noScript, chromedp.Navigate(e.srv.URL+"/policies"), chromedp.WaitVisible(chromedp.ID("document"))); err != nil {
		t.Fatal(err)
	}
	facts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`({
  editor: !!document.querySelector(".cm-editor"),
  page: document.documentElement.scrollWidth, window: window.innerWidth,
  scroll: document.getElementById("document").scrollWidth, box: document.getElementById("document").clientWidth,
  whiteSpace: getComputedStyle(document.getElementById("document")).whiteSpace,
})`))
	if err != nil {
		t.Fatal(err)
	}
	if facts["editor"] != false || facts["page"].(float64) > facts["window"].(float64) ||
		facts["scroll"].(float64) <= facts["box"].(float64) || facts["whiteSpace"] != "pre" {
		t.Errorf("without JavaScript: %v; want the textarea, not wrapping (its content wider than its box), in a page no wider than the window", facts)
	}
	screenshot(t, ctx, fmt.Sprintf("%s-%d", "policy-editor-noscript", 390))

	// A version's page (comment, rollout, rollback form, diff, document)
	// fits too: its long line scrolls inside its box.
	for _, path := range []string{"/policies/1", "/policies/2"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+path), chromedp.WaitVisible(chromedp.ID("policy-rollout"))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
		if err != nil {
			t.Fatal(err)
		}
		if widths[0] > widths[1] {
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")]
				.filter(e => e.getBoundingClientRect().right > window.innerWidth && !e.closest("pre"))
				.slice(0, 10).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right) + "px").join(", ")`))
			t.Errorf("%s: the page is %d px wide in a %d px window; too wide: %s", path, widths[0], widths[1], wide)
		}
		screenshot(t, ctx, "policy-version"+strings.ReplaceAll(path, "/", "-")+"-390")
	}
}
