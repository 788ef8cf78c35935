"""Keeping credentials current: validity policies, expiry reminders, renewals, continuing-education credits and
supervised hours (issue 19)."""
