"""Tests of `dataloader doctor`."""
