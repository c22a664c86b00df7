"""`python -m server` is `parley`."""

from .cli import main

raise SystemExit(main())
