// Bundles the widget into one minified file the server serves at /widget.js, and fails the
// build when it grows past the size budget (gzipped, as browsers download it).
import { build, transform } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

export const BUDGET_GZIP_BYTES = 32 * 1024;

const here = dirname(fileURLToPath(import.meta.url));
const outfile = resolve(here, "../server/static/widget/widget.js");
const version = JSON.parse(readFileSync(resolve(here, "package.json"), "utf8")).version;

// engine.io-client bundles a WebTransport transport that Parley's server does not offer and
// the widget never asks for (it names its transports); leaving it out saves bytes.
const withoutWebTransport = {
  name: "without-webtransport",
  setup(build) {
    build.onResolve({ filter: /\/webtransport\.js$/ }, (args) => ({ path: args.path, namespace: "stub" }));
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export class WT {}", loader: "js" }));
  },
};

// The stylesheet goes into the Shadow DOM as a string: minify it and inline it.
const cssAsText = {
  name: "css-as-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const { code } = await transform(readFileSync(args.path, "utf8"), { loader: "css", minify: true });
      return { contents: `export default ${JSON.stringify(code.trim())};`, loader: "js" };
    });
  },
};

mkdirSync(dirname(outfile), { recursive: true });
const result = await build({
  entryPoints: [resolve(here, "src/main.ts")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022", "chrome94", "firefox93", "safari15"],
  legalComments: "none",
  define: { __VERSION__: JSON.stringify(version) },
  write: false,
  logLevel: "warning",
  plugins: [withoutWebTransport, cssAsText],
});
const code = result.outputFiles[0].contents;
const banner = Buffer.from(`/* Parley chat widget ${version} | Apache-2.0 | includes socket.io-client (MIT) */\n`);
const bundle = Buffer.concat([banner, code]);
writeFileSync(outfile, bundle);

const gzipped = gzipSync(bundle, { level: 9 }).length;
const report = { bytes: bundle.length, gzip_bytes: gzipped, budget_gzip_bytes: BUDGET_GZIP_BYTES };
writeFileSync(resolve(dirname(outfile), "size.json"), JSON.stringify(report) + "\n");
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`widget.js: ${kb(bundle.length)} minified, ${kb(gzipped)} gzipped (budget ${kb(BUDGET_GZIP_BYTES)})`);
if (gzipped > BUDGET_GZIP_BYTES) {
  console.error(`widget.js is over its size budget by ${kb(gzipped - BUDGET_GZIP_BYTES)}`);
  process.exit(1);
}
