"""aezoo's plugin system: pluggy hooks (``hookspecs``), the loader (``manager``) and the built-in plugin."""
