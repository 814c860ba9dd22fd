"""trackrecord: run a systematic strategy on Interactive Brokers and prove the result."""

__version__ = "0.1.0"
