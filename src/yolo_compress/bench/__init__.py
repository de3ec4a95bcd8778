"""The bench command: evaluate and time artifacts side by side (the measuring pieces are ``runtime/``)."""
