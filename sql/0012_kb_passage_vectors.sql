-- Passage vectors of a chunk (docs/retrieval.md, "Passages"): the vector of its heading path
-- alone, then one per paragraph or list item, all from the chunk's embedding model. Retrieval
-- scores a chunk by its own vector and by its best passage, so an answer that is one line of
-- a long section is still found. Stored row after row as little-endian float32: bytes, not
-- real[], because thousands of chunks are read at once whenever the knowledge base changes.
-- NULL for chunks embedded before this column existed: they are re-embedded on the next
-- import or `parley kb reindex`, and until then score by their own vector alone.
ALTER TABLE kb_chunks ADD COLUMN passage_vectors bytea;
