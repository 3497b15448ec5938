"""Allows ``python -m datashark`` so the shell scripts need no console-script shim."""

from datashark.cli import main

raise SystemExit(main())
