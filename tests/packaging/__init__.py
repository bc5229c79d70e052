"""Packaging: the sdist and wheel build, install and run outside the source tree."""
