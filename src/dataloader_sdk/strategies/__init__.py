"""Load strategies: pure planners, one module each, plus shared planning helpers."""
