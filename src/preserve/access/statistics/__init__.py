"""Counting what the archive holds: records, files and bytes grouped by one dimension."""
