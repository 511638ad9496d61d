"""Revisions of the generator database, oldest first: 0001 is the schema create_all made before migrations."""
