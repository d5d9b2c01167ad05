"""Canonical CSV folder: the journal and one CSV file per canonical table (see `migrator.readers.csv`)."""

from migrator.readers.csv import CsvFolderReader

FORMAT = CsvFolderReader
