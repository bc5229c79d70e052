"""Real servers started for the test run (no mocks): see postgres.py."""
