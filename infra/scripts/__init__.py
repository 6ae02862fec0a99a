"""Command-line scripts: run the stack, generate documents."""
