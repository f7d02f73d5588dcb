"""Settings, platform folders and secrets. Read by services, the UI and the command line; lower layers get
plain values as arguments."""
