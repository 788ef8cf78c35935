"""Bitstring Status Lists: allocating indexes, setting bits, signing and publishing lists."""
