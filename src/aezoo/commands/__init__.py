"""The ``zoo`` subcommands, one module per topic; each imports torch only when it runs."""
