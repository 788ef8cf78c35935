"""The issuer's identity: its profile and did:web, its DID document and JWKS, and its key store."""
