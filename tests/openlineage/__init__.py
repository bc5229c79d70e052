"""Tests of the OpenLineage integration."""
