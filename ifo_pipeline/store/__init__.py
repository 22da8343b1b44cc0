"""The warehouse and what every layer shares about it: the connection and the raw and ops
tables' DDL, the raw tables' declarations, the ops writers, file identity and encodings, the
masked archive and the landing area. Plain Python and DuckDB; it imports no other layer of the
package (tests/test_layering.py)."""
