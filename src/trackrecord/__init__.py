"""trackrecord: run a systematic strategy on Interactive Brokers and prove the result."""

__version__ = "0.1.0"


def open(home=None):  # type: ignore[no-untyped-def]  # noqa: A001 - `trackrecord.open(...)` is the notebook API
    """Open a workspace read-only for analysis: see :mod:`trackrecord.api`."""
    from trackrecord.api import open as open_read_only

    return open_read_only(home)
