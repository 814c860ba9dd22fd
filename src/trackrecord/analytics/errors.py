"""Errors raised by the analytics layer."""

from __future__ import annotations


class AnalyticsInputError(ValueError):
    """The input cannot give an honest number (bad shapes, unordered dates, a
    non-positive capital base with a non-zero P&L). Nothing was computed: fix the
    data (snapshots, flows, fills) and run again."""
