"""One module per sm-plugin command."""
