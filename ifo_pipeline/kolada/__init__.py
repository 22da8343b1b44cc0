"""Kolada (the national key figures): the API client and the landing of its responses."""
