// Prints the plain closing count of a vitest JSON report, so that a run which executed no test
// can never read as a green one.
import { readFileSync } from 'node:fs';

const reportPath = process.argv[2] ?? 'test-results/vitest.json';
let report: { numPassedTests: number; numFailedTests: number; numPendingTests: number };
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch {
  console.log('0 passed, 1 failed');
  console.error(`no test report at ${reportPath}: the test run did not finish`);
  process.exit(1);
}
const skipped = report.numPendingTests > 0 ? `, ${report.numPendingTests} skipped` : '';
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped}`);
process.exit(report.numFailedTests === 0 && report.numPassedTests > 0 ? 0 : 1);
