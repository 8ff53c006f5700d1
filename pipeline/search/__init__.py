"""The SQLite FTS5 search index over turns.jsonl, and the Elasticsearch/OpenSearch export."""
