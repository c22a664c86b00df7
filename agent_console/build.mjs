// Bundles the agent console into server/static/console/: one script, one stylesheet and the
// page that loads them (with content hashes, so a deploy never serves a stale mix). Fails the
// build when the script grows past its size budget (gzipped, as browsers download it).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

export const BUDGET_GZIP_BYTES = 64 * 1024;

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(here, "../server/static/console");
const version = JSON.parse(readFileSync(resolve(here, "package.json"), "utf8")).version;

// engine.io-client bundles a WebTransport transport that Parley's server does not offer.
const withoutWebTransport = {
  name: "without-webtransport",
  setup(build) {
    build.onResolve({ filter: /\/webtransport\.js$/ }, (args) => ({ path: args.path, namespace: "stub" }));
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export class WT {}", loader: "js" }));
  },
};

const result = await build({
  entryPoints: { console: resolve(here, "src/main.tsx"), styles: resolve(here, "src/styles.css") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022", "chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  define: { __VERSION__: JSON.stringify(version) },
  outdir: "/",
  write: false,
  logLevel: "warning",
  plugins: [withoutWebTransport],
});

// Supabase sign-in (supabase-js) is a bundle of its own, loaded only when the server offers it.
const supabase = await build({
  entryPoints: [resolve(here, "src/supabase/signin.ts")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022", "chrome100", "firefox100", "safari15"],
  legalComments: "none",
  write: false,
  logLevel: "warning",
});
const supabaseScript = supabase.outputFiles[0].contents;
const supabaseName = `supabase.${createHash("sha256").update(supabaseScript).digest("hex").slice(0, 10)}.js`;

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const files = {};
for (const file of result.outputFiles) {
  const ext = file.path.endsWith(".css") ? "css" : "js";
  const hash = createHash("sha256").update(file.contents).digest("hex").slice(0, 10);
  const name = `console.${hash}.${ext}`;
  writeFileSync(resolve(outdir, name), file.contents);
  files[ext] = { name, contents: file.contents };
}

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>Parley console</title>
<link rel="stylesheet" href="/static/console/${files.css.name}">
<meta name="parley-supabase" content="/static/console/${supabaseName}">
</head>
<body>
<div id="app"></div>
<script src="/static/console/${files.js.name}"></script>
</body>
</html>
`;
writeFileSync(resolve(outdir, supabaseName), supabaseScript);
writeFileSync(resolve(outdir, "index.html"), page);

const gzipped = gzipSync(files.js.contents, { level: 9 }).length;
const report = {
  script: files.js.name,
  stylesheet: files.css.name,
  bytes: files.js.contents.length,
  gzip_bytes: gzipped,
  budget_gzip_bytes: BUDGET_GZIP_BYTES,
};
writeFileSync(resolve(outdir, "size.json"), JSON.stringify(report) + "\n");
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`console: ${kb(files.js.contents.length)} minified, ${kb(gzipped)} gzipped (budget ${kb(BUDGET_GZIP_BYTES)})`);
if (gzipped > BUDGET_GZIP_BYTES) {
  console.error(`the console script is over its size budget by ${kb(gzipped - BUDGET_GZIP_BYTES)}`);
  process.exit(1);
}
