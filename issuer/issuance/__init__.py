"""Issuing credentials: the one issuance service, signing, notices, bulk issuance, CLRs and revocation."""
