#!/bin/sh
# Builds ../static/editor/editor.js (CodeMirror 6, one minified IIFE) and
# ../static/editor/LICENSES.txt from entry.js with the exact package
# versions in package.json, in a temporary directory outside the
# repository (no node_modules here). Needs node and npm; run it from any
# directory after changing entry.js or a version, and commit both outputs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../static/editor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$here/entry.js" "$tmp/"
cd "$tmp"
npm ci --no-audit --no-fund
npx esbuild entry.js --bundle --minify --format=iife --target=es2020 \
  --legal-comments=none --outfile="$out/editor.js"
# The licence of every package in the bundle (esbuild's metafile names them).
npx esbuild entry.js --bundle --format=iife --metafile=meta.json --outfile=/dev/null --log-level=warning
node -e '
const meta = require("./meta.json");
const pkgs = new Set();
for (const f of Object.keys(meta.inputs)) {
  const m = f.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) pkgs.add(m[1]);
}
const fs = require("fs");
let text = "Licences of the packages bundled in editor.js (built by server/dashboard/editorbuild/build.sh)\n";
for (const p of [...pkgs].sort()) {
  const pj = require("./node_modules/" + p + "/package.json");
  const dir = "node_modules/" + p;
  const lic = fs.readdirSync(dir).find((f) => /^licen[sc]e/i.test(f));
  text += "\n==== " + p + " " + pj.version + " (" + pj.license + ")\n\n";
  text += lic ? fs.readFileSync(dir + "/" + lic, "utf8").trim() + "\n" : "(no licence file in the package; licence: " + pj.license + ")\n";
}
fs.writeFileSync(process.argv[1], text);
' "$out/LICENSES.txt"
echo "built $out/editor.js and $out/LICENSES.txt"
