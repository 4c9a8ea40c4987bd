"""minigrad's version: CHANGELOG.md lists what each version changed."""
__version__ = "0.2.0"
