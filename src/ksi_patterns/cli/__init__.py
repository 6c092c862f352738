"""The command-line face: thin Typer modules over the library."""
