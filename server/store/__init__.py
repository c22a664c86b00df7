"""asyncpg repositories (plain SQL) and the migrations runner."""
