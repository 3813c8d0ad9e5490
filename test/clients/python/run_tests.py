"""Runs the Python client tests and prints TAP (one line per test, then "# tests/pass/fail")."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class TapResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.n = 0
        self.failed = 0

    def _line(self, test, ok, why=""):
        self.n += 1
        self.failed += 0 if ok else 1
        print("%s %d - python %s%s" % ("ok" if ok else "not ok", self.n, test.id(), why), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, False)
        print("# " + self._exc_info_to_string(err, test).replace("\n", "\n# "))

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, False)
        print("# " + self._exc_info_to_string(err, test).replace("\n", "\n# "))


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromName("test_clients")
    runner = unittest.TextTestRunner(resultclass=TapResult, stream=open(os.devnull, "w"))
    result = runner.run(suite)
    if result.n == 0:  # the module failed before any test (setUpModule)
        for _, tb in result.errors:
            print("not ok 1 - python suite setup\n# " + tb.replace("\n", "\n# "))
        print("# tests 1\n# pass 0\n# fail 1")
        sys.exit(1)
    print("# tests %d\n# pass %d\n# fail %d" % (result.n, result.n - result.failed, result.failed))
    sys.exit(0 if result.failed == 0 else 1)
