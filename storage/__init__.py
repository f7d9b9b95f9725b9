"""Tables, queries, CSV import/export and migrations: the only place with SQL."""
