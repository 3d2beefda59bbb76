"""The `mdm` command line: one module per command group, shared options in `common`."""
