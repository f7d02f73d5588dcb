from crashdesk.cli import main

raise SystemExit(main())
