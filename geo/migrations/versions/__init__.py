"""The migration scripts, one per schema revision, applied in order of ``down_revision``."""
