"""Fake Telegram and WeChat servers (HTTP level) for tests, benchmarks and the demo; never imported in production."""
