"""An example aezoo plugin; importing the package imports nothing heavy (no torch, no numpy)."""
__version__ = "0.1.0"
