"""Pieces both programs (server and operator) share: JSON logging and typed CLI/env settings."""
