"""The local hub application (Python standard library only): see tests/hub/README.md."""
