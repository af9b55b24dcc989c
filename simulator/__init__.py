"""exchange-sim: a local server speaking real exchange REST APIs over deterministic market data."""
