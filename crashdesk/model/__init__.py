"""Plain data shared by every layer: crash ids, version ordering, summaries of processed crashes."""
