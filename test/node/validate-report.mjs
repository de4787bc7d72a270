// Validates ami-harden JSON reports against the documented schema
// (docs/report.schema.json) with Ajv, a standard JSON Schema validator.
//
//   node validate-report.mjs SCHEMA REPORT...
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [schemaFile, ...reports] = process.argv.slice(2);
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')));
let bad = 0;
for (const file of reports) {
  if (validate(JSON.parse(readFileSync(file, 'utf8')))) {
    console.log(`${file}: valid against ${schemaFile}`);
  } else {
    bad++;
    for (const e of validate.errors) console.error(`${file}: ${e.instancePath || '/'} ${e.message}`);
  }
}
process.exit(reports.length === 0 || bad > 0 ? 1 : 0);
