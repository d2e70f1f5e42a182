import os
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
sys.path.insert(0, TESTS_DIR)
if REPO_ROOT not in sys.path:
    sys.path.insert(1, REPO_ROOT)


def pytest_terminal_summary(terminalreporter):
    """The counts of the hardening runs (issue 9): fuzzed models, hostile names, sanitizer networks."""
    lines = []
    for name in ("fuzz_models", "test_sanitizers"):
        lines += getattr(sys.modules.get(name), "SUMMARY_LINES", [])
    if lines:
        terminalreporter.section("edgebnn hardening")
        for line in lines:
            terminalreporter.write_line(line)
