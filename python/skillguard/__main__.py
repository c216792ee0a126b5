from skillguard.cli import main

raise SystemExit(main())
