"""The assistant at run time: the participant that answers in conversations, the assembled
assistant (pipeline plus knowledge base), and the knowledge base's upkeep. Above the actions it
calls; the answering pipeline in server/assistant/ stays below them."""
