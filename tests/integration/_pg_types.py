"""The user-defined PostgreSQL types the type-mapping tests put in their tables."""

#: A domain over ``integer`` (read as its base type) and an enum (read as its text).
USER_TYPES_DDL = """
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE TYPE mood AS ENUM ('sad', 'happy');
"""
