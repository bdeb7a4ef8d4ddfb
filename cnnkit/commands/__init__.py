"""Subcommands. Each module wires builders together; none owns a concern of its own."""
