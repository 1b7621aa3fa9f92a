"""The PostgreSQL v3 wire protocol server (not built yet)."""
