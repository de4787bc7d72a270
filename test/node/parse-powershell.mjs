// Parses PowerShell files with tree-sitter's PowerShell grammar (a real
// PowerShell parser; there is no PowerShell on these machines) and fails on
// any syntax error: an ERROR node or a node the parser had to invent.
//
//   node parse-powershell.mjs FILE...
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import { Parser, Language } from 'web-tree-sitter';

// V8 would compile the grammar's large WebAssembly parser a second time, with
// its optimising compiler, and node waits seconds for that at exit; the
// baseline compiler alone parses these scripts in tens of milliseconds.
v8.setFlagsFromString('--liftoff-only');

const require = createRequire(import.meta.url);
await Parser.init();
const parser = new Parser();
parser.setLanguage(await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm')));

let bad = 0;
for (const file of process.argv.slice(2)) {
  // A UTF-8 byte order mark is legal at the start of a script.
  const source = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  const tree = parser.parse(source);
  const problems = [];
  const walk = (node) => {
    if (node.isError || node.isMissing) {
      const p = node.startPosition;
      const what = node.isMissing ? `missing ${node.type}` : 'syntax error';
      problems.push(`${file}:${p.row + 1}:${p.column + 1}: ${what} near ${JSON.stringify(node.text.slice(0, 60))}`);
      if (node.isError) return;
    }
    for (const child of node.children) walk(child);
  };
  walk(tree.rootNode);
  if (problems.length > 0) {
    bad++;
    console.error(problems.join('\n'));
  } else {
    console.log(`${file}: parsed, ${tree.rootNode.descendantCount} nodes, no syntax errors`);
  }
}
process.exit(bad > 0 ? 1 : 0);
