"""The SQL engine: parse, plan and execute over the catalog (not built yet)."""
