"""One click command per module; ``changegate.cli.COMMANDS`` maps names to them."""
