"""The journal: a durable record of analyses, decisions, orders, trades, equity and account events in SQLite
(embedded default) or PostgreSQL. ``models`` are the tables, ``recorder`` writes messages into them,
``queries`` reads them, ``export`` writes CSV/JSON, ``partitions`` manages PostgreSQL's monthly partitions,
``database`` picks and migrates the database, ``web`` serves it to HTTP routes."""
