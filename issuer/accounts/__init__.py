"""Accounts: the user directory, supervisor assignments, sign-in and API tokens."""
