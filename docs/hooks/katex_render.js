// Typeset formulas with KaTeX at build time (docs/hooks/katex.py runs this with Node.js).
// Reads a JSON array of [tex, displayMode] pairs on stdin and writes a JSON array of the
// HTML KaTeX makes for each; a formula KaTeX cannot read stops the build, naming it.
"use strict";
const path = require("path");
const katex = require(path.join(__dirname, "..", "node_modules", "katex"));

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const out = [];
  for (const [tex, display] of JSON.parse(input)) {
    try {
      out.push(katex.renderToString(tex, { displayMode: display, throwOnError: true, output: "htmlAndMathml" }));
    } catch (error) {
      process.stderr.write(`KaTeX cannot typeset ${JSON.stringify(tex)}: ${error.message}\n`);
      process.exit(1);
    }
  }
  process.stdout.write(JSON.stringify(out));
});
