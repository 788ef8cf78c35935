"""The protocols this service speaks besides its own API: the OB 3.0 REST API, OAuth 2.0 and OID4VCI."""
