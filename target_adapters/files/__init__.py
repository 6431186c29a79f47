"""target-files: any Singer stream to CSV, JSON Lines, Parquet or Excel files."""
