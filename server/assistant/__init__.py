"""The AI assistant: knowledge base, retrieval, embeddings and (later) the participant."""
