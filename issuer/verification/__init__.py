"""Verifying credentials: any input, a stored or an issued credential, with answers cached while they hold."""
