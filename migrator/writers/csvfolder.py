"""Canonical CSV folder: the journal and one CSV file per canonical table (see `migrator.writers.csv`)."""

from migrator.writers.csv import CsvFolderWriter

FORMAT = CsvFolderWriter
