"""A sample third-party plugin, installed into the test environment like a user would."""
