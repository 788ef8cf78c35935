"""What every domain uses: database access, caches, the replay middleware, the audit log, settings, on-commit work."""
