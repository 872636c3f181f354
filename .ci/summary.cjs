// Prints "N passed, N failed, N skipped" from vitest JSON reports (a missing report counts as a failure).
const fs = require('fs');
let passed = 0, failed = 0, skipped = 0;
for (const file of process.argv.slice(2)) {
  let r;
  try {
    r = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    failed += 1;
    continue;
  }
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // A file that fails to load fails as a suite with no test counted: count it too.
  if (r.numFailedTests === 0) failed += r.numFailedTestSuites ?? 0;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
