# SPDX-License-Identifier: Apache-2.0
"""Run the e2e tests (tests/e2e/test_*.py) with per-test result lines.

    /usr/bin/python3 tests/e2e/run.py [--dir DIR] [-p GLOB] [-k PATTERN]...

Prints one line per test, `PASS name`, `FAIL name`, `ERROR name` or
`SKIP name: reason`, the output of every failure, and as its last line
`E2E-RESULT passed=N failed=N skipped=N` (errors count as failed). Exits 1
if anything failed, or if anything was skipped while CI is set.
"""

import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class LineResult(unittest.TestResult):
    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.passed = []
        self._t0 = {}

    def _line(self, text):
        self.stream.write(text + "\n")
        self.stream.flush()

    def startTest(self, test):
        super().startTest(test)
        self._t0[test.id()] = time.monotonic()
        self._line("RUN  %s" % test.id())

    def _dt(self, test):
        t0 = self._t0.pop(test.id(), None)
        return "" if t0 is None else " (%.2fs)" % (time.monotonic() - t0)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)
        self._line("PASS %s%s" % (test.id(), self._dt(test)))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line("FAIL %s%s" % (test.id(), self._dt(test)))

    def addError(self, test, err):
        super().addError(test, err)
        # Also module/class fixture errors (setUpModule, tearDownModule).
        self._line("ERROR %s%s" % (test.id(), self._dt(test)))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line("SKIP %s: %s" % (test.id(), reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed.append(test)
        self._line("PASS %s (expected failure)" % test.id())

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line("FAIL %s (unexpected success)" % test.id())

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._line("FAIL %s" % subtest.id())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", dest="patterns", action="append", default=None,
                    help="only tests whose name matches (unittest -k)")
    ap.add_argument("-p", "--pattern", dest="patterns_files", action="append",
                    help="test files to run (a glob; repeatable; default test_*.py)")
    ap.add_argument("--dir", default=HERE,
                    help="where the tests are (default tests/e2e; tests/install"
                         " for the installed package and image)")
    args = ap.parse_args(argv)
    start = os.path.abspath(args.dir)
    # The install tests import the e2e harness.
    sys.path.insert(0, HERE)

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [p if "*" in p else "*%s*" % p
                                   for p in args.patterns]
    suite = unittest.TestSuite(
        loader.discover(start, pattern=p, top_level_dir=start)
        for p in args.patterns_files or ["test_*.py"])
    result = LineResult(sys.stdout)
    unittest.registerResult(result)
    t0 = time.monotonic()
    suite.run(result)
    # Module-level tearDown runs at the end of suite.run.
    elapsed = time.monotonic() - t0

    problems = [("FAIL", t, e) for t, e in result.failures] + \
               [("ERROR", t, e) for t, e in result.errors] + \
               [("FAIL", t, "unexpected success")
                for t in result.unexpectedSuccesses]
    for kind, test, text in problems:
        sys.stdout.write("\n%s\n%s: %s\n%s\n%s\n" % (
            "=" * 70, kind, test.id() if hasattr(test, "id") else test,
            "-" * 70, text.rstrip()))
    failed = len(problems)
    skipped = len(result.skipped)
    passed = len(result.passed)
    sys.stdout.write("\nran %d tests in %.1fs\n" % (result.testsRun, elapsed))
    sys.stdout.write("E2E-RESULT passed=%d failed=%d skipped=%d\n"
                     % (passed, failed, skipped))
    ci = os.environ.get("CI", "") not in ("", "0", "false")
    return 1 if failed or (ci and skipped) else 0


if __name__ == "__main__":
    sys.exit(main())
