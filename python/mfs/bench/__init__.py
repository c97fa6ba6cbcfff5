"""Benchmarks of libmfs against scikit-learn and numpy: ``python -m mfs.bench``.

Not a test suite: it times the python / c / cuda backends of the estimators
next to scikit-learn (and mfs_sgemm next to numpy's matmul), each measurement
in a fresh subprocess, and writes a table, JSON, a markdown summary and plots.
See docs/benchmarks.md for the method.
"""


def main(argv=None):
    """Command line entry point (``python -m mfs.bench --help``)."""
    from ._run import main as _main
    return _main(argv)


def run(argv=None):
    """Run the benchmark with command line arguments; returns the result dict."""
    from ._run import run as _run
    return _run(argv)


__all__ = ["main", "run"]
