"""preserve: a digital preservation repository service (OAIS)."""

__version__ = "0.1.0"
