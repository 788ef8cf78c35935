"""The learning record: statements marked met, with evidence, and progress per level."""
