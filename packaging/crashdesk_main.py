"""Entry point of the packaged app: the same ``crashdesk`` command, frozen."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes of the processing service start through here
    from crashdesk.cli import main

    raise SystemExit(main())
