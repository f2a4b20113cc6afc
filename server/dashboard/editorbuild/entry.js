// The policy editor of the vcguard dashboard: CodeMirror 6 over the
// policies page's <textarea data-editor>, which stays the form field (the
// page works without JavaScript: the textarea is the editor then).
// - Line numbers, YAML highlighting, no soft wrap: long lines scroll inside
//   the editor, so indentation stays visible at phone width.
// - The server's validation errors (<li data-line="N" data-message="...">
//   in #validation-errors) are shown at their lines: a marker in the lint
//   gutter, the line underlined, the message on hover and with Ctrl-Shift-M;
//   while one types, the server checks the document again (POST
//   /policies/check) and the marks follow.
// - CodeMirror adds its styles in <style> elements: they carry the nonce of
//   this script's own tag (the page's Content-Security-Policy allows styles
//   from 'self' and that nonce only, no 'unsafe-inline').
// Built into ../static/editor/editor.js by build.sh (see README.md).
import { EditorState } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLineGutter, highlightSpecialChars,
  drawSelection, highlightActiveLine,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching,
  foldGutter, foldKeymap, indentUnit,
} from "@codemirror/language";
import { yaml } from "@codemirror/lang-yaml";
import { linter, lintGutter, lintKeymap, setDiagnostics } from "@codemirror/lint";
import { searchKeymap, highlightSelectionMatches } from "@codemirror/search";

// Read now: document.currentScript is only set while this script runs.
const nonce = (document.currentScript && document.currentScript.nonce) || "";

// lineDiagnostic marks line n (1-based; 0 or past the end: the nearest
// line) from its first character after the indentation.
function lineDiagnostic(doc, n, message) {
  const line = doc.line(Math.max(1, Math.min(n, doc.lines)));
  const indent = /^\s*/.exec(line.text)[0].length;
  return { from: Math.min(line.from + indent, line.to), to: line.to, severity: "error", source: "server", message };
}

// The errors the server rendered with the page (after Validate or a
// refused publish).
function serverDiagnostics(doc) {
  const out = [];
  document.querySelectorAll("#validation-errors li[data-line]").forEach((li) => {
    const n = Number(li.getAttribute("data-line"));
    if (!Number.isInteger(n) || n < 1) return;
    out.push(lineDiagnostic(doc, n, li.getAttribute("data-message") || li.textContent));
  });
  return out;
}

// liveCheck asks the server (POST /policies/check, with the form's CSRF
// token) to validate the document a moment after each change: the same
// validation as publishing, against the same catalog. A failed request
// marks nothing.
function liveCheck(form) {
  const csrf = form.querySelector('input[name="csrf"]');
  return linter(async (view) => {
    const doc = view.state.doc;
    try {
      const res = await fetch("/policies/check", {
        method: "POST", credentials: "same-origin", redirect: "manual",
        headers: { Accept: "application/json" },
        body: new URLSearchParams({ csrf: csrf ? csrf.value : "", document: doc.toString() }),
      });
      if (!res.ok) return [];
      const out = await res.json();
      const status = document.getElementById("live-check");
      if (status) status.textContent = out.problems.length ? "" : "Valid: policy \u201c" + out.name + "\u201d.";
      return out.problems.map((p) => lineDiagnostic(doc, p.line, p.message));
    } catch (e) {
      return [];
    }
  }, { delay: 700 });
}

function start() {
  const ta = document.querySelector("textarea[data-editor]");
  if (!ta || !ta.form) return;
  const label = document.querySelector('label[for="' + ta.id + '"]');
  const view = new EditorView({
    state: EditorState.create({
      doc: ta.value,
      extensions: [
        EditorView.cspNonce.of(nonce),
        lineNumbers(), foldGutter(), lintGutter(), highlightActiveLineGutter(),
        highlightSpecialChars(), drawSelection(), history(), indentOnInput(),
        bracketMatching(), highlightActiveLine(), highlightSelectionMatches(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        yaml(), indentUnit.of("  "), EditorState.tabSize.of(2),
        keymap.of([...defaultKeymap, ...historyKeymap, ...foldKeymap, ...searchKeymap, ...lintKeymap, indentWithTab]),
        EditorView.contentAttributes.of({
          "aria-label": label ? label.textContent : "Policy document",
          spellcheck: "false", autocapitalize: "off", autocorrect: "off",
        }),
        liveCheck(ta.form),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) ta.value = u.state.doc.toString();
        }),
      ],
    }),
  });
  ta.parentNode.insertBefore(view.dom, ta);
  ta.hidden = true;
  view.dom.id = "policy-codemirror";
  if (label) label.addEventListener("click", () => view.focus());
  ta.form.addEventListener("submit", () => { ta.value = view.state.doc.toString(); });

  const diags = serverDiagnostics(view.state.doc);
  if (diags.length) {
    view.dispatch(setDiagnostics(view.state, diags));
    view.dispatch({ effects: EditorView.scrollIntoView(diags[0].from, { y: "center" }) });
  }
  document.documentElement.setAttribute("data-editor", "ready");
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
