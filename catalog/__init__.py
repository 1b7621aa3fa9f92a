"""Schema objects on the log: catalog entries, key encoding, virtual system tables (not built yet)."""
