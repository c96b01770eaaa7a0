// Runs the GraphQL over HTTP audits of graphql-http against a running server.
//
//   node tests/http_audit/audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one line per audit that did not pass, then a summary. Exits with 1 when a MUST audit
// fails (status "error"), 2 on wrong usage, and 0 otherwise; SHOULD and MAY audits that fail
// are printed as warnings or notices and do not change the exit code.
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url || process.argv.length > 3) {
  console.error("Usage: node tests/http_audit/audit.mjs URL, such as http://127.0.0.1:8000/graphql");
  process.exit(2);
}

const results = await auditServer({ url });
const byStatus = { ok: [], notice: [], warn: [], error: [] };
for (const result of results) {
  byStatus[result.status].push(result);
}

for (const status of ["error", "warn", "notice"]) {
  for (const result of byStatus[status]) {
    console.log(`${status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}`);
  }
}
console.log(
  `${results.length} audits against ${url}: ${byStatus.ok.length} passed, ` +
    `${byStatus.error.length} MUST failed, ${byStatus.warn.length} warnings, ` +
    `${byStatus.notice.length} notices`,
);
process.exit(byStatus.error.length > 0 ? 1 : 0);
