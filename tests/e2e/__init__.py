"""Real-browser end-to-end tests (Playwright driving Debian Chromium)."""
