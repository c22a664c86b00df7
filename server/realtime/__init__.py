"""Socket.IO: namespaces for customers and agents, wire schemas, delivery and publishing."""
