"""Accounts: organisations, users, login and sessions, API clients."""
