// Prints the plain closing count of a vitest JSON report, so that a run which executed no test
// can never read as a green one, and exits with what that line says.
// Usage: node scripts/test-summary.ts REPORT [EXIT STATUS OF THE TEST RUN]
// The JSON report counts tests only: an error thrown outside any test (an unhandled rejection, a
// stream's 'error' nobody listened to) makes vitest exit 1 with every test passed. With the run's
// exit status given, such a run closes with a line that says it failed, never "0 failed" alone.
import { readFileSync } from 'node:fs';

const reportPath = process.argv[2] ?? 'test-results/vitest.json';
const runStatus = process.argv[3] === undefined ? 0 : Number(process.argv[3]);
let report: { numPassedTests: number; numFailedTests: number; numPendingTests: number; numFailedTestSuites?: number };
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch {
  console.log('0 passed, 1 failed');
  console.error(`no test report at ${reportPath}: the test run did not finish`);
  process.exit(1);
}
const skipped = report.numPendingTests > 0 ? `, ${report.numPendingTests} skipped` : '';
const count = `${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped}`;
const failedFiles = report.numFailedTestSuites ?? 0;
const green = report.numFailedTests === 0 && failedFiles === 0 && report.numPassedTests > 0 && runStatus === 0;
if (green || report.numFailedTests > 0 || report.numPassedTests === 0) {
  console.log(count);
} else if (failedFiles > 0) {
  console.log(`FAILED: ${count}, but ${failedFiles} test file(s) or suite(s) failed outside their tests; see above`);
} else {
  console.log(
    `FAILED: ${count}, but the test run exited ${runStatus} (errors outside the tests, e.g. unhandled; see above)`,
  );
}
process.exit(green ? 0 : 1);
