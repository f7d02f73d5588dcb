"""Qt item models over store rows and processed crashes; presentation only."""
